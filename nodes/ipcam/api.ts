/**
 * The IP cameras' HTTP API, mounted on the runtime's httpNode (in the cloud
 * role behind the dashboard login, like the rest of the API):
 *
 *   GET    {base}                 the cameras, their state and last check (never a password)
 *   POST   {base}/test            {id?, subUrl, mainUrl?, username?, password?, transport?} → the check
 *   POST   {base}/onvif           {host, port?, username?, password?} → the camera's ONVIF profiles and stream URLs
 *   POST   {base}/discover        {seconds?} → the ONVIF cameras that answered a WS-Discovery probe on this LAN segment
 *   POST   {base}                 a camera: checked, stored, started → 201; a failed check → 422
 *                                  a login while the runtime has no credential secret → 503 (logins are stored sealed)
 *   DELETE {base}/:id             stops and forgets it (and the device it was) → 204
 *   POST   {base}/:id/mode        {mode} → 200
 *   GET    {base}/:id/mjpeg       the sub stream as MJPEG (one decoder for all viewers)
 *   GET    {base}/:id/snapshot    the latest picture as JPEG
 *
 * Bad input is a 4xx with a reason, never a 500.
 */
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response, type Router } from 'express';
import { CAMERA_MODES, DEVICE_ID_PATTERN, type CameraMode } from '../lib/types';
import { onvifHostPort, publicSpec, readCameraSpec, SpecError, type CameraSpec } from './camera-spec';
import type { CameraSet } from './camera-set';
import { streamInput } from './camera-set';
import { checkCamera, type CameraCheck } from './check';
import { discover, type DiscoveredCamera } from './discovery';
import { onvifCamera, OnvifError } from './onvif';
import { checkOnvifEvents } from './onvif-events';
import { apiRouter } from '../lib/mount-router';
import { OneAtATime } from '../lib/one-at-a-time';
import { writtenNumber } from '../lib/written-number';

export const NO_SECRET_FOR_LOGIN =
  'this runtime has no credential secret (credentialSecret is false or unset), so a camera login cannot be stored encrypted: ' +
  'set PICAM_CREDENTIAL_SECRET, or add the camera without a login';

export interface CameraStorage {
  /** false when the runtime has no credential secret: a camera with a login is refused (503), one without is stored */
  canStoreLogin: boolean;
  put(spec: CameraSpec): Promise<void>;
  remove(id: string): Promise<void>;
  setMode(id: string, mode: CameraMode): Promise<void>;
}

export interface ApiOptions {
  cameras: CameraSet;
  /** undefined: no database, cameras cannot be added through the API */
  storage?: CameraStorage;
  /** true while a configured database is not open yet (retried with backoff): adding answers 503, not 409 */
  databasePending?: boolean;
  ffprobePath: string;
  log(text: string): void;
  /** a camera was deleted (stopped, and gone from the database): the node tells the flow */
  removed?(id: string): void;
  /** resolves once the stored cameras are loaded or the database's first open failed: requests wait for it */
  ready: Promise<void>;
  /** WS-Discovery (discovery.ts); a test gives one that probes a loopback responder */
  discover?: (durationMs: number) => Promise<DiscoveredCamera[]>;
}

/** Said with an empty discovery result: why a camera may not answer. */
export const NOTHING_DISCOVERED =
  "No ONVIF camera answered. WS-Discovery reaches only this runtime's own LAN segment (multicast, TTL 1): " +
  "a cloud runtime finds nothing on a home LAN, and some cameras answer only with ONVIF enabled. Give the camera's address instead.";

const fail = (res: Response, status: number, error: string) => res.status(status).json({ status: 'error', error });

/**
 * The streams' check and, when motion comes from the camera's ONVIF events, theirs: with motion
 * from ONVIF only, events that cannot be read are the error; with both, a warning.
 */
