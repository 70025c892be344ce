/**
 * The recordings index (migration 14): each camera's segments and the clips cut for its events.
 * Writes go through the store's writer (committed before the promise resolves); reads use the
 * read pool. Files are named relative to the recordings folder: the caller resolves and checks
 * them (nodes/lib/recording/paths.ts) before it touches the disk.
 */
import type { EventClip, RecordingMode } from '../contract/recordings';
import type { Exclusive } from './command-queue';
import type { Reader } from './read-pool';

export interface SegmentRow {
  id: number;
  cameraId: string;
  startMs: number;
  endMs: number;
  /** relative to the recordings folder */
  file: string;
  bytes: number;
  mode: RecordingMode;
}

export type NewSegment = Omit<SegmentRow, 'id'>;

/** A clip's row: the contract's EventClip as stored (its file, not its URL; a reason or null). */
export interface ClipRow extends Omit<EventClip, 'url' | 'reason'> {
  /** relative to the recordings folder; null until ready */
  file: string | null;
  reason: string | null;
  updatedMs: number;
}

export interface CameraTotals {
  cameraId: string;
  segmentBytes: number;
  clipBytes: number;
  oldestMs: number | null;
}

/** A Pi's ready clip not yet settled with the cloud (migration 15). */
export interface UnsentClip {
  cameraId: string;
  eventId: string;
  startMs: number;
  endMs: number;
  file: string;
  attempts: number;
}

/** How an offer to the cloud ended: settled for good, or to be tried again at `nextMs`. */
export type UploadOutcome = { state: 'sent' | 'refused'; reason: string } | { state: 'retry'; reason: string; nextMs: number };

export interface CameraEvent {
  eventId: string;
  activityType: string;
  startMs: number;
  endMs: number | null;
}

const SEGMENT = 'id, camera_id AS "cameraId", start_ms AS "startMs", end_ms AS "endMs", file, bytes, mode';
const CLIP = `camera_id AS "cameraId", event_id AS "eventId", state, start_ms AS "startMs", end_ms AS "endMs", duration_ms AS "durationMs",
  bytes, file, reason, updated_ms AS "updatedMs"`;

export class RecordingStore {
  constructor(
    private readonly exclusive: Exclusive,
    private readonly reader: Reader,
  ) {}

  /** Indexes a finished segment; the same file given twice (a hook retried) is stored once: false the second time. */
  async addSegment(s: NewSegment): Promise<boolean> {
    const { changes } = await this.exclusive((db) =>
      db.run(
        `INSERT INTO recording_segments (camera_id, start_ms, end_ms, file, bytes, mode) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (file) DO NOTHING`,
        [s.cameraId, s.startMs, s.endMs, s.file, s.bytes, s.mode],
      ),
    );
    return changes > 0;
  }

  /** A camera's segments that overlap [fromMs, toMs], oldest first (at most `limit`). */
  segments(cameraId: string, fromMs: number, toMs: number, limit = 100_000): Promise<SegmentRow[]> {
    // start_ms > fromMs - a day: the index range; no segment is longer than that.
    return this.reader.all<SegmentRow>(
      `SELECT ${SEGMENT} FROM recording_segments
       WHERE camera_id = ? AND start_ms <= ? AND start_ms >= ? AND end_ms >= ? ORDER BY start_ms LIMIT ?`,
      [cameraId, toMs, fromMs - 86_400_000, fromMs, limit],
    );
  }

  /** The oldest segments: of one mode, or (mode undefined) any; `beforeMs` bounds their end. */
  oldestSegments(opts: { mode?: RecordingMode; cameraId?: string; endBeforeMs?: number; limit: number }): Promise<SegmentRow[]> {
    const terms: Array<[string, string | number | undefined]> = [
      ['mode = ?', opts.mode],
      ['camera_id = ?', opts.cameraId],
      ['end_ms < ?', opts.endBeforeMs],
    ];
    const used = terms.filter((t): t is [string, string | number] => t[1] !== undefined);
    const where = used.map((t) => t[0]);
    const params = used.map((t) => t[1]);
    const order = opts.cameraId ? 'camera_id, start_ms' : opts.mode ? 'mode, start_ms' : 'start_ms';
    return this.reader.all<SegmentRow>(
      `SELECT ${SEGMENT} FROM recording_segments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`,
      [...params, opts.limit],
    );
  }

