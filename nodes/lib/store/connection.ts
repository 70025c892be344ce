/**
 * What the store's modules need of a database connection, whichever engine is behind it:
 * SQLite (sqlite.ts, one file, the default) or PostgreSQL (postgres.ts, the cluster role,
 * issue 21). Statements are written with `?` placeholders (SQLite's, also `?1`…`?N`); the
 * PostgreSQL connection numbers them `$1`…`$N`. The few SQL fragments that differ between
 * the two live in dialect.ts, so a module asks `sqlOf(conn)` instead of testing `dialect`.
 */

/** What a statement binds; a Buffer becomes a BLOB (SQLite) or a BYTEA (PostgreSQL). */
export type SqlValue = string | number | null | Buffer;

export type Dialect = 'sqlite' | 'postgres';

export interface RunResult {
  /** rows inserted, updated or deleted */
  changes: number;
  /**
   * SQLite: the rowid of the last row inserted. PostgreSQL has no such thing: the `id` of the
   * statement's first returned row when it carries `RETURNING id`, else 0. A caller that needs
   * the new row's id writes `RETURNING id` (SQLite 3.35+ accepts it too).
   */
  lastID: number;
}

export interface StoreConnection {
  readonly dialect: Dialect;
  /** A statement whose rows are not wanted (INSERT, UPDATE, DELETE, BEGIN, COMMIT…). */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Several statements separated by `;`, without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
  /** Stops the statement running now (it fails); later ones run as usual. */
  interrupt(): void;
  /** Ends the connection for good. */
  close(): Promise<void>;
}
