/**
 * The recordings API, mounted on the runtime's httpNode at /api/recordings (behind the API
 * login like every /api route; paths from nodes/lib/contract/api-routes.ts):
 *
 *   GET /api/recordings/                              disk use per camera (RecordingUsage)
 *   GET /api/recordings/:cameraId?from=&to=           segments and events with clips (RecordingTimeline);
 *                                                     Unix ms, at most 2 days; default the last day
 *   GET /api/recordings/:cameraId/video?start=&end=   MP4 of a time range (at most an hour), cut without re-encoding
 *   GET /api/recordings/:cameraId/clips/:eventId      the event's clip as MP4 (a clip still recording: what there is so far)
 *   POST /api/recordings/:cameraId/clips/:eventId?start=&end=   a Pi's clip of the event (the MP4 as the body),
 *                                                     recorded while its uplink was down: 201 stored, 200 when the
 *                                                     cloud has one already, 409 try later, 413/415/422 refused
 *
 * The MP4s answer range requests (206, Accept-Ranges, 416), as `video/mp4` with nosniff.
 * Refusals: 400 with the reason (bad id, bad or reversed times, too long a range), 404 (no such
 * camera, clip or footage), 403 (the index names a file outside the recordings folder); never 500.
 */
import type { ErrorRequestHandler, Request, Response, Router } from 'express';
import { MAX_TIMELINE_MS, MAX_VIDEO_MS } from '../lib/contract/recordings';
import { ClipRefused } from '../lib/recording/clip-intake';
import { OutsideRecordings } from '../lib/recording/paths';
import type { RecorderService } from '../lib/recording/recorder-service';
import { DEVICE_ID_PATTERN } from '../lib/types';
import { apiRouter } from '../lib/mount-router';

const MAX_EVENT_ID = 200;

export interface RecordingApiOptions {
  /** the service once the database is open (before: 503) */
  service(): RecorderService | undefined;
  /** whether a camera is recorded here or has footage in the index */
  known(cameraId: string): Promise<boolean>;
  log(text: string): void;
}

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const fail = (res: Response, status: number, error: string) => res.status(status).json({ status: 'error', error });

function cameraOf(req: Request): string {
  const id = String(req.params.cameraId);
  if (!DEVICE_ID_PATTERN.test(id)) throw new Refused(400, `camera id must match ${DEVICE_ID_PATTERN.source}`);
  return id;
}

function eventOf(req: Request): string {
  const eventId = String(req.params.eventId);
  if (eventId.length > MAX_EVENT_ID) throw new Refused(400, `event id longer than ${MAX_EVENT_ID} characters`);
  return eventId;
}

/** A Unix-ms query value: absent gives `def`; anything else must be a whole number. */
function msParam(req: Request, name: string, def?: number): number {
  const raw = req.query[name];
  if (raw === undefined || raw === '') {
    if (def === undefined) throw new Refused(400, `?${name}= is required (Unix milliseconds)`);
    return def;
  }
  const n = typeof raw === 'string' && /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new Refused(400, `?${name}= must be Unix milliseconds (a whole number)`);
  return n;
}

function range(req: Request, names: [string, string], maxMs: number, def?: [number, number]): [number, number] {
  const to = msParam(req, names[1], def?.[1]);
  const from = msParam(req, names[0], def ? to - (def[1] - def[0]) : undefined);
  if (from > to) throw new Refused(400, `?${names[0]}= must not be after ?${names[1]}=`);
  if (to - from > maxMs)
    throw new Refused(400, `a range may span at most ${maxMs / 3_600_000} h (asked for ${Math.round((to - from) / 60_000)} min)`);
  return [from, to];
}

/** Sends an MP4 with range support (express's sendFile: 206, Accept-Ranges, 416). */
function sendMp4(res: Response, file: string, download: string, next: (err?: unknown) => void): void {
  res.sendFile(
    file,
    {
      dotfiles: 'allow',
      headers: {
        'Content-Type': 'video/mp4',
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'private, no-cache',
        'Content-Disposition': `inline; filename="${download}"`,
      },
    },
    (err?: Error & { status?: number; code?: string }) => {
      if (!err || res.headersSent) return;
      if (err.code === 'ENOENT' || err.status === 404) return next(new Refused(404, 'the file is gone (deleted by retention?)'));
      next(err);
    },
  );
}

