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

export interface QueueEvents<F extends QueuedFrame = QueuedFrame> {
  result(frame: F, result: FrameDetections): void;
  failed(frame: F, err: Error): void;
  /** a frame replaced by a newer one, or still waiting at close */
  dropped?(frame: F): void;
}

export class DetectQueue<F extends QueuedFrame = QueuedFrame> {
  private readonly waiting: F[] = [];
  private current?: F;
  private inFlight?: Promise<void>;
  private closed = false;
  private counts = { analysed: 0, failed: 0, dropped: 0, lastMs: 0 };

  constructor(
    private readonly detector: ObjectDetector,
    private readonly events: QueueEvents<F>,
    private readonly capacity = 2,
    private readonly now: () => number = Date.now,
  ) {
    if (!(capacity >= 1)) throw new RangeError('the detector queue holds at least one frame');
  }

  offer(frame: F): void {
    if (this.closed) {
      this.events.dropped?.(frame);
      return;
    }
    this.waiting.push(frame);
    while (this.waiting.length > this.capacity) {
      // shifted before the call: `dropped?.(shift())` would skip the shift when no one listens
      const old = this.waiting.shift()!;
      this.counts.dropped++;
      this.events.dropped?.(old);
    }
    if (!this.current) this.inFlight = this.run();
  }

  get stats(): QueueStats {
    const oldest = this.current ?? this.waiting[0];
    return { waiting: this.waiting.length, ...this.counts, behindMs: oldest ? Math.max(0, this.now() - oldest.timeMs) : 0 };
  }

  /** Drops what waits; a result still being computed is not reported. */
  close(): void {
    this.closed = true;
    const left = this.waiting.splice(0);
    this.counts.dropped += left.length;
    for (const f of left) this.events.dropped?.(f);
  }

  /** Resolves when the frame being analysed (if any) is answered: for a close that waits. */
  async idle(): Promise<void> {
    await this.inFlight;
  }

  /** Analyses waiting frames one after the other until none waits (a loop: no promise chain grows). */
  private async run(): Promise<void> {
    for (let frame = this.waiting.shift(); frame && !this.closed; frame = this.waiting.shift()) {
      this.current = frame;
      try {
        const result = await this.detector.detect(frame.jpeg);
        this.counts.analysed++;
        this.counts.lastMs = result.ms;
        if (this.closed) this.events.dropped?.(frame);
        else this.events.result(frame, result);
      } catch (err) {
        this.counts.failed++;
        if (this.closed) this.events.dropped?.(frame);
        else this.events.failed(frame, err as Error);
      }
    }
    this.current = undefined;
  }
}
