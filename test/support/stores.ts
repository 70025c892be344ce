/**
 * Store tests on both engines: `forEachDialect` runs a describe block once on SQLite files and
 * once on PostgreSQL databases (one server for the file, a database per store), with `fresh`
 * opening a new store and `rows` reading what it committed from an independent connection.
 */
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Dialect } from '../../nodes/lib/store/connection';
import { PgConnection } from '../../nodes/lib/store/postgres';
import { Connection } from '../../nodes/lib/store/sqlite';
import { EventStore, type StoreOptions } from '../../nodes/lib/store/store';
import { skipWithoutPostgres, startPostgres, type PostgresServer } from './postgres';
import { rows as sqliteRows } from './records';
import { tempDir } from './tmp';

export interface DialectStores {
  dialect: Dialect;
  fresh(opts?: Partial<StoreOptions>): Promise<EventStore>;
  /** What another process would read (works after the store is closed). */
  rows<T = Record<string, unknown>>(store: EventStore, sql: string, params?: Array<string | number>): Promise<T[]>;
  /** Runs `sql` (DDL, several statements) on the store's database from another connection. */
  exec(store: EventStore, sql: string): Promise<void>;
}

export function forEachDialect(title: string, body: (s: DialectStores) => void): void {
  describe(`${title} (SQLite)`, () => {
    const dir = tempDir();
    let n = 0;
    body({
      dialect: 'sqlite',
      fresh: (opts = {}) => EventStore.open({ file: join(dir, `s${n++}.db`), ...opts }),
      rows: (store, sql, params = []) => sqliteRows(store.file, sql, params),
      async exec(store, sql) {
        const c = await Connection.open(store.file);
        try {
          await c.exec(sql);
        } finally {
          await c.close();
        }
      },
    });
  });
  describe(`${title} (PostgreSQL)`, { skip: skipWithoutPostgres }, () => {
    let server: PostgresServer | undefined;
    const urls = new Map<EventStore, string>();
    before(async () => {
      server = await startPostgres();
    });
    after(async () => {
      await server?.stop();
    });
    body({
      dialect: 'postgres',
      async fresh(opts = {}) {
        const url = await server!.createDatabase();
        const store = await EventStore.open({ url, ...opts });
        urls.set(store, url);
        return store;
      },
      async rows<T>(store: EventStore, sql: string, params: Array<string | number> = []) {
        const c = await PgConnection.open({ url: urls.get(store)! });
        try {
          return await c.all<T>(sql, params);
        } finally {
          await c.close();
        }
      },
      async exec(store, sql) {
        const c = await PgConnection.open({ url: urls.get(store)! });
        try {
          await c.exec(sql);
        } finally {
          await c.close();
        }
      },
    });
  });
}
