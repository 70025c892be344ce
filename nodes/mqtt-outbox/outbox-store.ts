/**
 * The Pi's outbox: MQTT messages waiting for the broker's PUBACK, in one
 * SQLite file on the SD card. A message is on disk before `append` resolves,
 * leaves only when `remove` is called after its PUBACK, and the table's
 * AUTOINCREMENT sequence is the one global order it is sent in (a plain rowid
 * could be reused after the newest rows are deleted, and a reused number
 * would sort before the sender's cursor and never be sent).
 *
 * Bounded by bytes and by age: when a bound is hit the OLDEST messages go,
 * and every drop is reported through `onDrop` (never silently).
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate, type Migration } from '../lib/store/schema';
import { Connection } from '../lib/store/sqlite';

export interface OutboxLimits {
  /** bytes of topics and payloads kept at most */
  maxBytes: number;
  /** a message older than this (since it was queued) is dropped */
  maxAgeMs: number;
}

export interface QueuedMessage {
  seq: number;
  topic: string;
  payload: Buffer;
  queuedMs: number;
}

export interface DropReport {
  reason: 'size' | 'age';
  count: number;
  bytes: number;
  /** when the oldest and newest dropped message were queued */
  fromMs: number;
  toMs: number;
}

export interface OutboxStats {
  count: number;
  bytes: number;
  /** when the oldest waiting message was queued; undefined when empty */
  oldestMs?: number;
  /** why the file cannot be written now (a full disk), while messages are held in memory for it */
  writeProblem?: string;
  /** messages held in memory, not yet written */
  held: number;
}

export interface OutboxOptions extends OutboxLimits {
  file: string;
  onDrop?: (report: DropReport) => void;
  /** a failure no caller waits for (trimming after a commit) */
  onError?: (err: Error) => void;
  /** the file was not a database (or damaged) at the start: it was set aside there and a new one begun */
  onSetAside?: (movedTo: string, why: string) => void;
  now?: () => number;
}

/** The outbox file's own schema, applied with the event store's migration runner. */
export const OUTBOX_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'MQTT messages waiting for the broker',
    sql: `
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  queued_ms INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);`,
  },
];

/** Rows per INSERT: 4 bound values each, far below SQLite's limit of 32,766. */
const MAX_ROWS_PER_INSERT = 500;

/**
 * A write that fails (a full SD card, an I/O error) is tried again this much later, the messages
 * held in memory meanwhile: none of them is acknowledged to the flow (`done`) until it is on disk.
 */
const RETRY_WRITE_MS = 1000;
/** What is held in memory at most while the file cannot be written; past it, new messages are refused with the reason. */
const MAX_HELD = 10_000;
const MAX_HELD_BYTES = 16 * 1024 * 1024;

/** SQLite's answers for a file that is not a database, or is damaged past reading. */
const UNREADABLE = /SQLITE_NOTADB|SQLITE_CORRUPT/;

