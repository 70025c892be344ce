/**
 * Messages for the LED matrix, shown one at a time in arrival order: a scroll
 * takes seconds, and the next message must not draw over it. At most `limit`
 * messages wait behind the one being shown; the caller refuses any more
 * (push returns false), so a flow that sends faster than the matrix can show
 * learns it at once instead of piling up minutes of text.
 */
import type { LedOperation } from './led-commands';

export interface LedJob {
  operations: LedOperation[];
  /** called once: after the job ran (err if an operation failed), or when it was dropped */
  settle(err?: Error): void;
}

export class LedQueue {
  private readonly waiting: LedJob[] = [];
  private running?: Promise<void>;

  constructor(
    private readonly run: (operations: LedOperation[]) => Promise<void>,
    readonly limit: number,
  ) {}

  /** messages waiting behind the one being shown */
  get length(): number {
    return this.waiting.length;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Queues the job, or returns false when `limit` jobs already wait behind a busy matrix. */
  push(job: LedJob): boolean {
    if (this.busy && this.waiting.length >= this.limit) return false;
    this.waiting.push(job);
    this.running ??= this.drain();
    return true;
  }

  /** Settles every waiting job with `reason` without running it; returns how many there were. */
  drop(reason: Error): number {
    const dropped = this.waiting.splice(0);
    for (const job of dropped) job.settle(reason);
    return dropped.length;
  }

  /** Resolves when the job being shown (if any) and those waiting are done. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    for (let job = this.waiting.shift(); job; job = this.waiting.shift()) {
      let error: Error | undefined;
      try {
        await this.run(job.operations);
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
      job.settle(error);
    }
    this.running = undefined;
  }
}
