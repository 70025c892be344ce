/** Promise wrapper over one `sqlite3` connection (the store's default engine, connection.ts). */
import sqlite3 from 'sqlite3';
import type { RunResult, SqlValue, StoreConnection } from './connection';

export type { SqlValue } from './connection';

/** A statement that answers rows of what it changed (SQLite 3.35+). */
const RETURNING = /\bRETURNING\b/i;

/**
 * Statements kept prepared: writes and transaction control, which never stop at a row (a kept
 * statement stopped at a row would hold its read open until it ran again).
 */
const KEPT = /^\s*(INSERT|UPDATE|DELETE|REPLACE|BEGIN|COMMIT|ROLLBACK)\b/i;

/** Prepared statements a connection keeps: more than the writer's distinct statements under load. */
const MAX_PREPARED = 64;

const noop = (): void => undefined;

export class Connection implements StoreConnection {
  readonly dialect = 'sqlite' as const;

  /** Prepared writes by their SQL (KEPT), least recently used first (see `prepared`). */
  private readonly statements = new Map<string, Promise<sqlite3.Statement>>();

  private constructor(private readonly db: sqlite3.Database) {}

  static open(file: string, readOnly = false): Promise<Connection> {
    const mode = readOnly ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE;
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(new Connection(db))));
    });
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    // sqlite3's run reads the change count after the first row, before the statement ends: for
    // `… RETURNING` it answers the previous statement's count. Its rows say what it changed.
    if (RETURNING.test(sql)) return this.runReturning(sql, params);
    const done = (resolve: (r: RunResult) => void, reject: (err: Error) => void) =>
      function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      };
    if (!KEPT.test(sql)) return new Promise((resolve, reject) => this.db.run(sql, params, done(resolve, reject)));
    const st = await this.prepared(sql);
    return new Promise((resolve, reject) => st.run(params, done(resolve, reject)));
  }

  /**
   * The statement for `sql`, prepared once and kept. \`db.run\` prepares, runs and finalizes
   * each time: two trips to SQLite's thread, each waiting for the event loop to hear that the
   * one before ended, and under load the loop answers after milliseconds. The writer's
   * statements have the same text every batch (the rows are one bound parameter).
   */
  private prepared(sql: string): Promise<sqlite3.Statement> {
    const kept = this.statements.get(sql);
    if (kept) {
      this.statements.delete(sql); // the most recently used goes last
      this.statements.set(sql, kept);
      return kept;
    }
    const ready = new Promise<sqlite3.Statement>((resolve, reject) => {
      const st = this.db.prepare(sql, (err) => {
        if (!err) return resolve(st);
        // Not kept: the same text prepares again next time (a table created since, say).
        if (this.statements.get(sql) === ready) this.statements.delete(sql);
        reject(err);
      });
    });
    for (const [oldest, old] of this.statements) {
      if (this.statements.size < MAX_PREPARED) break;
      this.statements.delete(oldest);
      void old.then((st) => st.finalize(), noop);
    }
    this.statements.set(sql, ready);
    return ready;
  }

  /** As PostgreSQL's connection answers it (connection.ts RunResult): `lastID` is the first row's `id`. */
  private async runReturning(sql: string, params: readonly SqlValue[]): Promise<RunResult> {
    const rows = await this.all<{ id?: unknown }>(sql, params);
    const id = rows[0]?.id;
    return { changes: rows.length, lastID: typeof id === 'number' ? id : 0 };
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[])));
    });
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  /** Stops the statement running now (it fails with SQLITE_INTERRUPT); later ones run as usual. */
  interrupt(): void {
    this.db.interrupt();
  }

  async close(): Promise<void> {
    // SQLite refuses to close a connection with statements still prepared.
    const kept = [...this.statements.values()];
    this.statements.clear();
    await Promise.all(kept.map((ready) => ready.then((st) => new Promise<void>((resolve) => st.finalize(() => resolve())), noop)));
    return new Promise((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }
}