interface Pending {
  topic: string;
  payload: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class OutboxStore {
  private count = 0;
  private bytes = 0;
  private oldestMs?: number;
  /** every database call runs on this chain, so reads never see a half-written batch */
  private chain: Promise<unknown> = Promise.resolve();
  private pending: Pending[] = [];
  private heldBytes = 0;
  private writeProblem?: string;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly now: () => number;

  private constructor(
    private readonly db: Connection,
    private readonly opts: OutboxOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Opens the file, or begins a new one when it is not a database (damaged, overwritten): the
   * old one is set aside beside it (`.unreadable-<time>`, for a person to look at) rather than
   * leave the Pi without an uplink until someone deletes it.
   */
  static async open(opts: OutboxOptions): Promise<OutboxStore> {
    try {
      return await OutboxStore.openFile(opts);
    } catch (err) {
      if (!UNREADABLE.test(`${(err as NodeJS.ErrnoException).code} ${(err as Error).message}`)) throw err;
      const movedTo = `${opts.file}.unreadable-${new Date(opts.now?.() ?? Date.now()).toISOString().replace(/[:.]/g, '-')}`;
      renameSync(opts.file, movedTo);
      for (const side of ['-wal', '-shm']) rmSync(`${opts.file}${side}`, { force: true });
      opts.onSetAside?.(movedTo, (err as Error).message);
      return OutboxStore.openFile(opts);
    }
  }

  private static async openFile(opts: OutboxOptions): Promise<OutboxStore> {
    mkdirSync(dirname(opts.file), { recursive: true });
    const db = await Connection.open(opts.file);
    try {
      // FULL: a Pi loses power more often than it crashes; a committed row must survive both.
      await db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
      await migrate(db, OUTBOX_MIGRATIONS);
      const store = new OutboxStore(db, opts);
      await store.refreshStats();
      return store;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  stats(): OutboxStats {
    const s: OutboxStats = { count: this.count, bytes: this.bytes, oldestMs: this.oldestMs, held: this.pending.length };
    if (this.writeProblem) s.writeProblem = this.writeProblem;
    return s;
  }

  /**
   * Resolves once the message is committed. Messages appended together are
   * written in one transaction (group commit), in the order of the calls.
   */
  append(topic: string, payload: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the outbox is closed'));
    const size = messageBytes(topic, payload);
    if (size > this.opts.maxBytes) {
      return Promise.reject(new Error(`message of ${size} bytes is larger than the whole outbox (${this.opts.maxBytes} bytes)`));
    }
    if (this.pending.length >= MAX_HELD || this.heldBytes + size > MAX_HELD_BYTES) {
      return Promise.reject(
        new Error(`the outbox cannot be written (${this.writeProblem ?? 'busy'}) and holds as much as it may in memory`),
      );
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ topic, payload, resolve, reject });
      this.heldBytes += size;
      // While a failed write waits for its retry, the retry writes these too.
      if (this.pending.length === 1 && !this.retryTimer) this.writeSoon();
    });
  }

  /** The next messages after `afterSeq`, oldest first. */
  next(afterSeq: number, limit: number): Promise<QueuedMessage[]> {
    return this.serial(async () => {
      const rows = await this.db.all<{ seq: number; topic: string; payload: Buffer; queued_ms: number }>(
        'SELECT seq, topic, payload, queued_ms FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
        [afterSeq, limit],
      );
      return rows.map((r) => ({ seq: r.seq, topic: r.topic, payload: r.payload, queuedMs: r.queued_ms }));
    });
  }

  /** Deletes messages the broker acknowledged. */
  remove(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return Promise.resolve();
    return this.serial(async () => {
      const gone = await this.db.all<{ bytes: number }>(
        'DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?)) RETURNING bytes',
        [JSON.stringify(seqs)],
      );
      await this.forget(gone);
    });
  }

  /** Drops what is older than the age bound; the node calls this on a timer. */
  expire(): Promise<void> {
    return this.serial(async () => {
      const gone = await this.db.all<{ bytes: number; queued_ms: number }>(
        'DELETE FROM outbox WHERE queued_ms < ? RETURNING bytes, queued_ms',
        [this.now() - this.opts.maxAgeMs],
      );
      await this.forget(gone, 'age');
    });
  }

  /** Waits for queued appends, then closes the file. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return this.chain.then(() => undefined);
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.serial(async () => {
      // Held for a disk that never came back: their flow is told (none was acknowledged).
      for (const p of this.pending.splice(0))
        p.reject(new Error(`the outbox closed before it could write the message (${this.writeProblem})`));
      await this.db.close();
    });
  }

  private writeSoon(): void {
    this.serial(() => this.commitPending()).catch((err: Error) => this.opts.onError?.(err));
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined); // one failed task must not stop the ones behind it
    return run;
  }

  private async commitPending(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_ROWS_PER_INSERT);
      const queuedMs = this.now();
      const params = batch.flatMap((p) => [p.topic, p.payload, queuedMs, messageBytes(p.topic, p.payload)]);
      const values = batch.map(() => '(?, ?, ?, ?)').join(', ');
      try {
        await this.db.run(`INSERT INTO outbox (topic, payload, queued_ms, bytes) VALUES ${values}`, params);
      } catch (err) {
        // Kept, in order, and written again: a full disk is freed, an I/O error passes.
        this.pending.unshift(...batch);
        this.writeProblem = (err as Error).message;
        if (!this.closed) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.writeSoon();
          }, RETRY_WRITE_MS);
        }
        return;
      }
      this.writeProblem = undefined;
      this.heldBytes -= batch.reduce((sum, p) => sum + messageBytes(p.topic, p.payload), 0);
      this.count += batch.length;
      this.bytes += batch.reduce((sum, p) => sum + messageBytes(p.topic, p.payload), 0);
      this.oldestMs ??= queuedMs;
      for (const p of batch) p.resolve();
      if (this.bytes > this.opts.maxBytes) await this.trimToSize().catch((err: Error) => this.opts.onError?.(err));
    }
  }

  /** Deletes the oldest messages until the rest fit the size bound. */
  private async trimToSize(): Promise<void> {
    const excess = this.bytes - this.opts.maxBytes;
    const cut = await this.db.get<{ seq: number }>(
      `SELECT seq FROM (SELECT seq, SUM(bytes) OVER (ORDER BY seq) AS removed FROM outbox)
       WHERE removed >= ? ORDER BY seq LIMIT 1`,
      [excess],
    );
    if (!cut) return;
    const gone = await this.db.all<{ bytes: number; queued_ms: number }>('DELETE FROM outbox WHERE seq <= ? RETURNING bytes, queued_ms', [
      cut.seq,
    ]);
    await this.forget(gone, 'size');
  }

  private async forget(gone: Array<{ bytes: number; queued_ms?: number }>, dropped?: DropReport['reason']): Promise<void> {
    if (gone.length === 0) return;
    const bytes = gone.reduce((sum, r) => sum + r.bytes, 0);
    this.count -= gone.length;
    this.bytes -= bytes;
    await this.refreshOldest();
    if (dropped) {
      // reduce, not Math.min(...): a full outbox drops more rows than a call may have arguments
      const fromMs = gone.reduce((m, r) => Math.min(m, r.queued_ms ?? m), Infinity);
      const toMs = gone.reduce((m, r) => Math.max(m, r.queued_ms ?? m), -Infinity);
      this.opts.onDrop?.({ reason: dropped, count: gone.length, bytes, fromMs, toMs });
    }
  }

  private async refreshStats(): Promise<void> {
    const row = await this.db.get<{ n: number; bytes: number }>('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM outbox');
    this.count = row?.n ?? 0;
    this.bytes = row?.bytes ?? 0;
    await this.refreshOldest();
  }

  private async refreshOldest(): Promise<void> {
    const row = await this.db.get<{ queued_ms: number }>('SELECT queued_ms FROM outbox ORDER BY seq LIMIT 1');
    this.oldestMs = row?.queued_ms;
  }
}

/** What a message costs in the outbox's size bound: its topic and payload bytes. */
export const messageBytes = (topic: string, payload: Buffer): number => Buffer.byteLength(topic) + payload.length;
