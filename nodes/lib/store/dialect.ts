/**
 * The few SQL fragments that differ between SQLite and PostgreSQL, in one place: a store module
 * writes `sqlOf(conn).greatest(a, b)` instead of testing the dialect itself. Everything else
 * (ON CONFLICT … DO UPDATE / DO NOTHING, `excluded.`, CASE, COALESCE, row values, WITH
 * RECURSIVE, LIMIT/OFFSET) is written once and runs on both.
 */
import type { Dialect, SqlValue } from './connection';

export interface SqlDialect {
  readonly name: Dialect;
  /**
   * Opens a write transaction. SQLite: IMMEDIATE takes the write lock at BEGIN (a reader that
   * upgrades later could deadlock). PostgreSQL locks rows as they are written.
   */
  readonly beginWrite: string;
  /** The largest of the values, NULLs ignored (SQLite's two-argument MAX would answer NULL). */
  greatest(...xs: string[]): string;
  least(...xs: string[]): string;
  /**
   * A table source of the rows bound as ONE parameter (`rowsParam`), with `columns` of `table`
   * by name, for `INSERT INTO table (columns) <this> ON CONFLICT …`. SQLite unpacks a JSON
   * array of arrays with json_each; PostgreSQL a JSON array of objects into the table's own row
   * type (jsonb_populate_recordset), so every value gets its column's type. `param` is where
   * the rows are: the statement's `?` unless told (a trigger's `NEW.column`).
   */
  rowsSource(table: string, columns: readonly string[], param?: string): string;
  rowsParam(columns: readonly string[], rows: readonly SqlValue[][]): string;
  /** The text at `key` (a top-level member) of a JSON text column. */
  jsonText(column: string, key: string): string;
  /** True when the JSON array in `column` holds the text bound as the one `?` it contains. */
  jsonArrayHas(column: string): string;
  /** `table alias`, with SQLite told which index to walk (PostgreSQL's planner has no hint). */
  indexedBy(table: string, alias: string, index: string): string;
  /** One row `{ user_version }`: the schema version recorded by the migrations (schema.ts). */
  readonly schemaVersion: string;
  /** A row's physical address, for "delete these rows" by a subquery (SQLite's rowid, PostgreSQL's ctid). */
  readonly rowId: string;
  /**
   * Several runtimes may use this database at once (PostgreSQL, the cluster role): a job one
   * of them takes from a shared table (an outbox row) must be claimed with a lease first.
   * SQLite's file belongs to one runtime.
   */
  readonly shared: boolean;
  /**
   * One row `{ got }`: 1 when this transaction took the lock named by `kind` (a small whole
   * number, a constant of the code) and the text bound as the one `?`; 0 when another
   * transaction holds it. Held until COMMIT or ROLLBACK. SQLite's write transaction is already
   * the only one: always 1.
   */
  tryTransactionLock(kind: number): string;
  /**
   * Appended to a SELECT of rows about to be changed in this transaction: locks them, leaving out
   * rows another transaction holds instead of waiting for it. SQLite: nothing (one writer).
   */
  readonly lockSkipLocked: string;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
function checkedKey(key: string): string {
  // Keys are constants of the code, never input: this only catches a typo.
  if (!KEY.test(key)) throw new Error(`bad JSON key ${key}`);
  return key;
}

const SQLITE: SqlDialect = {
  name: 'sqlite',
  beginWrite: 'BEGIN IMMEDIATE',
  greatest: (...xs) => `MAX(${xs.join(', ')})`,
  least: (...xs) => `MIN(${xs.join(', ')})`,
  // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint.
  rowsSource: (_table, columns, param = '?') =>
    `SELECT ${columns.map((_, i) => `value ->> ${i}`).join(', ')} FROM json_each(${param}) WHERE true`,
  rowsParam: (_columns, rows) => withoutNul(JSON.stringify(rows)),
  jsonText: (column, key) => `json_extract(${column}, '$.${checkedKey(key)}')`,
  jsonArrayHas: (column) => `EXISTS (SELECT 1 FROM json_each(${column}) WHERE json_each.value = ?)`,
  indexedBy: (table, alias, index) => `${table} ${alias} INDEXED BY ${index}`,
  schemaVersion: 'PRAGMA user_version',
  rowId: 'rowid',
  shared: false,
  tryTransactionLock: () => 'SELECT 1 AS got, ? AS lock_name',
  lockSkipLocked: '',
};

const POSTGRES: SqlDialect = {
  name: 'postgres',
  beginWrite: 'BEGIN',
  greatest: (...xs) => `GREATEST(${xs.join(', ')})`,
  least: (...xs) => `LEAST(${xs.join(', ')})`,
  rowsSource: (table, columns, param = '?') =>
    `SELECT ${columns.join(', ')} FROM jsonb_populate_recordset(NULL::${table}, ${param}::jsonb)`,
  rowsParam: (columns, rows) => JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, jsonSafe(r[i])])))),
  jsonText: (column, key) => `(${column}::jsonb ->> '${checkedKey(key)}')`,
  jsonArrayHas: (column) => `EXISTS (SELECT 1 FROM jsonb_array_elements_text(${column}::jsonb) AS z(value) WHERE z.value = ?)`,
  indexedBy: (table, alias) => `${table} ${alias}`,
  schemaVersion: 'SELECT COALESCE(max(version), 0) AS user_version FROM schema_migrations',
  rowId: 'ctid',
  shared: true,
  // Two int4 keys: `kind` keeps these apart from the single-bigint migration lock (schema.ts).
  tryTransactionLock: (kind) => `SELECT pg_try_advisory_xact_lock(${checkedInt(kind)}, hashtext(?)) AS got`,
  lockSkipLocked: 'FOR UPDATE SKIP LOCKED',
};

function checkedInt(n: number): number {
  // Lock kinds are constants of the code, never input: this only catches a mistake.
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new Error(`bad lock kind ${n}`);
  return n;
}

/**
 * Rows' JSON with each NUL character in a string as U+FFFD. SQLite's `->>` ends the text it reads
 * at a NUL: a dead letter's binary payload kept two characters of its first 4 KiB, and a name
 * with one was cut short. PostgreSQL's text cannot hold one at all (`jsonSafe`): the same
 * character stands in its place on both. Only the escape itself is replaced, not an escaped
 * backslash followed by `u0000` (text that merely spells it).
 */
function withoutNul(json: string): string {
  return json.includes('\\u0000') ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : json;
}

/**
 * A Buffer in a JSON row is BYTEA's hex text, which jsonb_populate_recordset reads back as bytes.
 * PostgreSQL's text cannot hold a NUL character (SQLite's can, but `->>` cuts it there): a dead
 * letter's raw payload with one keeps U+FFFD in its place rather than failing the whole batch.
 */
function jsonSafe(v: SqlValue | undefined): string | number | null {
  if (v === undefined) return null;
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  return typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v;
}

export function sqlOf(db: { readonly dialect: Dialect }): SqlDialect {
  return db.dialect === 'postgres' ? POSTGRES : SQLITE;
}
