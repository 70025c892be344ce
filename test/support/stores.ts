/**
 * Store tests on both engines (issue 21): `eachDialect` declares a suite once on SQLite and once
 * on PostgreSQL, and its `open` gives an EventStore opened as production opens it, on a temp file
 * or with `EventStore.open({ url })` on a fresh database of one real server per test file
 * (test/support/postgres.ts, started at the first open, stopped after the file).
 * `readRows` and `execSql` reach the store's database from a connection of their own, as another
 * process would (they work after the store is closed).
 */
import { join } from 'node:path';
import { after, describe } from 'node:test';
import type { Exclusive } from '../../nodes/lib/store/command-queue';
import type { Dialect } from '../../nodes/lib/store/connection';
import { PgConnection } from '../../nodes/lib/store/postgres';
import { Connection } from '../../nodes/lib/store/sqlite';
import { EventStore, type StoreOptions } from '../../nodes/lib/store/store';
import { skipWithoutPostgres, startPostgres, type PostgresServer } from './postgres';
import { rows as sqliteRows } from './records';
import { tempDir } from './tmp';

/** An EventStore, with where it lives and its writer connection between batches for a test's own SQL. */
export type TestStore = EventStore & {
  /** SQLite: the file; PostgreSQL: the database's URL (a second "runtime" opens the same one) */
  readonly location: string;
  /** the writer connection, between batches (setting rows up, reading them back) */
  readonly exclusive: Exclusive;
};

/** `open()`: a fresh, empty store; `open(location)`: that store again (a restart, or a second runtime on PostgreSQL); or options. */
export type OpenStore = (at?: string | (Partial<StoreOptions> & { location?: string })) => Promise<TestStore>;

/**
 * Two runtimes on one database (`open()`, then `open(location)`: on PostgreSQL what a cluster's
 * runtimes share); their `close` goes into `cleanups`, for the test file's `after` to run.
 */
export async function twoRuntimes(open: OpenStore, cleanups: Array<() => Promise<void>>): Promise<[TestStore, TestStore]> {
  const a = await open();
  const b = await open(a.location);
  cleanups.push(
    () => a.close(),
    () => b.close(),
  );
  return [a, b];
}

const dir = tempDir('stores-');
let files = 0;

function testStore(store: EventStore, location: string): TestStore {
  return Object.assign(store, { location, exclusive: ((task) => store.writer.exclusive(task)) as Exclusive });
}

/** A SQLite store on `file`, or on a new temp file. */
export async function openSqlite(file = join(dir, `s${files++}.db`), opts: Partial<StoreOptions> = {}): Promise<TestStore> {
  return testStore(await EventStore.open({ ...opts, file }), file);
}

let server: Promise<PostgresServer> | undefined;
let stopRegistered = false;

/** The file's PostgreSQL server, started at the first call (one per test file). */
export function postgresServer(): Promise<PostgresServer> {
  server ??= startPostgres();
  return server;
}

async function openPostgres(url: string | undefined, opts: Partial<StoreOptions>): Promise<TestStore> {
  const location = url ?? (await (await postgresServer()).createDatabase());
  return testStore(await EventStore.open({ readConnections: 2, maxDelayMs: 5, ...opts, url: location }), location);
}

/**
 * Declares `body` once per dialect, as `describe(`${title} (sqlite)`)` and `(postgres)`; the
 * PostgreSQL suite is skipped where PostgreSQL is not installed (never in CI). Call at the top
 * level of a test file.
 */
export function eachDialect(title: string, body: (open: OpenStore, dialect: Dialect) => void): void {
  if (!stopRegistered) {
    stopRegistered = true;
    after(async () => {
      if (server) await (await server).stop();
    });
  }
  const split = (at: Parameters<OpenStore>[0]) => (typeof at === 'string' ? { location: at } : (at ?? {}));
  describe(`${title} (sqlite)`, () => {
    body((at) => {
      const { location, ...opts } = split(at);
      return openSqlite(location, opts);
    }, 'sqlite');
  });
  describe(`${title} (postgres)`, { skip: skipWithoutPostgres }, () => {
    body((at) => {
      const { location, ...opts } = split(at);
      return openPostgres(location, opts);
    }, 'postgres');
  });
}

/** What another process reads from the store's database. */
export async function readRows<T = Record<string, unknown>>(
  store: TestStore,
  sql: string,
  params: Array<string | number> = [],
): Promise<T[]> {
  if (store.dialect === 'sqlite') return sqliteRows(store.location, sql, params) as Promise<T[]>;
  const c = await PgConnection.open({ url: store.location });
  try {
    return await c.all<T>(sql, params);
  } finally {
    await c.close();
  }
}

/** Runs `sql` (DDL, several statements) on the store's database from another connection. */
export async function execSql(store: TestStore, sql: string): Promise<void> {
  const c = store.dialect === 'sqlite' ? await Connection.open(store.location) : await PgConnection.open({ url: store.location });
  try {
    await c.exec(sql);
  } finally {
    await c.close();
  }
}
