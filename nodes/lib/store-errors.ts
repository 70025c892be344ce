/**
 * Which storage errors pass and which do not. A full disk, an I/O error, a lock
 * held too long, a read-only or vanished file: the record is fine and the write
 * will succeed once the operator (or retention) has made room, so it is kept
 * and retried, and nothing is acknowledged meanwhile. Anything else (a
 * constraint, a bad value) would fail the same way again: that record fails.
 */

/**
 * Ours: the store could not take the message now (still opening, its wait queue full, the node
 * closing). The message is fine: it must be tried again, never acknowledged as done.
 */
export const STORE_UNAVAILABLE = 'PICAM_STORE_UNAVAILABLE';

export function storeUnavailable(message: string): Error {
  return Object.assign(new Error(message), { code: STORE_UNAVAILABLE });
}

/** SQLite result codes (node-sqlite3 puts the primary code's name in `code`) and errno codes that pass. */
const TRANSIENT_CODES = [
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_NOMEM',
  'SQLITE_PROTOCOL',
  'ENOSPC',
  'EIO',
  'EROFS',
  'EDQUOT',
  'EMFILE',
  'ENFILE',
  // The PostgreSQL server unreachable or its connection lost (the cluster role, store/postgres.ts).
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  STORE_UNAVAILABLE,
];

/**
 * PostgreSQL's SQLSTATEs that pass: a deadlock or a serialization failure between two runtimes
 * writing the same rows (the whole transaction goes again), a lost or refused connection (class
 * 08, except 08P01, a protocol violation: our bug), a full disk or too many connections (class
 * 53), a server shutting down or starting (57P01-57P03), a lock not available now (55P03), an
 * I/O error (58030).
 */
const PG_TRANSIENT = ['40P01', '40001', '55P03', '57P01', '57P02', '57P03', '58030'];
const PG_TRANSIENT_CLASSES = ['08', '53'];
const SQLSTATE = /^[0-9A-Z]{5}$/;

function isTransientSqlState(code: string): boolean {
  if (!SQLSTATE.test(code) || code === '08P01') return false;
  return PG_TRANSIENT.includes(code) || PG_TRANSIENT_CLASSES.includes(code.slice(0, 2));
}

function codeOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string') return e.code;
  // Some paths only keep the message ("SQLITE_FULL: database or disk is full").
  const m = typeof e?.message === 'string' ? /^(SQLITE_[A-Z_]+|E[A-Z]+):/.exec(e.message) : null;
  return m?.[1] ?? '';
}

export function isTransientStoreError(err: unknown): boolean {
  const code = codeOf(err);
  return TRANSIENT_CODES.some((c) => code === c || code.startsWith(`${c}_`)) || isTransientSqlState(code);
}

/** The disk (or the user's quota) is full: HTTP answers 507 Insufficient Storage for this. */
export function isDiskFull(err: unknown): boolean {
  const code = codeOf(err);
  // 53100: PostgreSQL's disk_full
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT' || code === '53100';
}

/** One line for a status badge, /healthz and an alert: "disk full (SQLITE_FULL: …)". */
export function describeStoreError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return isDiskFull(err) ? `disk full (${message})` : message;
}
