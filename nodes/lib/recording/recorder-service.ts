/**
 * The recorder's behaviour, apart from Node-RED (nodes/recorder/recorder.ts wires it): one
 * segmenter per camera it records itself, the index of every finished segment (its own and
 * MediaMTX's, through the same addSegment), event clips cut from the segments, and
 * retention. In events mode segments older than the pre-roll that no clip needs are deleted
 * as new ones come.
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClipReadyPayload, EventClip, RecordingMode, RecordingTimeline, RecordingUsage } from '../contract/recordings';
import { CLIP_READY_TOPIC, type CLIP_FAILED_TOPIC } from '../contract/recordings';
import type { ClipRow, RecordingStore } from '../store/recordings';
import type { ActivityRecord, Alert } from '../types';
import { ClipCutter, clipName } from './clip-cutter';
import { takeClip, type ClipArrival } from './clip-intake';
import { EventClips } from './event-clips';
import { sweepOrphans } from './orphans';
import { indexName, recordingPath } from './paths';
import { enforceRetention, floorBytes, statDisk, type RetentionRules, type StatDisk } from './retention';
import { Segmenter, type FinishedSegment, type SegmenterInput } from './segmenter';
import { describeExit } from '../child-process';

export interface RecordedCamera {
  cameraId: string;
  mode: RecordingMode;
  /** how ffmpeg reads it; undefined: its segments come from elsewhere (MediaMTX's hook) */
  input?: SegmenterInput;
  /** host/path or file, never a login: for status and logs */
  where: string;
  /** one line saying why ffmpeg's stderr means it could not read the source (401, 404, refused…), when it says */
  explain?(stderrTail: readonly string[]): string | undefined;
}

export interface RecorderOptions {
  root: string;
  cameras: readonly RecordedCamera[];
  /** the mode of a camera whose segments arrive through the hook without being configured here */
  defaultMode: RecordingMode;
  preRollMs: number;
  postRollMs: number;
  maxClipMs: number;
  segmentSeconds: number;
  rules: RetentionRules;
  store: RecordingStore;
  ffmpegPath?: string;
  ffprobePath?: string;
  statDisk?: StatDisk;
  /** how often retention runs (default a minute) */
  retentionEveryMs?: number;
  /** where the clip of an event is served (the API path), for the contract's `url` */
  clipUrl(cameraId: string, eventId: string): string;
  send(topic: typeof CLIP_READY_TOPIC | typeof CLIP_FAILED_TOPIC, payload: ClipReadyPayload): void;
  alert(alert: Alert): void;
  log(text: string): void;
  warn(text: string): void;
  changed(): void;
}

export interface RecorderCounters {
  segments: number;
  clipsReady: number;
  clipsFailed: number;
  segmentsDeleted: number;
  clipsDeleted: number;
  refusedPaths: number;
  /** clips a Pi sent and this recorder stored */
  clipsReceived: number;
}

export class RecorderService {
  readonly counters: RecorderCounters = {
    segments: 0,
    clipsReady: 0,
    clipsFailed: 0,
    segmentsDeleted: 0,
    clipsDeleted: 0,
    refusedPaths: 0,
    clipsReceived: 0,
  };
  private readonly segmenters = new Map<string, Segmenter>();
  private readonly clips: EventClips;
  private readonly cutter: ClipCutter;
  private retentionTimer?: NodeJS.Timeout;
  private retentionRun?: Promise<void>;
  private closed = false;
  private readonly indexing = new Set<Promise<void>>();
  /** cameras whose segments came in (from a segmenter or MediaMTX's hook) */
  private readonly hooked = new Set<string>();
  /** the disk was below the floor with no continuous footage left: a storage-low alert is out */
  low = false;
  lastFailure?: string;

