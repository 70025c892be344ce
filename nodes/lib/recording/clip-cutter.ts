/**
 * Cutting MP4s from the segments: each event's clip when it is due (two at a time), and the
 * time ranges the video route asks for (kept a few minutes in the video cache). While a cut
 * runs, its window is held: the events-mode clean-up keeps the segments it reads.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ClipReadyPayload } from '../contract/recordings';
import { CLIP_FAILED_TOPIC, CLIP_READY_TOPIC } from '../contract/recordings';
import type { RecordingStore } from '../store/recordings';
import type { ClipWindow } from './event-clips';
import { cutMp4, type CutSegment } from './mp4-cut';
import { indexName, recordingPath } from './paths';
import { VideoCache } from './video-cache';

export interface ClipCutterOptions {
  root: string;
  store: RecordingStore;
  ffmpegPath?: string;
  clipUrl(cameraId: string, eventId: string): string;
  send(topic: typeof CLIP_READY_TOPIC | typeof CLIP_FAILED_TOPIC, payload: ClipReadyPayload): void;
  warn(text: string): void;
  /** each clip's outcome, for counters and status */
  done(ok: boolean, reason?: string): void;
}

/**
 * Two cuts at a time: a burst of events costs two ffmpegs, not twenty side by side, and four
 * cameras' clips are still ready within seconds (bench/recording.ts: one at a time, the fourth
 * waited 7 s on a loaded 2-core machine).
 */
const MAX_CUTS = 2;

/** A file name for an event id (ids may hold any character): the safe part plus a short hash of the whole. */
export function clipName(eventId: string): string {
  let h = 0;
  for (const c of eventId) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return `${eventId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80)}-${(h >>> 0).toString(36)}.mp4`;
}

export class ClipCutter {
  /** windows being cut or waiting to be (clips), and ranges being cut (video), by key */
  private readonly held = new Map<string, ClipWindow & { video?: true }>();
  private readonly waiting: ClipWindow[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly videos: VideoCache;
  private closed = false;

  constructor(private readonly o: ClipCutterOptions) {
    this.videos = new VideoCache(join(o.root, '.video'));
  }

  /** Clips queued or being cut. */
  get pendingClips(): number {
    return [...this.held.values()].filter((w) => !w.video).length;
  }

  /** The earliest instant a cut of `cameraId` still reads (undefined: none). */
  neededFrom(cameraId: string): number | undefined {
    let min: number | undefined;
    for (const w of this.held.values()) if (w.cameraId === cameraId && (min === undefined || w.fromMs < min)) min = w.fromMs;
    return min;
  }

  queue(w: ClipWindow): void {
    this.held.set(`${w.cameraId}\u0000${w.eventId}`, w);
    this.waiting.push(w);
    this.next();
  }

  /** An MP4 of [fromMs, toMs] of a camera's recording (cut once, kept a few minutes for range requests). */
  video(cameraId: string, fromMs: number, toMs: number): Promise<string | undefined> {
    const key = `video\u0000${cameraId}\u0000${fromMs}-${toMs}`;
    return this.videos.get(`${cameraId}-${fromMs}-${toMs}`, async (out) => {
      this.held.set(key, { cameraId, eventId: key, fromMs, toMs, video: true });
      try {
        const segments = await this.segments(cameraId, fromMs, toMs);
        if (!segments.length) return false;
        await cutMp4(segments, fromMs, toMs, out, this.o.ffmpegPath);
        return true;
      } catch (err) {
        // A segment deleted between the index and the cut (retention ran): that footage is gone.
        if (/No such file or directory/.test((err as Error).message)) return false;
        throw err;
      } finally {
        this.held.delete(key);
      }
    });
  }

  pruneVideo(nowMs = Date.now()): Promise<void> {
    return this.videos.prune(nowMs);
  }

  /** Drops what waits and lets the running cuts finish. */
  async close(): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    await Promise.allSettled([...this.running]);
  }

  private async segments(cameraId: string, fromMs: number, toMs: number): Promise<CutSegment[]> {
    const rows = await this.o.store.segments(cameraId, fromMs, toMs);
    return rows.map((r) => ({ file: recordingPath(this.o.root, r.file), startMs: r.startMs, endMs: r.endMs }));
  }

  private next(): void {
    while (this.running.size < MAX_CUTS && this.waiting.length) {
      const w = this.waiting.shift()!;
      const run: Promise<void> = this.cut(w).finally(() => {
        this.held.delete(`${w.cameraId}\u0000${w.eventId}`);
        this.running.delete(run);
        this.next();
      });
      this.running.add(run);
    }
  }

  private async cut(w: ClipWindow): Promise<void> {
    if (this.closed) return;
    // A clip is cut once: one already ready (a Pi sent it after an outage, or a stop came twice) stays.
    if ((await this.o.store.clip(w.cameraId, w.eventId).catch(() => undefined))?.state === 'ready') return;
    const base = { cameraId: w.cameraId, eventId: w.eventId, url: this.o.clipUrl(w.cameraId, w.eventId) };
    try {
      const segments = await this.segments(w.cameraId, w.fromMs, w.toMs);
      if (!segments.length) throw new Error('no recorded video covers the event (was the camera recording?)');
      const dir = join(this.o.root, w.cameraId, 'clips');
      mkdirSync(dir, { recursive: true });
      const made = await cutMp4(segments, w.fromMs, w.toMs, join(dir, clipName(w.eventId)), this.o.ffmpegPath);
      const ready = {
        state: 'ready' as const,
        startMs: Math.max(w.fromMs, segments[0]!.startMs),
        endMs: Math.min(w.toMs, segments.at(-1)!.endMs),
        durationMs: made.durationMs,
        bytes: made.bytes,
      };
      await this.o.store.finishClip({
        cameraId: w.cameraId,
        eventId: w.eventId,
        ...ready,
        file: indexName(this.o.root, made.file),
        reason: null,
      });
      this.o.send(CLIP_READY_TOPIC, { ...base, ...ready, file: made.file });
      this.o.done(true);
    } catch (err) {
      const reason = (err as Error).message.slice(0, 300);
      const failed = { state: 'failed' as const, startMs: w.fromMs, endMs: w.toMs, durationMs: null, bytes: null, reason };
      await this.o.store
        .finishClip({ cameraId: w.cameraId, eventId: w.eventId, ...failed, file: null })
        .catch((e: Error) => this.o.warn(`clip index: ${e.message}`));
      this.o.send(CLIP_FAILED_TOPIC, { ...base, ...failed, file: null });
      this.o.done(false, `clip ${w.eventId}: ${reason}`);
    }
  }
}
