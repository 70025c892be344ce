/**
 * `POST /mediamtx/segment` on the internal listener (127.0.0.1 only, internal-server.ts): MediaMTX's
 * `runOnRecordSegmentComplete` hook (cloud/mediamtx.yml) posts each segment it finished, as form
 * fields or JSON: `path` (the stream path, a camera id), `file` (the segment's absolute path, inside
 * the recordings folder) and `duration` (seconds, MTX_SEGMENT_DURATION). The segment ended now; it
 * started `duration` earlier. The recorder node indexes it like a segment of its own.
 *
 * Answers: 204 indexed; 400 with the reason (bad path, duration, a file outside the recordings
 * folder or missing, a camera whose mode is off); 503 when no recorder runs.
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { isLocalRequest } from '../../nodes/lib/client-address';
import { segmentSink } from '../../nodes/lib/recording/segment-sink';
import { DEVICE_ID_PATTERN } from '../../nodes/lib/types';

export const SEGMENT_HOOK_PATH = '/mediamtx/segment';

const field = (req: Request, name: string): string => {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
};

export function segmentHookRouter(log: { warn(message: string): void }, now: () => number = Date.now): Router {
  const router = express.Router();
  router.post(
    SEGMENT_HOOK_PATH,
    express.urlencoded({ extended: false, limit: '8kb' }),
    express.json({ limit: '8kb' }),
    (req: Request, res: Response) => {
      const refuse = (status: number, error: string) => void res.status(status).json({ status: 'error', error });
      if (!isLocalRequest(req)) return refuse(403, 'only MediaMTX on this machine may post segments');
      const cameraId = field(req, 'path');
      const file = field(req, 'file');
      const durationS = Number(field(req, 'duration').replace(/s$/, ''));
      if (!DEVICE_ID_PATTERN.test(cameraId)) return refuse(400, `path must be a camera id (${DEVICE_ID_PATTERN.source})`);
      if (!file || !isAbsolute(file)) return refuse(400, 'file must be the absolute path of the segment');
      if (!Number.isFinite(durationS) || durationS <= 0 || durationS > 86_400)
        return refuse(400, 'duration must be the segment length in seconds');
      let bytes: number;
      try {
        bytes = statSync(file).size;
      } catch {
        return refuse(400, 'file does not exist');
      }
      const sink = segmentSink();
      if (!sink) return refuse(503, 'no recorder node runs in this runtime');
      const endMs = now();
      sink({ cameraId, file, startMs: Math.round(endMs - durationS * 1000), endMs, bytes }).then(
        () => res.status(204).end(),
        (err: Error & { code?: string }) => {
          // By code: the node is bundled apart from this file, so its error classes are not ours.
          if (err.code === 'RECORDING_OUTSIDE_FOLDER' || err.code === 'RECORDING_OFF') return refuse(400, err.message);
          log.warn(`MediaMTX segment of ${cameraId}: ${err.message}`);
          refuse(503, `the segment could not be indexed now (${err.message.slice(0, 200)})`);
        },
      );
    },
  );
  return router;
}
