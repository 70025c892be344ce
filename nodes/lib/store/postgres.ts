/**
 * The store's connection over PostgreSQL (the cluster role, issue 21), the same StoreConnection
 * as SQLite's (connection.ts): the writer gets one, the read pool a few (openPostgresReaders).
 *
 * What it does so that the store's modules read the same values from both engines:
 * - `?` and `?N` placeholders become `$N` (outside string literals, quoted names, comments and
 *   dollar-quoted bodies); `exec` runs its text as it is (DDL, several statements, no parameters);
 * - int8 (count(*), BIGINT times in ms) and numeric (sum of integers) come back as JS numbers,
 *   not the strings pg gives by default; booleans as 1 and 0, as SQLite answers `EXISTS (…)`
 *   or `a = b`; BYTEA is a Buffer both ways (pg's own behaviour);
 * - a lost connection is opened again on the next statement, except inside a transaction:
 *   there every statement fails (SQLSTATE 08006, transient in store-errors.ts) until the
 *   caller's ROLLBACK, so half a batch is never committed on a fresh connection.
 * The URL's password never appears in an error this module throws (`scrubbed`; lib/redact.ts hides it in what we show).
 */
import pg from 'pg';
import type { RunResult, SqlValue, StoreConnection } from './connection';
import { ReadPool } from './read-pool';

const INT8 = 20;
const NUMERIC = 1700;
const BOOL = 16;

/** Whole numbers far beyond 2^53 never occur here (ms times, counts, byte totals). */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    if (oid === BOOL) return (v: string) => (v === 't' ? 1 : 0);
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** SQLSTATE connection_failure: what a statement fails with once its connection is gone. */
export const CONNECTION_LOST = '08006';

function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

/** `err` with every occurrence of the URL's password (as written and decoded) replaced. */
export function scrubbed(err: unknown, url: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const secrets = [passwordOf(url), url.match(/:\/\/[^:/@]*:([^@]*)@/)?.[1]].filter((s): s is string => !!s && s.length > 0);
  for (const s of secrets) {
    if (e.message.includes(s)) e.message = e.message.split(s).join('***');
    if (e.stack?.includes(s)) e.stack = e.stack.split(s).join('***');
  }
  return e;
}

/**
 * `?` → `$1`, `$2`… in order, `?N` → `$N`; a plain `?` after `?N` takes the next number after
 * the highest seen, as SQLite numbers it. Quoted text ('…', "…"), comments and $tag$…$tag$
 * bodies are copied as they are.
 */
export function toPgPlaceholders(sql: string): string {
  let out = '';
  let highest = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const skipTo = skipQuoted(sql, i);
    if (skipTo > i) {
      out += sql.slice(i, skipTo);
      i = skipTo;
      continue;
    }
    if (c === '?') {
      const digits = /^\d+/.exec(sql.slice(i + 1))?.[0];
      const n = digits ? Number(digits) : highest + 1;
      highest = Math.max(highest, n);
      out += `$${n}`;
      i += 1 + (digits?.length ?? 0);
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Where the quoted part starting at `i` ends (exclusive); `i` when none starts there. */
function skipQuoted(sql: string, i: number): number {
  const c = sql[i];
  if (c === "'" || c === '"') {
    // A doubled quote inside is the quote itself.
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === c) {
        if (sql[j + 1] === c) j += 2;
        else return j + 1;
      } else j++;
    }
    return sql.length;
  }
  if (c === '-' && sql[i + 1] === '-') {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end + 1;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end < 0 ? sql.length : end + 2;
  }
  if (c === '$') {
    const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
    // `$1` is a placeholder already written as PostgreSQL's, not a dollar quote.
    if (tag) {
      const end = sql.indexOf(tag, i + tag.length);
      return end < 0 ? sql.length : end + tag.length;
    }
  }
  return i;
}

