/**
 * A stand-in for the recorder node's router (nodes/recorder/), mounted on the runtime's httpNode
 * where the recorder mounts it and ahead of the cloud flow's own recorder, answering the four routes of the recordings
 * contract (nodes/lib/contract/recordings.ts, API_PATHS.recordings…recordingClip) from data a
 * test sets, with a REAL MP4 (made by ffmpeg) for the clip and video routes, ranges answered
 * (express's sendFile: 206, Accept-Ranges, 416). Every request is recorded.
 */
import express, { type Router } from 'express';
import { API_PATHS, RECORDING_ROUTES_ROOT } from '../../nodes/lib/contract/api-routes';
import {
  MAX_TIMELINE_MS,
  MAX_VIDEO_MS,
  type EventClip,
  type RecordingTimeline,
  type RecordingUsage,
} from '../../nodes/lib/contract/recordings';

export interface FakeRecorderData {
  usage: RecordingUsage;
  timelines: Record<string, Omit<RecordingTimeline, 'fromMs' | 'toMs'>>;
  /** the MP4 served for every clip and every stretch of video */
  mp4: string;
}

/** Node-RED's httpNode: an Express app, whose layers are Express 4's `_router.stack`. */
interface HttpNode {
  use(path: string, router: Router): void;
  _router?: { stack: Array<{ handle: unknown; regexp?: RegExp }> };
}

export class FakeRecorder {
  readonly requests: Array<{ path: string; query: Record<string, string>; range?: string }> = [];
  readonly router: Router = express.Router({ strict: true, caseSensitive: true });

  constructor(readonly data: FakeRecorderData) {
    const r = this.router;
    r.use((req, _res, next) => {
      this.requests.push({ path: req.path, query: req.query as Record<string, string>, range: req.headers.range });
      next();
    });
    r.get('/', (_req, res) => res.json(this.data.usage));
    r.get('/:cameraId', (req, res) => {
      const t = this.data.timelines[req.params.cameraId];
      if (!t) return res.status(404).json({ error: `no camera "${req.params.cameraId}"` });
      const [from, to] = [Number(req.query.from), Number(req.query.to)];
      if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from)
        return res.status(400).json({ error: '?from= and ?to= must be Unix ms, from < to' });
      if (to - from > MAX_TIMELINE_MS) return res.status(400).json({ error: 'at most two days at once' });
      const body: RecordingTimeline = {
        ...t,
        fromMs: from,
        toMs: to,
        segments: t.segments.filter((s) => s.endMs > from && s.startMs < to),
        events: t.events.filter((e) => (e.endMs ?? e.startMs) >= from && e.startMs < to),
      };
      res.json(body);
    });
    r.get('/:cameraId/video', (req, res) => {
      const [start, end] = [Number(req.query.start), Number(req.query.end)];
      if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start || end - start > MAX_VIDEO_MS) {
        return res.status(400).json({ error: '?start= and ?end= must be Unix ms, at most an hour apart' });
      }
      const t = this.data.timelines[req.params.cameraId];
      if (!t?.segments.some((s) => s.endMs > start && s.startMs < end)) return res.status(404).json({ error: 'nothing recorded then' });
      res.sendFile(this.data.mp4, { headers: { 'Content-Type': 'video/mp4' } });
    });
    r.get('/:cameraId/clips/:eventId', (req, res) => {
      const clip = this.clip(req.params.cameraId, req.params.eventId);
      if (!clip || clip.state === 'failed') return res.status(404).json({ error: `no clip for event "${req.params.eventId}"` });
      res.attachment(`${req.params.cameraId}-${req.params.eventId}.mp4`);
      res.sendFile(this.data.mp4, { headers: { 'Content-Type': 'video/mp4' } });
    });
  }

  /**
   * Mounts the stand-in on httpNode ahead of the runtime's own recorder: the cloud flow has one,
   * whose router is mounted when the flow starts, which may be before or after this.
   */
  mountAhead(httpNode: HttpNode): void {
    httpNode.use(FakeRecorder.root, this.router);
    const stack = httpNode._router?.stack ?? [];
    const mine = stack.findIndex((l) => l.handle === this.router);
    // The recorder's layer, not the guards mounted over all of /api (those stay in front).
    const recorders = (l: { regexp?: RegExp }) => !!l.regexp?.test(`${FakeRecorder.root}/`) && !l.regexp.test('/api/elsewhere/');
    const first = stack.findIndex((l) => l.handle !== this.router && recorders(l));
    if (first >= 0 && mine > first) stack.splice(first, 0, ...stack.splice(mine, 1));
  }

  /** Where the recorder mounts its router (the contract's root, as API_PATHS.recordings spells it). */
  static readonly root = RECORDING_ROUTES_ROOT;
  static readonly usagePath = API_PATHS.recordings;

  private clip(cameraId: string, eventId: string): EventClip | null | undefined {
    return this.data.timelines[cameraId]?.events.find((e) => e.eventId === eventId)?.clip;
  }
}