export function recordingsRouter(o: RecordingApiOptions): Router {
  const router = apiRouter();
  const wrap =
    (h: (req: Request, res: Response, next: (err?: unknown) => void) => Promise<void>) =>
    (req: Request, res: Response, next: (err?: unknown) => void) =>
      void h(req, res, next).catch(next);
  const svc = (): RecorderService => {
    const s = o.service();
    if (!s) throw new Refused(503, 'the recordings index is not open yet: try again shortly');
    return s;
  };
  const knownCamera = async (id: string) => {
    if (!(await o.known(id))) throw new Refused(404, `camera "${id}" has no recordings here`);
  };

  router.get(
    '/',
    wrap(async (_req, res) => void res.set('Cache-Control', 'no-store').json(await svc().usage())),
  );

  router.get(
    '/:cameraId',
    wrap(async (req, res) => {
      const id = cameraOf(req);
      const now = Date.now();
      const [from, to] = range(req, ['from', 'to'], MAX_TIMELINE_MS, [now - 86_400_000, now]);
      await knownCamera(id);
      res.set('Cache-Control', 'no-store').json(await svc().timeline(id, from, to));
    }),
  );

  router.get(
    '/:cameraId/video',
    wrap(async (req, res, next) => {
      const id = cameraOf(req);
      const [start, end] = range(req, ['start', 'end'], MAX_VIDEO_MS);
      if (end === start) throw new Refused(400, '?end= must be after ?start=');
      await knownCamera(id);
      const file = await svc().videoFile(id, start, end);
      if (!file) throw new Refused(404, `no recording of camera "${id}" in that time`);
      sendMp4(res, file, `${id}-${start}.mp4`, next);
    }),
  );

  router.get(
    '/:cameraId/clips/:eventId',
    wrap(async (req, res, next) => {
      const id = cameraOf(req);
      const eventId = eventOf(req);
      const { row, file } = await svc().clipFile(id, eventId);
      if (!row) throw new Refused(404, `no clip for event "${eventId.slice(0, 80)}" of camera "${id}"`);
      if (row.state === 'failed') throw new Refused(404, `the clip failed: ${row.reason ?? 'unknown reason'}`);
      if (file) return sendMp4(res, file, `${id}-${eventId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80)}.mp4`, next);
      // Still recording: what there is so far, from the segments.
      const sofar = await svc().videoFile(id, row.startMs, Math.min(Date.now(), row.startMs + MAX_VIDEO_MS));
      if (!sofar) throw new Refused(404, 'the clip is recording and has no video yet');
      sendMp4(res, sofar, `${id}-recording.mp4`, next);
    }),
  );

  router.post(
    '/:cameraId/clips/:eventId',
    wrap(async (req, res) => {
      const id = cameraOf(req);
      const eventId = eventOf(req);
      const [start, end] = range(req, ['start', 'end'], MAX_VIDEO_MS);
      if (end === start) throw new Refused(400, '?end= must be after ?start=');
      // Only a video body reaches here unread (cli/runtime/http-errors.ts reads the others).
      if (!/^video\/mp4\s*(;|$)/i.test(req.headers['content-type'] ?? ''))
        throw new Refused(
          415,
          `send the clip as Content-Type: video/mp4 (got ${JSON.stringify((req.headers['content-type'] ?? 'none').slice(0, 60))})`,
        );
      const length = req.headers['content-length'];
      const out = await svc().acceptClip({
        cameraId: id,
        eventId,
        startMs: start,
        endMs: end,
        body: req,
        ...(length !== undefined && /^\d+$/.test(length) && { declaredBytes: Number(length) }),
      });
      if (out.stored) o.log(`stored the clip of event ${eventId} sent by ${id} (${out.clip?.bytes ?? 0} bytes)`);
      res
        .status(out.stored ? 201 : 200)
        .json({ status: 'ok', stored: out.stored, ...(out.reason && { reason: out.reason }), clip: out.clip ?? null });
    }),
  );

  const onError: ErrorRequestHandler = (err: Error & { status?: number }, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof Refused) return void fail(res, err.status, err.message);
    if (err instanceof OutsideRecordings) return void fail(res, 403, err.message);
    if (err instanceof ClipRefused) {
      // A body refused before it was read in full: the rest is not read, so the connection goes with the answer.
      if (!req.complete) res.set('Connection', 'close');
      return void fail(res, err.status, err.message);
    }
    if (err.status && err.status >= 400 && err.status < 500) return void fail(res, err.status, err.message);
    o.log(`recordings API: ${err.message}`);
    fail(res, 503, `the recordings cannot be read now (${err.message.slice(0, 200)})`);
  };
  router.use(onError);
  return router;
}