  async removeSegments(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.exclusive((db) => db.run(`DELETE FROM recording_segments WHERE id IN (${ids.map(() => '?').join(',')})`, [...ids]));
  }

  /** Starts (or keeps) an event's clip in state `recording`; an existing clip is left as it is. */
  async openClip(c: Pick<ClipRow, 'cameraId' | 'eventId' | 'startMs' | 'endMs'>, nowMs = Date.now()): Promise<void> {
    await this.exclusive((db) =>
      db.run(
        `INSERT INTO recording_clips (camera_id, event_id, state, start_ms, end_ms, updated_ms) VALUES (?, ?, 'recording', ?, ?, ?)
         ON CONFLICT (camera_id, event_id) DO NOTHING`,
        [c.cameraId, c.eventId, c.startMs, c.endMs, nowMs],
      ),
    );
  }

  /** Sets a clip's outcome (creating the row if the event's start was never seen). */
  async finishClip(c: Omit<ClipRow, 'updatedMs'>, nowMs = Date.now()): Promise<void> {
    await this.exclusive((db) =>
      db.run(
        `INSERT INTO recording_clips (camera_id, event_id, state, start_ms, end_ms, duration_ms, bytes, file, reason, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (camera_id, event_id) DO UPDATE SET state = excluded.state, start_ms = excluded.start_ms,
           end_ms = excluded.end_ms, duration_ms = excluded.duration_ms, bytes = excluded.bytes, file = excluded.file,
           reason = excluded.reason, updated_ms = excluded.updated_ms`,
        [c.cameraId, c.eventId, c.state, c.startMs, c.endMs, c.durationMs, c.bytes, c.file, c.reason, nowMs],
      ),
    );
  }

  clip(cameraId: string, eventId: string): Promise<ClipRow | undefined> {
    return this.reader.get<ClipRow>(`SELECT ${CLIP} FROM recording_clips WHERE camera_id = ? AND event_id = ?`, [cameraId, eventId]);
  }

  clips(cameraId: string, fromMs: number, toMs: number): Promise<ClipRow[]> {
    return this.reader.all<ClipRow>(
      `SELECT ${CLIP} FROM recording_clips WHERE camera_id = ? AND start_ms <= ? AND end_ms >= ? ORDER BY start_ms LIMIT 10000`,
      [cameraId, toMs, fromMs],
    );
  }

  /** The oldest clips (any camera) that hold a file, or started before `startBeforeMs`. */
  oldestClips(opts: { startBeforeMs?: number; limit: number }): Promise<ClipRow[]> {
    const before = opts.startBeforeMs !== undefined ? 'WHERE start_ms < ?' : '';
    const params = opts.startBeforeMs !== undefined ? [opts.startBeforeMs, opts.limit] : [opts.limit];
    return this.reader.all<ClipRow>(`SELECT ${CLIP} FROM recording_clips ${before} ORDER BY start_ms LIMIT ?`, params);
  }

  /** Clips left in `recording` by a runtime that stopped before it cut them. */
  unfinishedClips(): Promise<ClipRow[]> {
    return this.reader.all<ClipRow>(`SELECT ${CLIP} FROM recording_clips WHERE state = 'recording' ORDER BY start_ms LIMIT 1000`);
  }

  async removeClips(keys: ReadonlyArray<Pick<ClipRow, 'cameraId' | 'eventId'>>): Promise<void> {
    if (keys.length === 0) return;
    await this.exclusive(async (db) => {
      for (const k of keys) await db.run('DELETE FROM recording_clips WHERE camera_id = ? AND event_id = ?', [k.cameraId, k.eventId]);
    });
  }

