/**
 * The uploads folder's housekeeping: temporaries a crash left behind, and
 * uploads past their retention, once at start and then hourly. Results and
 * failures go to the node's log; a failed run never stops the next.
 */
import type { UploadStore } from '../lib/store/uploads';
import { MAX_FAILURES, pruneUploads, sweepTemporaries, type PruneResult } from './retention';

export const PRUNE_EVERY_MS = 3600_000;
/** Failures logged one by one per run; the rest are counted. */
const LOGGED_FAILURES = 10;

export interface UpkeepLog {
  log(line: string): void;
  warn(line: string): void;
}

export class UploadUpkeep {
  private timer?: NodeJS.Timeout;
  private store?: UploadStore;

  constructor(
    private readonly uploadsRoot: string,
    private readonly retainDays: number,
    /** a temporary older than this is no live upload's (they end within their deadline) */
    private readonly staleAfterMs: number,
    private readonly out: UpkeepLog,
  ) {}

  /** Removes temporaries older than `olderThanMs` (0: all, before the server listens). */
  async sweep(olderThanMs: number): Promise<void> {
    try {
      const r = await sweepTemporaries(this.uploadsRoot, olderThanMs);
      if (r.removed) this.out.log(`removed ${r.removed} stale temporary upload files`);
      for (const f of r.failures) this.out.warn(`stale temporaries: ${f}`);
    } catch (err) {
      this.out.warn(`sweeping stale temporary uploads failed: ${(err as Error).message}`);
    }
  }

  /** One run now (also the `prune` command's); undefined before the database is open. */
  async prune(): Promise<PruneResult | undefined> {
    const store = this.store;
    if (!store) return undefined;
    await this.sweep(this.staleAfterMs);
    try {
      const r = await pruneUploads(store, this.uploadsRoot, this.retainDays);
      if (r.files) this.out.log(`retention: removed ${r.files} uploaded files older than ${this.retainDays} days`);
      // A moved uploads folder fails every old row's folder: the first few say why, a count the rest.
      for (const f of r.failures.slice(0, LOGGED_FAILURES)) this.out.warn(`retention: ${f}`);
      const more = r.failed - Math.min(r.failures.length, LOGGED_FAILURES);
      if (more > 0) this.out.warn(`retention: ${more} more folders not removed (the prune command's answer names ${MAX_FAILURES})`);
      return r;
    } catch (err) {
      this.out.warn(`retention run failed: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Runs now and then hourly. */
  start(store: UploadStore): void {
    this.store = store;
    // Failures are reported inside prune (and answered to the `prune` command): nothing more to do here.
    const inBackground = () => void this.prune().catch(() => undefined);
    inBackground();
    this.timer = setInterval(inBackground, PRUNE_EVERY_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
