/**
 * The dashboard's side of Web Push, mounted on httpNode while a webpush-alert node runs
 * (behind the API guard): the VAPID public key a browser subscribes with, and adding or
 * removing a browser's subscription for the logged-in user. Bad input is a 400 with the reason.
 */
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import type { NodeAPI } from 'node-red';
import { apiRouter, mountRouter } from '../lib/mount-router';
import { PUSH_ROUTES_ROOT } from '../lib/contract/api-routes';
import { API_USER_LOCAL, type PushSubscriptionRequest } from '../lib/contract/dashboard-api';
import type { PushSubscriptionStore } from '../lib/store/push-subscriptions';

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_ENDPOINT = 2048;

/** Checks a subscription as PushSubscription.toJSON() gives it; the reason for a 400 otherwise. */
export function readSubscription(body: unknown): PushSubscriptionRequest {
  const b = (body ?? {}) as Partial<PushSubscriptionRequest>;
  if (typeof b.endpoint !== 'string' || b.endpoint.length > MAX_ENDPOINT) throw new Refused(400, 'endpoint must be a URL string');
  let url: URL;
  try {
    url = new URL(b.endpoint);
  } catch {
    throw new Refused(400, 'endpoint is not a URL');
  }
  // Push services are HTTPS (RFC 8030 §8); http only on this machine, for tests and local services.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))) {
    throw new Refused(400, 'endpoint must be an https:// URL');
  }
  const p256dh = Buffer.from(String(b.keys?.p256dh ?? ''), 'base64url');
  const auth = Buffer.from(String(b.keys?.auth ?? ''), 'base64url');
  if (p256dh.length !== 65 || p256dh[0] !== 4)
    throw new Refused(400, 'keys.p256dh must be an uncompressed P-256 public key (65 bytes, base64url)');
  if (auth.length !== 16) throw new Refused(400, 'keys.auth must be 16 bytes, base64url');
  return { endpoint: b.endpoint, keys: { p256dh: p256dh.toString('base64url'), auth: auth.toString('base64url') } };
}

export function pushRouter(store: () => PushSubscriptionStore | undefined, log: (m: string) => void): Router {
  const router = apiRouter();
  const open = (): PushSubscriptionStore => {
    const s = store();
    if (!s) throw new Refused(503, 'the database is not open yet: try again shortly');
    return s;
  };
  const wrap = (h: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: (err?: unknown) => void) =>
    void h(req, res).catch(next);
  // The demo has no logins: its browsers belong to nobody in particular.
  const userOf = (res: Response) => String(res.locals[API_USER_LOCAL] ?? 'local');

  router.get(
    '/key',
    wrap(async (_req, res) => void res.set('Cache-Control', 'no-store').json({ publicKey: (await open().vapidKeys()).publicKey })),
  );
  router.post(
    '/subscriptions',
    express.json({ limit: '8kb' }),
    wrap(async (req, res) => {
      const sub = readSubscription(req.body);
      await open().subscribe(userOf(res), { endpoint: sub.endpoint, ...sub.keys });
      res.status(201).json({ subscribed: true });
    }),
  );
  router.delete(
    '/subscriptions',
    wrap(async (req, res) => {
      const endpoint = req.query.endpoint;
      if (typeof endpoint !== 'string' || !endpoint) throw new Refused(400, '?endpoint= is required');
      if (!(await open().unsubscribe(endpoint))) throw new Refused(404, 'no such subscription');
      res.status(204).end();
    }),
  );
  const onError: ErrorRequestHandler = (err: Error & { status?: number }, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof Refused) return void res.status(err.status).json({ error: err.message });
    if (err.status && err.status >= 400 && err.status < 500) return void res.status(err.status).json({ error: err.message });
    log(`push API: ${err.message}`);
    res.status(503).json({ error: `subscriptions cannot be read now (${err.message.slice(0, 200)})` });
  };
  router.use(onError);
  return router;
}

/** Mounts the routes on httpNode; the function it returns takes them away (the node's close). */
export function mountPushApi(RED: NodeAPI, store: () => PushSubscriptionStore | undefined, log: (m: string) => void): () => void {
  return mountRouter(RED, PUSH_ROUTES_ROOT, pushRouter(store, log));
}
