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
 *
 * A caller may hand a batch of records at once (`writeMany`, one input message of
 * the store node): they are never split across transactions and share one
 * callback. Other writers on the same connection (the alerts outbox) may ask to
 * `join` the next record transaction instead of running their own: an activity
 * that is also an alert for two alert nodes then costs one COMMIT (one fsync),
 * not three. A joined task that throws fails alone: the transaction is rolled
 * back and runs again without it (no savepoint per task: each would be two more
 * trips to SQLite's thread on the happy path).
 */
import { backoffMs } from '../backoff';
import type { HealthState } from '../health';
import { describeStoreError, isTransientStoreError } from '../store-errors';
import type { StoreRecord } from '../types';
import { sqlOf } from './dialect';
import { batchStatements, recordBatchStatement, recordBatchView, type Statement } from './record-sql';
import type { StoreConnection } from './connection';
import { RegistryTouches } from './registry-touches';

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
  records: readonly StoreRecord[];
  callback: WriteCallback;
}

/** A task that runs inside the next record transaction (`join`). */
interface Joined {
  task: (conn: StoreConnection) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Some records of a `writeMany` batch could not be written; the others are committed. */
export class PartialWriteError extends Error {
  constructor(
    /** indexes into the batch of the records not written, with why */
    readonly failed: ReadonlyArray<{ index: number; error: Error }>,
  ) {
    super(`${failed.length} record(s) not stored: ${failed[0]?.error.message ?? ''}`);
  }
}

export class BatchWriter {
  readonly stats: WriterStats = { committedRecords: 0, transactions: 0, failedRecords: 0, pending: 0 };
  private queue: Pending[] = [];
  /** records in `queue` */
  private queued = 0;
  private joined: Joined[] = [];
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
  /** SQLite: the connection's batch view exists (record-sql.ts recordBatchView) */
  private batchView?: Promise<void>;
  /** what the committed registry rows say, so a batch leaves out rows that would only repeat it */
  private readonly touches = new RegistryTouches();
  private state: HealthState = { ok: true };
  private readonly healthListeners = new Set<(h: HealthState) => void>();

  constructor(
    private readonly conn: StoreConnection,
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
    this.writeMany([record], callback);
  }

  /**
   * Queues `records` as one unit: committed in one transaction, `callback` once after COMMIT.
   * When some cannot be written for good, the rest are committed and the callback gets a
   * PartialWriteError naming the others.
   */
  writeMany(records: readonly StoreRecord[], callback: WriteCallback): void {
    if (this.closed) {
      callback(new Error('database is closed'));
      return;
    }
    this.queue.push({ records, callback });
    this.queued += records.length;
    this.stats.pending = this.queued;
    // A batch is already what waiting would gather: it starts the next turn (units of this one join).
    if (records.length > 1) this.soon();
    else this.due();
  }

  /**
   * Runs `task` inside the next record transaction, after its records; resolves after that
   * transaction committed. A task that throws rejects, and the transaction runs again without
   * it (so a task may run more than once: it must only touch the database). While the store
   * cannot write, tasks wait with the records.
   */
  join<T>(task: (conn: StoreConnection) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('database is closed'));
    return new Promise<T>((resolve, reject) => {
      this.joined.push({ task, resolve: resolve as (v: unknown) => void, reject });
      this.soon();
    });
  }

