/**
 * The VBC01 live view's HTTP API, mounted on the runtime's httpNode at /api/live
 * (paths from nodes/lib/contract/api-routes.ts):
 *
 *   GET    /api/live                              running streams and their counters (health view)
 *   GET    /api/live/:cameraId                    the camera's live state: idle, asking, waiting, playing,
 *                                                 stalled, failed (with the reason), stopped
 *   POST   /api/live/:cameraId/whep               WHEP (RFC 9725): an SDP offer in, 201 with the answer
 *                                                 and a Location to DELETE once the camera streams
 *   DELETE /api/live/:cameraId/whep/:viewerId     the viewer leaves → 204
 *
 * WHEP needs a stream token (`Authorization: Bearer`, GET /api/stream-token) like MediaMTX, except
 * where the dashboard has no logins (the demo). Refusals: 401 (no or bad token), 400 (bad id,
 * not an SDP offer, an offer the bridge cannot answer), 404 (not a VBC01 camera we know, no such
 * viewer), 503 with the reason (the camera did not answer, is offline, the bridge has no ports).
 */
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response, type Router } from 'express';
import { API_PATHS, apiUrl } from '../lib/contract/api-routes';
import { DEVICE_ID_PATTERN } from '../lib/types';
import { ViewerRefused } from './camera-session';
import type { LiveCameras } from './live-cameras';
import { apiRouter } from '../lib/mount-router';

/** Who may open WHEP: `ok`, or the status and reason of the refusal. */
export type TokenCheck = (authorization: string | undefined) => { ok: true } | { ok: false; status: 401 | 503; error: string };

export interface WhepApiOptions {
  cameras: LiveCameras;
  checkToken: TokenCheck;
  log(text: string): void;
}

/** An offer larger than this is not a browser's (Chromium's are 3-6 kB with candidates). */
export const MAX_OFFER_BYTES = 64 * 1024;

const fail = (res: Response, status: number, error: string) => res.status(status).json({ status: 'error', error });

/** Why `sdp` is not a WHEP offer we can pass on, or undefined. */
export function offerProblem(sdp: unknown): string | undefined {
  if (typeof sdp !== 'string' || sdp.trim() === '') return 'send the SDP offer as the body, Content-Type application/sdp';
  if (!sdp.startsWith('v=0')) return 'the body is not an SDP offer (it must start with v=0)';
  if (!/^m=video /m.test(sdp)) return 'the offer has no video section (m=video)';
  return undefined;
}

export function whepRouter(o: WhepApiOptions): Router {
  const router = apiRouter();
  const sdpBody = express.text({ type: 'application/sdp', limit: MAX_OFFER_BYTES });
  const cameraId = (req: Request, res: Response): string | undefined => {
    const id = String(req.params.cameraId);
    if (DEVICE_ID_PATTERN.test(id)) return id;
    fail(res, 400, `camera id must match ${DEVICE_ID_PATTERN.source}`);
    return undefined;
  };
  const tokenFirst = (req: Request, res: Response, next: NextFunction) => {
    const check = o.checkToken(req.headers.authorization);
    if (check.ok) return next();
    if (check.status === 401) res.set('WWW-Authenticate', 'Bearer');
    fail(res, check.status, check.error);
  };

  router.get('/', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ streams: o.cameras.running() });
  });

  router.get('/:cameraId', (req, res) => {
    const id = cameraId(req, res);
    if (id) res.set('Cache-Control', 'no-store').json(o.cameras.state(id));
  });

  router.post('/:cameraId/whep', tokenFirst, sdpBody, (req, res, next) => {
    const id = cameraId(req, res);
    if (!id) return;
    if (!req.is('application/sdp')) return void fail(res, 400, 'send the SDP offer with Content-Type application/sdp');
    const problem = offerProblem(req.body);
    if (problem) return void fail(res, 400, problem);
    o.cameras.join(id, req.body as string).then((answer) => {
      // The browser gave up while the camera started (closed the tab): it will never connect.
      if (res.destroyed || req.socket.destroyed) return o.cameras.leave(id, answer.viewerId);
      // The Location is the viewer's own resource (WHEP §4.2): DELETE there to leave.
      const location = apiUrl(API_PATHS.liveViewer, { cameraId: id, viewerId: answer.viewerId });
      res.status(201).set({ 'Content-Type': 'application/sdp', Location: location, 'Cache-Control': 'no-store' }).end(answer.sdp); // end: exactly application/sdp (send would add a charset)
    }, next);
  });

  router.delete('/:cameraId/whep/:viewerId', tokenFirst, (req, res) => {
    const id = cameraId(req, res);
    if (!id) return;
    if (!o.cameras.leave(id, String(req.params.viewerId))) return void fail(res, 404, `camera "${id}" has no live stream`);
    res.status(204).end();
  });

  const onError: ErrorRequestHandler = (err: Error & { status?: number; type?: string }, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof ViewerRefused) {
      if (err.status === 503) res.set('Retry-After', '10');
      return void fail(res, err.status, err.message);
    }
    if (err.type === 'entity.too.large') return void fail(res, 413, `the offer is larger than ${MAX_OFFER_BYTES} bytes`);
    if (err.status && err.status >= 400 && err.status < 500) return void fail(res, err.status, err.message);
    o.log(`live view API: ${err.message}`);
    fail(res, 503, `the live view cannot do this now (${err.message.slice(0, 200)})`);
  };
  router.use(onError);
  return router;
}