  constructor(private readonly o: RecorderOptions) {
    this.clips = new EventClips({
      preRollMs: o.preRollMs,
      postRollMs: o.postRollMs,
      maxClipMs: o.maxClipMs,
      // a segment closes at the first key frame after its length: two lengths and a margin
      graceMs: 2 * o.segmentSeconds * 1000 + 3000,
      opened: (w) =>
        void o.store.openClip({ ...w, startMs: w.fromMs, endMs: w.toMs }).catch((e: Error) => o.warn(`clip index: ${e.message}`)),
      due: (w) => this.cutter.queue(w),
    });
    this.cutter = new ClipCutter({
      root: o.root,
      store: o.store,
      ffmpegPath: o.ffmpegPath,
      clipUrl: o.clipUrl,
      send: o.send,
      warn: o.warn,
      done: (ok, reason) => {
        if (ok) this.counters.clipsReady++;
        else {
          this.counters.clipsFailed++;
          this.lastFailure = reason;
        }
        o.changed();
      },
    });
  }

  modeOf(cameraId: string): RecordingMode {
    return this.o.cameras.find((c) => c.cameraId === cameraId)?.mode ?? this.o.defaultMode;
  }

  cameras(): ReadonlyArray<RecordedCamera & { running: boolean; segments: number }> {
    return this.o.cameras.map((c) => ({
      ...c,
      running: this.segmenters.get(c.cameraId)?.running ?? false,
      segments: this.segmenters.get(c.cameraId)?.segments ?? 0,
    }));
  }

  get pendingClips(): number {
    return this.clips.pending + this.cutter.pendingClips;
  }

  /** Starts the segmenters and retention, and cuts clips a stopped runtime left unfinished. */
  async start(): Promise<void> {
    mkdirSync(this.o.root, { recursive: true });
    for (const c of this.o.cameras) {
      if (c.mode === 'off' || !c.input) continue;
      const s = new Segmenter({
        cameraId: c.cameraId,
        input: c.input,
        dir: join(this.o.root, c.cameraId),
        segmentSeconds: this.o.segmentSeconds,
        ffmpegPath: this.o.ffmpegPath,
        segment: (seg) => this.indexSegment(seg),
        problem: (line, info, tail) => {
          const why = c.explain?.(tail) ?? describeExit('ffmpeg', info, tail);
          this.lastFailure = `${c.cameraId}: ${why.slice(0, 200)} (${c.where}); ${line}`;
          this.o.warn(`recording ${this.lastFailure}`);
          this.o.changed();
        },
      });
      this.segmenters.set(c.cameraId, s);
      s.start();
    }
    // Files the index lost track of (a stop mid-write); what the segmenters write now is younger than the sweep looks at.
    void sweepOrphans(this.o.root, this.o.store).then(
      (n) => n && this.o.log(`deleted ${n} recording file${n > 1 ? 's' : ''} the index did not know (left by an earlier stop)`),
      (e: Error) => this.o.warn(`orphan sweep: ${e.message}`),
    );
    for (const row of await this.o.store.unfinishedClips())
      this.cutter.queue({ cameraId: row.cameraId, eventId: row.eventId, fromMs: row.startMs, toMs: row.endMs });
    const every = this.o.retentionEveryMs ?? 60_000;
    const tick = () => {
      this.retentionTimer = setTimeout(() => void this.retention().finally(() => !this.closed && tick()), every);
    };
    void this.retention().finally(() => !this.closed && tick());
  }

  /** A segmenter's segment; close() waits for it (ffmpeg finishes its last one as it stops, and it belongs in the index). */
  private indexSegment(seg: FinishedSegment): void {
    const indexing = this.addSegment(seg).catch((e: Error) => this.o.warn(`segment index: ${e.message}`));
    this.indexing.add(indexing);
    void indexing.finally(() => this.indexing.delete(indexing));
  }

  /** One finished segment, from a segmenter or MediaMTX's hook (an absolute path inside the folder). */
  async addSegment(seg: FinishedSegment): Promise<void> {
    const mode = this.modeOf(seg.cameraId);
    if (mode === 'off') throw Object.assign(new Error(`camera ${seg.cameraId} is not recorded (mode off)`), { code: 'RECORDING_OFF' });
    const file = indexName(this.o.root, seg.file);
    // Bounded by the camera ids that really record (a hook posting for a camera is one).
    if (this.hooked.size < 10_000) this.hooked.add(seg.cameraId);
    const added = await this.o.store.addSegment({
      cameraId: seg.cameraId,
      startMs: seg.startMs,
      endMs: seg.endMs,
      file,
      bytes: seg.bytes,
      mode,
    });
    if (!added) return; // posted twice (the hook retried): indexed once
    this.counters.segments++;
    this.clips.segment(seg.cameraId, seg.endMs);
    if (mode === 'events') await this.dropUnneeded(seg.cameraId, seg.endMs);
    this.o.changed();
  }