async function check(spec: CameraSpec, ffprobePath: string): Promise<CameraCheck> {
  const [streams, events] = await Promise.all([
    checkCamera({ main: spec.mainUrl ? streamInput(spec, spec.mainUrl) : undefined, sub: streamInput(spec, spec.subUrl) }, { ffprobePath }),
    spec.motionSource !== 'analyser' && spec.motion
      ? checkOnvifEvents({ ...onvifHostPort(spec.onvif), username: spec.username || undefined, password: spec.password || undefined })
      : undefined,
  ]);
  if (!events) return streams;
  const warnings = [...streams.warnings, ...events.warnings.map((w) => `ONVIF events: ${w}`)];
  if (!events.error) return { ...streams, warnings };
  if (spec.motionSource === 'onvif') {
    if (streams.ok) return { ...streams, ok: false, error: `ONVIF events: ${events.error}`, warnings };
    return { ...streams, warnings: [...warnings, `ONVIF events: ${events.error}`] };
  }
  return { ...streams, warnings: [...warnings, `ONVIF events: ${events.error} (motion comes from our analyser until they work)`] };
}

export function ipcamRouter(o: ApiOptions): Router {
  const router = apiRouter();
  /** one add or delete of a camera id at a time */
  const changes = new OneAtATime();
  const body = express.json({ limit: '16kb' });
  const wrap =
    (handler: (req: Request, res: Response) => Promise<unknown>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      handler(req, res).catch(next);
    };
  const camera = (req: Request, res: Response) => {
    const id = String(req.params.id);
    if (!DEVICE_ID_PATTERN.test(id)) return void fail(res, 400, `camera id must match ${DEVICE_ID_PATTERN.source}`);
    const e = o.cameras.get(id);
    if (!e) return void fail(res, 404, `no IP camera "${id}"`);
    return e;
  };

  router.use((_req, _res, next) => {
    o.ready.then(() => next(), next);
  });

  router.get('/', (_req, res) => {
    res.json({ cameras: o.cameras.list().map((e) => ({ ...publicSpec(e.spec), fromFlow: e.fromFlow, ...e.camera.state })) });
  });

  router.post(
    '/test',
    body,
    wrap(async (req, res) => {
      const spec = readCameraSpec({ id: 'test', ...(req.body as object) });
      res.json(await check(spec, o.ffprobePath));
    }),
  );

  router.post(
    '/onvif',
    body,
    wrap(async (req, res) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      const host = typeof b.host === 'string' ? b.host.trim() : '';
      if (!/^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:]+\]$/.test(host)) return fail(res, 400, 'host must be a host name or an IP address');
      const port = b.port === undefined || b.port === '' ? 80 : writtenNumber(b.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(res, 400, 'port must be a number from 1 to 65535');
      const text = (v: unknown, name: string) => {
        if (v === undefined || v === null) return undefined;
        if (typeof v !== 'string' || v.length > 256) throw new SpecError(`${name} must be a string of at most 256 characters`);
        return v;
      };
      try {
        return res.json(await onvifCamera({ host, port, username: text(b.username, 'username'), password: text(b.password, 'password') }));
      } catch (err) {
        if (err instanceof OnvifError) return fail(res, 422, err.message);
        throw err;
      }
    }),
  );

  // One probe at a time: a second request while one runs gets the same answer.
  let discovering: Promise<DiscoveredCamera[]> | undefined;
  router.post(
    '/discover',
    body,
    wrap(async (req, res) => {
      const raw = (req.body as { seconds?: unknown } | undefined)?.seconds;
      const seconds = raw === undefined || raw === '' ? 3 : writtenNumber(raw);
      if (!Number.isFinite(seconds) || seconds < 1 || seconds > 10) return fail(res, 400, 'seconds must be a number from 1 to 10');
      discovering ??= (o.discover ?? ((ms) => discover({ durationMs: ms })))(seconds * 1000).finally(() => (discovering = undefined));
      try {
        const cameras = await discovering;
        return res.json({ cameras, ...(cameras.length === 0 ? { note: NOTHING_DISCOVERED } : {}) });
      } catch (err) {
        return fail(
          res,
          503,
          `${(err as Error).message}. WS-Discovery reaches only this runtime's own LAN segment: give the camera's address instead.`,
        );
      }
    }),
  );

  router.post(
    '/',
    body,
    wrap(async (req, res) => {
      if (!o.storage && o.databasePending)
        return void res
          .status(503)
          .set('Retry-After', '5')
          .json({ status: 'error', error: 'the database is not open yet (retrying): try again shortly' });
      if (!o.storage) return fail(res, 409, 'this ipcam node has no database: add cameras in its properties, or give it one');
      const spec = readCameraSpec(req.body as Record<string, unknown>);
      if (o.cameras.get(spec.id)?.fromFlow) return fail(res, 409, `camera "${spec.id}" is defined in the flow; change it in the editor`);
      // Checked before the camera is: a login that cannot be stored encrypted is not stored at all.
      if (!o.storage.canStoreLogin && (spec.username || spec.password)) return fail(res, 503, NO_SECRET_FOR_LOGIN);
      const result = await check(spec, o.ffprobePath);
      if (!result.ok) return res.status(422).json({ status: 'error', error: result.error, check: result });
      const storage = o.storage;
      // Stored and started as one step per id: two adds at once leave the same camera stored and running.
      await changes.run(spec.id, async () => {
        await storage.put(spec);
        await o.cameras.put(spec);
      });
      o.log(`IP camera "${spec.id}" added`);
      return res.status(201).json({ camera: publicSpec(spec), check: result });
    }),
  );

  router.delete(
    '/:id',
    wrap(async (req, res) => {
      const e = camera(req, res);
      if (!e) return;
      if (e.fromFlow) return fail(res, 409, `camera "${e.spec.id}" is defined in the flow; remove it in the editor`);
      // Stopped first, without a last word, then its rows go: nothing it sends can bring them back.
      await changes.run(e.spec.id, async () => {
        await o.cameras.remove(e.spec.id, true);
        await o.storage?.remove(e.spec.id);
      });
      o.removed?.(e.spec.id);
      return res.status(204).end();
    }),
  );

  router.post(
    '/:id/mode',
    body,
    wrap(async (req, res) => {
      const e = camera(req, res);
      if (!e) return;
      const raw = (req.body as { mode?: unknown } | undefined)?.mode;
      const mode = typeof raw === 'string' ? raw.toUpperCase() : '';
      if (!(CAMERA_MODES as readonly string[]).includes(mode))
        return fail(res, 400, `mode must be a string, one of ${CAMERA_MODES.join(', ')}`);
      if (!e.fromFlow) await o.storage?.setMode(e.spec.id, mode as CameraMode);
      await o.cameras.setMode(e.spec.id, mode as CameraMode);
      return res.json({ id: e.spec.id, mode });
    }),
  );

  router.get('/:id/mjpeg', (req, res) => {
    const e = camera(req, res);
    if (!e) return;
    const preview = e.camera.preview;
    if (!preview)
      return void res
        .status(503)
        .set('Retry-After', '5')
        .json({
          status: 'error',
          error: `camera "${e.spec.id}" is not streaming (${e.camera.state.state}${e.camera.state.error ? `: ${e.camera.state.error}` : ''})`,
        });
    preview.addViewer(res);
  });

  router.get(
    '/:id/snapshot',
    wrap(async (req, res) => {
      const e = camera(req, res);
      if (!e) return;
      const jpeg = await e.camera.snapshot();
      if (!jpeg) return fail(res, 503, `camera "${e.spec.id}" has no picture (${e.camera.state.state})`);
      return res.set({ 'Content-Type': 'image/jpeg', 'Cache-Control': 'no-store' }).send(jpeg);
    }),
  );

  // Bad JSON, a spec that cannot work, anything else: an answer with the reason, never a crash.
  const onError: ErrorRequestHandler = (err: Error & { status?: number; type?: string }, _req, res, next) => {
    // An MJPEG response already streaming cannot get a status any more: express closes it.
    if (res.headersSent) return next(err);
    if (err instanceof SpecError) return void fail(res, 400, err.message);
    if (err.type === 'entity.parse.failed') return void fail(res, 400, 'the body is not valid JSON');
    if (err.type === 'entity.too.large') return void fail(res, 413, 'the body is too large');
    o.log(`ipcam API: ${err.message}`);
    fail(res, err.status && err.status < 500 ? err.status : 503, `the request could not be done now (${err.message.slice(0, 200)})`);
  };
  router.use(onError);
  return router;
}