const CLIENT_GONE = /Connection terminated|not queryable|connection .*(closed|ended)/i;
const BEGINS = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
const ENDS = /^\s*(COMMIT|ROLLBACK|END|ABORT)\b/i;

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` (libpq's URL form; `?sslmode=…` too) */
  url: string;
  /** shown in pg_stat_activity: which runtime and which part of it holds a connection */
  applicationName?: string;
  /** every statement of this connection is read-only (the read pool's) */
  readOnly?: boolean;
}

export class PgConnection implements StoreConnection {
  readonly dialect = 'postgres' as const;
  private client?: pg.Client;
  private opening?: Promise<pg.Client>;
  private running = 0;
  private inTransaction = false;
  /** the connection died between BEGIN and its end: refuse until ROLLBACK */
  private lostInTransaction = false;
  private closed?: Promise<void>;
  /** the server process of the open connection (what pg_cancel_backend names) */
  private backendPid?: number;

  private constructor(private readonly opts: PostgresOptions) {}

  /** Connects now, so that a wrong URL or password is an error at open, not at the first write. */
  static async open(opts: PostgresOptions): Promise<PgConnection> {
    const c = new PgConnection(opts);
    await c.connected();
    return c;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    const r = await this.query(sql, params);
    const id = (r.rows[0] as { id?: unknown } | undefined)?.id;
    return { changes: r.rowCount ?? 0, lastID: typeof id === 'number' ? id : 0 };
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async exec(sql: string): Promise<void> {
    await this.query(sql, undefined);
  }

  /**
   * Cancels the statement running now (it fails with SQLSTATE 57014), through a short second
   * connection, as PostgreSQL cancels: pg_cancel_backend of this connection's server process.
   */
  interrupt(): void {
    const pid = this.backendPid;
    if (!this.client || !pid || this.running === 0) return;
    const side = new pg.Client({ connectionString: this.opts.url, types: TYPES });
    side.on('error', () => undefined /* reported by the query below */);
    side
      .connect()
      .then(() => side.query('SELECT pg_cancel_backend($1)', [pid]))
      .catch(() => undefined /* could not cancel: the statement runs to its end, as without interrupt */)
      .finally(() => void side.end().catch(() => undefined /* already gone */));
  }

  /** Ends the connection (after the statements already sent). Safe to call twice. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      const client = this.client ?? (await this.opening?.catch(() => undefined));
      this.client = undefined;
      await client?.end().catch(() => undefined /* lost already: nothing to end */);
    })();
    return this.closed;
  }

  private async query(sql: string, params: readonly SqlValue[] | undefined): Promise<pg.QueryResult> {
    if (this.closed) throw new Error('database is closed');
    const ending = ENDS.test(sql);
    if (this.lostInTransaction) {
      if (/^\s*ROLLBACK\b/i.test(sql)) {
        this.lostInTransaction = false;
        this.inTransaction = false;
        return { rows: [], rowCount: 0 } as unknown as pg.QueryResult;
      }
      throw lost('the database connection was lost inside a transaction; it was rolled back');
    }
    const client = await this.connected();
    this.running++;
    try {
      const r = params === undefined ? await client.query(sql) : await client.query(toPgPlaceholders(sql), params as SqlValue[]);
      if (BEGINS.test(sql)) this.inTransaction = true;
      if (ending) this.inTransaction = false;
      return r;
    } catch (err) {
      // A failed COMMIT or ROLLBACK ends the transaction too.
      if (ending) this.inTransaction = false;
      if (!(err as { code?: unknown }).code && (this.client !== client || CLIENT_GONE.test((err as Error).message))) {
        // pg's own "Connection terminated…": the connection is gone, whatever its events said yet.
        this.forget(client);
        Object.assign(err as object, { code: CONNECTION_LOST });
      }
      throw scrubbed(err, this.opts.url);
    } finally {
      this.running--;
    }
  }

  private connected(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.opening ??= this.connect().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.opts.url,
      types: TYPES,
      application_name: this.opts.applicationName ?? 'picam-guardian',
    });
    // Without a listener a dropped connection would crash the process; it fails the statement instead.
    client.on('error', () => this.forget(client));
    client.on('end', () => this.forget(client));
    try {
      await client.connect();
      this.backendPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      if (this.opts.readOnly) await client.query('SET default_transaction_read_only = on');
    } catch (err) {
      await client.end().catch(() => undefined /* never connected */);
      const e = scrubbed(err, this.opts.url);
      if (!(e as { code?: unknown }).code) Object.assign(e, { code: CONNECTION_LOST });
      throw e;
    }
    this.client = client;
    return client;
  }

  private forget(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.inTransaction) this.lostInTransaction = true;
  }
}

function lost(message: string): Error {
  return Object.assign(new Error(message), { code: CONNECTION_LOST });
}

/** The read pool over `size` read-only PostgreSQL connections (read-pool.ts serves them in turn). */
export async function openPostgresReaders(url: string, size: number, applicationName?: string): Promise<ReadPool> {
  return ReadPool.of(size, () => PgConnection.open({ url, readOnly: true, applicationName }));
}