  /**
   * Whether a camera's events get clips: one configured here (not off), or one whose segments
   * arrive from MediaMTX's hook. Other cameras' events (a VBC01 uploads its own video) pass by.
   */
  records(cameraId: string): boolean {
    if (this.modeOf(cameraId) === 'off') return false;
    return this.o.cameras.some((c) => c.cameraId === cameraId) || this.hooked.has(cameraId);
  }

  /** An activity record from the store's output: starts or ends an event's clip, for cameras recorded. */
  activity(r: ActivityRecord): void {
    if (this.closed || !this.records(r.deviceId)) return;
    if (r.kind === 'activity-start') {
      if (r.level) return; // a level that is neither start nor stop: stored, no clip
      this.clips.started(r.deviceId, r.eventId, r.timeMs);
    } else this.clips.ended(r.deviceId, r.eventId, r.timeMs, r.startMs);
  }

  /** Events mode: segments older than the pre-roll (and a segment's length) that no clip needs go. */
  private async dropUnneeded(cameraId: string, latestMs: number): Promise<void> {
    let keepFrom = latestMs - this.o.preRollMs - this.o.segmentSeconds * 1000;
    const needed = [this.clips.neededFrom(cameraId), this.cutter.neededFrom(cameraId)];
    for (const n of needed) if (n !== undefined) keepFrom = Math.min(keepFrom, n);
    const rows = await this.o.store.oldestSegments({ mode: 'events', cameraId, endBeforeMs: keepFrom, limit: 200 });
    if (!rows.length) return;
    for (const r of rows) await this.deleteIndexed(r.file);
    await this.o.store.removeSegments(rows.map((r) => r.id));
  }

  private async deleteIndexed(file: string): Promise<void> {
    try {
      await rm(recordingPath(this.o.root, file), { force: true });
    } catch (err) {
      this.counters.refusedPaths++;
      this.o.warn((err as Error).message);
    }
  }

  /** One retention run (runs asked for while one goes join it). */
  retention(nowMs = Date.now()): Promise<void> {
    this.retentionRun ??= this.retentionOnce(nowMs).finally(() => (this.retentionRun = undefined));
    return this.retentionRun;
  }

  private async retentionOnce(nowMs: number): Promise<void> {
    try {
      const out = await enforceRetention(
        { store: this.o.store, root: this.o.root, rules: this.o.rules, statDisk: this.o.statDisk, warn: (t) => this.refused(t) },
        nowMs,
      );
      this.counters.segmentsDeleted += out.segmentsDeleted;
      this.counters.clipsDeleted += out.clipsDeleted;
      await this.cutter.pruneVideo(nowMs);
      // Raised when a run had to delete clips; cleared only with a tenth of the floor to spare, so a disk
      // that hovers at the floor (each new clip tipping it) raises one alert, not one a minute.
      const low = out.low || (this.low && out.disk.freeBytes < out.floorBytes * 1.1);
      if (low !== this.low) {
        this.low = low;
        this.o.alert(this.storageAlert(low, out.disk.freeBytes, out.floorBytes, nowMs));
      }
      if (out.segmentsDeleted || out.clipsDeleted) this.o.changed();
    } catch (err) {
      this.o.warn(`retention: ${(err as Error).message}`);
    }
  }

  private refused(text: string): void {
    if (text.startsWith('refused')) this.counters.refusedPaths++;
    this.o.warn(text);
  }

