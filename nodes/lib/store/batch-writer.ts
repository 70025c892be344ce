/**
 * Group commit: records queue up and are written in one transaction when the
 * batch is full or the oldest record has waited `maxDelayMs`. Each record's
 * callback runs only after COMMIT returned, so "done" means "on disk".
 *
 * When the store cannot write for a reason that passes (a full disk, an I/O
 * error, a lock: lib/store-errors.ts), the records stay queued, in order, and
 * the writer retries with backoff; their callbacks wait, so nothing upstream is
 * acknowledged meanwhile, and the ingress's in-flight cap bounds the queue.
 * `health` says so, for /healthz, the status and an alert.
 */
import { backoffMs } from '../backoff';
import type { HealthState } from '../health';
import { describeStoreError, isTransientStoreError } from '../store-errors';
import type { StoreRecord } from '../types';
import { batchStatements } from './record-sql';
import type { Connection } from './sqlite';

export type WriteCallback = (err?: Error) => void;

export interface BatchWriterOptions {
  maxBatch: number;
  maxDelayMs: number;
  now?: () => number;
  /** retry delays while the store cannot write */
  retry?: { baseMs: number; maxMs: number };
}

const DEFAULT_RETRY = { baseMs: 250, maxMs: 10_000 };

export interface WriterStats {
  committedRecords: number;
  transactions: number;
  failedRecords: number;
  pending: number;
  lastError?: string;
}

interface Pending {
  record: StoreRecord;
  callback: WriteCallback;
}

export class BatchWriter {
  readonly stats: WriterStats = { committedRecords: 0, transactions: 0, failedRecords: 0, pending: 0 };
  private queue: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private closed = false;
  private closing = false;
  private readonly now: () => number;
  /** set while the store cannot write: when the next attempt is due */
  private retryTimer?: NodeJS.Timeout;
  private retryDue?: Promise<void>;
  private retryNow?: () => void;
  private attempts = 0;
  private state: HealthState = { ok: true };
  private readonly healthListeners = new Set<(h: HealthState) => void>();

  constructor(
    private readonly conn: Connection,
    private readonly opts: BatchWriterOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Whether writes succeed now; not ok from a failed commit until the next one succeeds. */
  get health(): HealthState {
    return this.state;
  }

  /** Calls `listener` on every change of `health`; returns the unsubscribe. */
  onHealth(listener: (h: HealthState) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  write(record: StoreRecord, callback: WriteCallback): void {
    if (this.closed) {
      callback(new Error('database is closed'));
      return;
    }
    this.queue.push({ record, callback });
    this.stats.pending = this.queue.length;
    if (this.retryTimer) return; // held until the next attempt
    if (this.queue.length >= this.opts.maxBatch) this.kick();
    else if (!this.timer && !this.running) this.timer = setTimeout(() => this.kick(), this.opts.maxDelayMs);
  }

  /** Resolves when everything queued before the call is committed (or failed). */
  async flush(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.kick();
      if (this.running) await this.running;
      else if (this.retryDue) await this.retryDue;
    }
  }

  /** Runs `task` on the writer connection between batches (retention, maintenance). */
  async exclusive<T>(task: (conn: Connection) => Promise<T>): Promise<T> {
    while (this.running) await this.running;
    let result!: T;
    this.running = (async () => {
      result = await task(this.conn);
    })().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.kick();
    });
    await this.running;
    return result;
  }

  /**
   * Commits what is queued. While the store cannot write, one more attempt is
   * made and what still fails is failed: the callers' messages stay
   * unacknowledged, so their broker delivers them again.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.retryNow?.();
    await this.flush();
    this.closed = true;
    this.healthListeners.clear();
  }

  private kick(): void {
    if (this.retryTimer) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.stats.pending = 0;
    this.running = this.commit(batch).finally(() => {
      this.running = undefined;
      // What arrived during the commit is already due: the commit was its wait.
      if (this.queue.length > 0) this.kick();
    });
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await this.transaction(batch.map((p) => p.record));
      this.stats.transactions++;
      this.stats.committedRecords += batch.length;
      this.writable();
      for (const p of batch) p.callback();
      return;
    } catch (err) {
      this.stats.lastError = (err as Error).message;
      if (isTransientStoreError(err)) return this.holdBack(batch, err);
      if (batch.length === 1) {
        this.stats.failedRecords++;
        batch[0]!.callback(err as Error);
        return;
      }
    }
    // One bad record must not sink its neighbours: retry them one by one.
    for (const [i, p] of batch.entries()) {
      try {
        await this.transaction([p.record]);
        this.stats.transactions++;
        this.stats.committedRecords++;
        this.writable();
        p.callback();
      } catch (err) {
        if (isTransientStoreError(err)) return this.holdBack(batch.slice(i), err);
        this.stats.failedRecords++;
        this.stats.lastError = (err as Error).message;
        p.callback(err as Error);
      }
    }
  }

  /** The store cannot write now: keep `rest` first in line and try again after a backoff. */
  private holdBack(rest: Pending[], err: unknown): void {
    if (this.closing) {
      for (const p of rest) p.callback(err as Error);
      return;
    }
    this.queue = rest.concat(this.queue);
    this.stats.pending = this.queue.length;
    this.attempts++;
    if (this.state.ok) this.setHealth({ ok: false, reason: `cannot write: ${describeStoreError(err)}`, sinceMs: this.now() });
    const delay = backoffMs(this.attempts, this.opts.retry ?? DEFAULT_RETRY);
    this.retryDue = new Promise<void>((resolve) => {
      this.retryNow = () => {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.retryDue = undefined;
        this.retryNow = undefined;
        resolve();
      };
      this.retryTimer = setTimeout(() => {
        this.retryNow?.();
        this.kick();
      }, delay);
    });
  }

  private writable(): void {
    this.attempts = 0;
    if (!this.state.ok) this.setHealth({ ok: true });
  }

  private setHealth(h: HealthState): void {
    this.state = h;
    for (const l of this.healthListeners) l(h);
  }

  private async transaction(records: StoreRecord[]): Promise<void> {
    await this.conn.run('BEGIN IMMEDIATE');
    try {
      for (const st of batchStatements(records, this.now())) await this.conn.run(st.sql, st.params);
      await this.conn.run('COMMIT');
    } catch (err) {
      await this.conn.run('ROLLBACK').catch(() => undefined /* already rolled back by SQLite */);
      throw err;
    }
  }
}
