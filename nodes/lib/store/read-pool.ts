/**
 * A small pool of read connections, so that independent reads run side by side: with one
 * reader, /api/alerts waited 3.6 s behind one slow events query (issue 18). Each statement
 * takes a free connection and gives it back when its rows are in; when all are busy it waits
 * its turn (first come, first served).
 *
 * sqlite3 runs a connection's statements one at a time on libuv's threadpool (4 threads
 * unless UV_THREADPOOL_SIZE says more): the batch writer needs one of them for its commits,
 * and file and DNS work share the rest, so the pool stays small (default 2, settings.ts
 * `readConnections`).
 */
import { SETTINGS } from '../settings';
import type { Dialect, SqlValue, StoreConnection } from './connection';
import { Connection } from './sqlite';

/** What the read side needs of a connection: plain SELECTs, each on its own. */
export interface Reader {
  /** which engine answers (dialect.ts's `sqlOf` picks the SQL fragments that differ) */
  readonly dialect: Dialect;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
}

/** More would only queue on libuv's threadpool (and the role refuses more at start). */
export const MAX_READ_CONNECTIONS = SETTINGS.readConnections.max;

export class ReadPool implements Reader {
  private readonly free: StoreConnection[];
  private readonly waiting: Array<{ take: (c: StoreConnection) => void; refuse: (err: Error) => void }> = [];
  private closing?: Promise<void>;
  readonly dialect: Dialect;

  private constructor(private readonly connections: readonly StoreConnection[]) {
    this.free = [...connections];
    this.dialect = connections[0]!.dialect;
  }

  /** Opens `size` query-only connections to the SQLite `file` (closes those already open if one fails). */
  static open(file: string, size: number): Promise<ReadPool> {
    return ReadPool.of(size, async () => {
      const c = await Connection.open(file);
      try {
        await c.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;');
      } catch (err) {
        await c.close();
        throw err;
      }
      return c;
    });
  }

  /** A pool of `size` connections made by `open`, one after the other (those made are closed if one fails). */
  static async of(size: number, open: () => Promise<StoreConnection>): Promise<ReadPool> {
    if (!Number.isInteger(size) || size < 1 || size > MAX_READ_CONNECTIONS) {
      throw new RangeError(`read connections must be a whole number from 1 to ${MAX_READ_CONNECTIONS} (got ${size})`);
    }
    const opened: StoreConnection[] = [];
    try {
      for (let i = 0; i < size; i++) opened.push(await open());
    } catch (err) {
      await Promise.allSettled(opened.map((c) => c.close()));
      throw err;
    }
    return new ReadPool(opened);
  }

  get size(): number {
    return this.connections.length;
  }

  /** Connections running a statement now (for tests and figures). */
  get busy(): number {
    return this.connections.length - this.free.length;
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.use((c) => c.all<T>(sql, params));
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.use((c) => c.get<T>(sql, params));
  }

  /** Runs `task` on one connection of its own; the connection returns to the pool when it settles. */
  async use<T>(task: (c: StoreConnection) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    try {
      return await task(c);
    } finally {
      this.release(c);
    }
  }

  /** Refuses what still waits, lets running statements finish, closes every connection. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const w of this.waiting.splice(0)) w.refuse(new Error('database is closed'));
      // sqlite3 and pg close a connection after the statements already queued on it.
      await Promise.all(this.connections.map((c) => c.close()));
    })();
    return this.closing;
  }

  private acquire(): Promise<StoreConnection> {
    if (this.closing) return Promise.reject(new Error('database is closed'));
    const c = this.free.pop();
    if (c) return Promise.resolve(c);
    return new Promise((take, refuse) => this.waiting.push({ take, refuse }));
  }

  private release(c: StoreConnection): void {
    const next = this.waiting.shift();
    if (next) next.take(c);
    else this.free.push(c);
  }
}
