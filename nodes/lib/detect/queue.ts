/**
 * Frames waiting for the detector. It holds at most `capacity` frames and, when a
 * new one comes while full, drops the oldest: the detector always works on recent
 * pictures, never makes the stream or the motion events wait, and memory stays
 * bounded. One frame is analysed at a time.
 */
import type { FrameDetections, ObjectDetector } from './types';

export interface QueuedFrame {
  jpeg: Buffer;
  /** when the frame was taken (Unix ms) */
  timeMs: number;
}

export interface QueueStats {
  /** frames waiting, not counting the one being analysed */
  waiting: number;
  /** frames analysed, failed, and dropped (replaced by newer ones) since the start */
  analysed: number;
  failed: number;
  dropped: number;
  /** how far behind the detector is: the age of the oldest frame not yet answered (ms, 0 when idle) */
  behindMs: number;
  /** the last inference's time (ms) */
  lastMs: number;
}

export interface QueueEvents {
  result(frame: QueuedFrame, result: FrameDetections): void;
  failed(frame: QueuedFrame, err: Error): void;
}

export class DetectQueue {
  private readonly waiting: QueuedFrame[] = [];
  private current?: QueuedFrame;
  private closed = false;
  private counts = { analysed: 0, failed: 0, dropped: 0, lastMs: 0 };

  constructor(
    private readonly detector: ObjectDetector,
    private readonly events: QueueEvents,
    private readonly capacity = 2,
    private readonly now: () => number = Date.now,
  ) {
    if (!(capacity >= 1)) throw new RangeError('the detector queue holds at least one frame');
  }

  offer(frame: QueuedFrame): void {
    if (this.closed) return;
    this.waiting.push(frame);
    while (this.waiting.length > this.capacity) {
      this.waiting.shift();
      this.counts.dropped++;
    }
    if (!this.current) void this.next();
  }

  get stats(): QueueStats {
    const oldest = this.current ?? this.waiting[0];
    return { waiting: this.waiting.length, ...this.counts, behindMs: oldest ? Math.max(0, this.now() - oldest.timeMs) : 0 };
  }

  /** Drops what waits; a result still being computed is not reported. */
  close(): void {
    this.closed = true;
    this.counts.dropped += this.waiting.splice(0).length;
  }

  private async next(): Promise<void> {
    const frame = this.waiting.shift();
    this.current = frame;
    if (!frame) return;
    try {
      const result = await this.detector.detect(frame.jpeg);
      this.counts.analysed++;
      this.counts.lastMs = result.ms;
      if (!this.closed) this.events.result(frame, result);
    } catch (err) {
      this.counts.failed++;
      if (!this.closed) this.events.failed(frame, err as Error);
    }
    this.current = undefined;
    if (!this.closed) void this.next();
  }
}