  /** Ready clips (cut by `readyBeforeMs`) not yet sent to the cloud whose next try is due, oldest first. */
  unsentClips(nowMs: number, readyBeforeMs: number, limit = 20): Promise<UnsentClip[]> {
    return this.reader.all<UnsentClip>(
      `SELECT camera_id AS "cameraId", event_id AS "eventId", start_ms AS "startMs", end_ms AS "endMs", file, upload_attempts AS attempts
       FROM recording_clips WHERE upload_state IS NULL AND state = 'ready' AND file IS NOT NULL AND upload_next_ms <= ?
         AND updated_ms <= ?
       ORDER BY upload_next_ms, start_ms LIMIT ?`,
      [nowMs, readyBeforeMs, limit],
    );
  }

  /** Records what an offer to the cloud came to (a retry counts an attempt and waits until `nextMs`). */
  async settleUpload(cameraId: string, eventId: string, o: UploadOutcome): Promise<void> {
    const settled = o.state === 'retry' ? null : o.state;
    const next = o.state === 'retry' ? o.nextMs : 0;
    await this.exclusive((db) =>
      db.run(
        `UPDATE recording_clips SET upload_state = ?, upload_reason = ?, upload_attempts = upload_attempts + 1, upload_next_ms = ?
         WHERE camera_id = ? AND event_id = ?`,
        [settled, o.reason.slice(0, 300), next, cameraId, eventId],
      ),
    );
  }

  /** What the upload of a clip came to (for status and tests). */
  uploadOf(cameraId: string, eventId: string): Promise<{ state: string | null; reason: string | null; attempts: number } | undefined> {
    return this.reader.get(
      `SELECT upload_state AS state, upload_reason AS reason, upload_attempts AS attempts FROM recording_clips
       WHERE camera_id = ? AND event_id = ?`,
      [cameraId, eventId],
    );
  }

  /** One activity event of a camera, or undefined: an uploaded clip must belong to an event the store has. */
  event(cameraId: string, eventId: string): Promise<CameraEvent | undefined> {
    return this.reader.get<CameraEvent>(
      `SELECT event_id AS "eventId", coalesce(activity_type, 'MOTION') AS "activityType", sort_ts * 1000 AS "startMs",
         end_timestamp * 1000 AS "endMs"
       FROM activity_events WHERE camera_id = ? AND event_id = ? LIMIT 1`,
      [cameraId, eventId],
    );
  }

  /** A camera's activity events in [fromMs, toMs] (their columns hold Unix seconds, seed 004). */
  events(cameraId: string, fromMs: number, toMs: number): Promise<CameraEvent[]> {
    return this.reader.all<CameraEvent>(
      `SELECT event_id AS "eventId", coalesce(activity_type, 'MOTION') AS "activityType", sort_ts * 1000 AS "startMs",
         end_timestamp * 1000 AS "endMs"
       FROM activity_events WHERE camera_id = ? AND sort_ts >= ? AND sort_ts <= ? ORDER BY sort_ts LIMIT 10000`,
      [cameraId, Math.floor(fromMs / 1000), Math.ceil(toMs / 1000)],
    );
  }

  /** Every file the index names for a camera (segments and clips): what the orphan sweep keeps. */
  async indexedFiles(cameraId: string): Promise<string[]> {
    const rows = await this.reader.all<{ file: string }>(
      `SELECT file FROM recording_segments WHERE camera_id = ?
       UNION ALL SELECT file FROM recording_clips WHERE camera_id = ? AND file IS NOT NULL`,
      [cameraId, cameraId],
    );
    return rows.map((r) => r.file);
  }

  /** Bytes kept per camera (from the totals the triggers keep) and each camera's oldest segment. */
  async totals(): Promise<CameraTotals[]> {
    return this.reader.all<CameraTotals>(
      `SELECT t.camera_id AS "cameraId", t.segment_bytes AS "segmentBytes", t.clip_bytes AS "clipBytes",
         (SELECT min(start_ms) FROM recording_segments s WHERE s.camera_id = t.camera_id) AS "oldestMs"
       FROM recording_totals t ORDER BY t.camera_id`,
    );
  }
}