  private storageAlert(low: boolean, freeBytes: number, floor: number, nowMs: number): Alert {
    const gb = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GB`;
    return {
      kind: low ? 'storage-low' : 'storage-ok',
      deviceId: 'recordings',
      deviceName: 'Recordings',
      timeMs: nowMs,
      severity: low ? 'critical' : 'info',
      text: low
        ? `Recording storage low: ${gb(freeBytes)} free, below the ${gb(floor)} floor with no continuous footage left: the oldest event clips are being deleted`
        : `Recording storage back above its floor: ${gb(freeBytes)} free (floor ${gb(floor)})`,
    };
  }

  async usage(): Promise<RecordingUsage> {
    const disk = await (this.o.statDisk ?? statDisk)(this.o.root);
    const totals = await this.o.store.totals();
    const ids = [...new Set([...this.o.cameras.map((c) => c.cameraId), ...totals.map((t) => t.cameraId)])].sort();
    return {
      disk,
      floorBytes: floorBytes(disk, this.o.rules),
      low: this.low,
      cameras: ids.map((cameraId) => {
        const t = totals.find((x) => x.cameraId === cameraId);
        return {
          cameraId,
          mode: this.modeOf(cameraId),
          segmentBytes: t?.segmentBytes ?? 0,
          clipBytes: t?.clipBytes ?? 0,
          oldestMs: t?.oldestMs ?? null,
        };
      }),
    };
  }

  clipOf(row: ClipRow): EventClip {
    return {
      cameraId: row.cameraId,
      eventId: row.eventId,
      state: row.state,
      startMs: row.startMs,
      endMs: row.endMs,
      durationMs: row.durationMs,
      bytes: row.bytes,
      ...(row.reason && { reason: row.reason }),
      url: this.o.clipUrl(row.cameraId, row.eventId),
    };
  }

  async timeline(cameraId: string, fromMs: number, toMs: number): Promise<RecordingTimeline> {
    const [segments, clips, events] = await Promise.all([
      this.o.store.segments(cameraId, fromMs, toMs),
      this.o.store.clips(cameraId, fromMs - this.o.maxClipMs, toMs + this.o.maxClipMs),
      this.o.store.events(cameraId, fromMs, toMs),
    ]);
    const byEvent = new Map(clips.map((c) => [c.eventId, this.clipOf(c)]));
    return {
      cameraId,
      mode: this.modeOf(cameraId),
      fromMs,
      toMs,
      segments: segments.map((s) => ({ startMs: s.startMs, endMs: s.endMs, bytes: s.bytes })),
      events: events.map((e) => ({ ...e, clip: byEvent.get(e.eventId) ?? null })),
    };
  }

  /** The absolute path of an event's ready clip; undefined when there is none (yet). Throws OutsideRecordings. */
  async clipFile(cameraId: string, eventId: string): Promise<{ row?: ClipRow; file?: string }> {
    const row = await this.o.store.clip(cameraId, eventId);
    if (!row?.file || row.state !== 'ready') return { row };
    return { row, file: recordingPath(this.o.root, row.file) };
  }

  /**
   * A clip a Pi sent (recorded while its uplink was down): checked, stored as the event's clip and
   * announced like one cut here. Throws ClipRefused with the reason.
   */
  async acceptClip(a: ClipArrival): Promise<{ stored: boolean; reason?: string; clip?: EventClip }> {
    // At most the longest clip at 20 Mbit/s: a 300 s clip of the Pi camera (2 Mbit/s) is 75 MB.
    const maxBytes = Math.max(16 * 1024 ** 2, (this.o.maxClipMs / 1000) * 2.5 * 1024 ** 2);
    const out = await takeClip({ root: this.o.root, store: this.o.store, maxBytes, clipName, ffprobePath: this.o.ffprobePath }, a);
    if (!out.stored) return out;
    const { file, reason: _none, ...ready } = out.row;
    const clip = this.clipOf({ ...out.row, updatedMs: Date.now() });
    this.o.send(CLIP_READY_TOPIC, { ...ready, url: clip.url, file: recordingPath(this.o.root, file!) });
    this.counters.clipsReceived++;
    this.o.changed();
    return { stored: true, clip };
  }

  /** An MP4 of [fromMs, toMs] of a camera's recording (cut once, kept a few minutes for range requests). */
  videoFile(cameraId: string, fromMs: number, toMs: number): Promise<string | undefined> {
    return this.cutter.video(cameraId, fromMs, toMs);
  }

  /** Stops every ffmpeg (segmenters first, then the cut that may run). Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retentionTimer);
    this.clips.close();
    await Promise.all([...this.segmenters.values()].map((s) => s.stop()));
    await Promise.all(this.indexing);
    await this.cutter.close();
    await this.retentionRun;
  }
}
