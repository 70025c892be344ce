/**
 * Group commit: records queue up and are written in one transaction when the
 * batch is full or the oldest record has waited `maxDelayMs`. Each record's
 * callback runs only after COMMIT returned, so "done" means "on disk".
 */
import type { StoreRecord } from '../lib/types';
import { batchStatements } from './record-sql';
import type { Connection } from './sqlite';

export type WriteCallback = (err?: Error) => void;

export interface BatchWriterOptions {
  maxBatch: number;
  maxDelayMs: number;
  now?: () => number;
}

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
  private readonly now: () => number;

  constructor(
    private readonly conn: Connection,
    private readonly opts: BatchWriterOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  write(record: StoreRecord, callback: WriteCallback): void {
    if (this.closed) {
      callback(new Error('database is closed'));
      return;
    }
    this.queue.push({ record, callback });
    this.stats.pending = this.queue.length;
    if (this.queue.length >= this.opts.maxBatch) this.kick();
    else if (!this.timer && !this.running) this.timer = setTimeout(() => this.kick(), this.opts.maxDelayMs);
  }

  /** Resolves when everything queued before the call is committed (or failed). */
  async flush(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.kick();
      await this.running;
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

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private kick(): void {
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
      for (const p of batch) p.callback();
      return;
    } catch (err) {
      this.stats.lastError = (err as Error).message;
      if (batch.length === 1) {
        this.stats.failedRecords++;
        batch[0]!.callback(err as Error);
        return;
      }
    }
    // One bad record must not sink its neighbours: retry them one by one.
    for (const p of batch) {
      try {
        await this.transaction([p.record]);
        this.stats.transactions++;
        this.stats.committedRecords++;
        p.callback();
      } catch (err) {
        this.stats.failedRecords++;
        this.stats.lastError = (err as Error).message;
        p.callback(err as Error);
      }
    }
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