  /** Nothing to wait for: the commit starts on the next turn, or right after the one running. */
  private soon(): void {
    if (this.retryTimer || this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), 0);
  }

  private due(): void {
    if (this.retryTimer) return; // held until the next attempt
    if (this.queued >= this.opts.maxBatch) this.kick();
    else if (!this.timer && !this.running) this.timer = setTimeout(() => this.kick(), this.opts.maxDelayMs);
  }

  /** Resolves when everything queued before the call is committed (or failed). */
  async flush(): Promise<void> {
    while (this.running || this.queue.length > 0 || this.joined.length > 0) {
      if (!this.running) this.kick();
      if (this.running) await this.running;
      else if (this.retryDue) await this.retryDue;
    }
  }

  /** Runs `task` on the writer connection between batches (retention, maintenance). */
  async exclusive<T>(task: (conn: StoreConnection) => Promise<T>): Promise<T> {
    while (this.running) await this.running;
    let result!: T;
    this.running = (async () => {
      result = await task(this.conn);
    })().finally(() => {
      // The task may have deleted registry rows (an IP camera removed): write each again.
      this.touches.forget();
      this.running = undefined;
      if (this.queue.length > 0 || this.joined.length > 0) this.kick();
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
    // Checked again here, in the turn that sets `closed`: the last commit's callbacks may queue
    // more (an alert's follow-up) after flush() saw nothing left, and that would otherwise start a
    // transaction on a closed writer, beside the store's closing checkpoint.
    do await this.flush();
    while (this.running || this.queue.length > 0 || this.joined.length > 0);
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.healthListeners.clear();
  }

  private kick(): void {
    if (this.retryTimer) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running || (this.queue.length === 0 && this.joined.length === 0)) return;
    const batch = this.queue;
    const joined = this.joined;
    this.queue = [];
    this.joined = [];
    this.queued = 0;
    this.stats.pending = 0;
    const next = (): void => {
      this.running = undefined;
      // What arrived during the commit is already due: the commit was its wait.
      if (this.queue.length > 0 || this.joined.length > 0) this.kick();
    };
    this.running = this.commit(batch, joined).then(
      (committed) => {
        // The next transaction is on its way to SQLite before this one's callbacks run (a
        // thousand acknowledgements take milliseconds of the event loop): the writer does not
        // wait for them.
        next();
        committed?.();
      },
      next,
    );
  }

  /** Resolves once `batch` is settled; when it committed whole, with its callbacks still to run. */
  private async commit(batch: Pending[], joined: Joined[]): Promise<(() => void) | void> {
    let records = 0;
    for (const p of batch) records += p.records.length;
    try {
      const values = await this.transaction(batch, joined);
      this.stats.transactions++;
      this.stats.committedRecords += records;
      this.writable();
      return () => {
        for (const p of batch) this.answer(p.callback);
        joined.forEach((j, i) => j.resolve(values[i]));
      };
    } catch (err) {
      if (err instanceof JoinedTaskFailed) {
        // That task fails alone; everything else goes again without it.
        joined[err.index]!.reject(err.cause);
        return this.commit(
          batch,
          joined.filter((_, i) => i !== err.index),
        );
      }
      this.stats.lastError = (err as Error).message;
      if (isTransientStoreError(err)) return this.holdBack(batch, joined, err);
      if (batch.length === 0) {
        for (const j of joined) j.reject(err);
        return;
      }
      if (records === 1 && joined.length === 0) {
        this.stats.failedRecords++;
        batch[0]!.callback(err as Error);
        return;
      }
    }
    // One bad record must not sink its neighbours: retry unit by unit, then record by record.
    for (const [i, p] of batch.entries()) {
      try {
        await this.commitAlone(p);
      } catch (err) {
        return this.holdBack(batch.slice(i), joined, err);
      }
    }
    if (joined.length > 0) this.kickJoined(joined);
  }

  /**
   * Runs a committed unit's callback. One that throws (a caller's defect) must not keep the
   * others from theirs, nor reject the writer's turn: nothing awaits it but `flush`.
   */
  private answer(callback: WriteCallback): void {
    try {
      callback();
    } catch (err) {
      this.stats.lastError = `a write callback threw: ${(err as Error).message}`;
    }
  }

  /** Commits one unit on its own; throws only a transient error (the unit stays first in line). */
  private async commitAlone(p: Pending): Promise<void> {
    try {
      await this.transaction([p]);
      this.stats.transactions++;
      this.stats.committedRecords += p.records.length;
      this.writable();
      p.callback();
      return;
    } catch (err) {
      if (isTransientStoreError(err)) throw err;
      if (p.records.length === 1) {
        this.stats.failedRecords++;
        this.stats.lastError = (err as Error).message;
        p.callback(err as Error);
        return;
      }
    }
    const failed: Array<{ index: number; error: Error }> = [];
    for (const [index, record] of p.records.entries()) {
      try {
        await this.transaction([{ records: [record], callback: noop }]);
        this.stats.transactions++;
        this.stats.committedRecords++;
        this.writable();
      } catch (err) {
        if (isTransientStoreError(err)) throw err; // the whole unit goes again: its records are upserts
        this.stats.failedRecords++;
        this.stats.lastError = (err as Error).message;
        failed.push({ index, error: err as Error });
      }
    }
    p.callback(failed.length ? new PartialWriteError(failed) : undefined);
  }

  /** Joined tasks whose record transaction failed for a record's reason: they go in the next one. */
  private kickJoined(joined: Joined[]): void {
    this.joined = joined.concat(this.joined);
    if (!this.timer) this.timer = setTimeout(() => this.kick(), 0);
  }

  /** The store cannot write now: keep `rest` first in line and try again after a backoff. */
  private holdBack(rest: Pending[], joined: Joined[], err: unknown): void {
    if (this.closing) {
      for (const p of rest) p.callback(err as Error);
      for (const j of joined) j.reject(err);
      return;
    }
    this.queue = rest.concat(this.queue);
    this.joined = joined.concat(this.joined);
    this.queued = 0;
    for (const p of this.queue) this.queued += p.records.length;
    this.stats.pending = this.queued;
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

  /** One transaction: the units' records, then each joined task; returns the tasks' results. */
  private async transaction(batch: readonly Pending[], joined: readonly Joined[] = []): Promise<unknown[]> {
    const records = batch.length === 1 ? batch[0]!.records : batch.flatMap((p) => p.records);
    const statements = records.length > 0 ? await this.statements(records) : [];
    try {
      const values = await this.run(statements, joined);
      this.touches.commit();
      return values;
    } catch (err) {
      this.touches.rollback();
      throw err;
    }
  }

  /** `statements`, then each joined task, in one transaction. */
  private async run(statements: readonly Statement[], joined: readonly Joined[]): Promise<unknown[]> {
    // One statement and nothing joined is a transaction of its own: one trip to SQLite's thread.
    if (statements.length === 1 && joined.length === 0) {
      await this.conn.run(statements[0]!.sql, statements[0]!.params);
      return [];
    }
    const values: unknown[] = [];
    await this.conn.run(sqlOf(this.conn).beginWrite);
    try {
      for (const st of statements) await this.conn.run(st.sql, st.params);
      for (const [index, j] of joined.entries()) {
        try {
          values.push(await j.task(this.conn));
        } catch (err) {
          // The store cannot write at all: the whole transaction goes back, and comes again.
          throw isTransientStoreError(err) ? err : new JoinedTaskFailed(index, err);
        }
      }
      await this.conn.run('COMMIT');
    } catch (err) {
      await this.conn.run('ROLLBACK').catch(() => undefined /* already rolled back by SQLite */);
      throw err;
    }
    return values;
  }

  /** SQLite: the whole batch as one statement (record-sql.ts recordBatchView); PostgreSQL: one per table. */
  private async statements(records: readonly StoreRecord[]): Promise<Statement[]> {
    const sql = sqlOf(this.conn);
    if (sql.name !== 'sqlite') return batchStatements(records, this.now(), sql, this.touches);
    this.batchView ??= this.conn.exec(recordBatchView()).catch((err: unknown) => {
      this.batchView = undefined;
      throw err;
    });
    await this.batchView;
    return [recordBatchStatement(records, this.now(), this.touches)];
  }
}

/** A joined task threw for a reason of its own: it fails, the others go again without it. */
class JoinedTaskFailed extends Error {
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

const noop = (): void => undefined;
