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
  STORE_UNAVAILABLE,
];

function codeOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string') return e.code;
  // Some paths only keep the message ("SQLITE_FULL: database or disk is full").
  const m = typeof e?.message === 'string' ? /^(SQLITE_[A-Z_]+|E[A-Z]+):/.exec(e.message) : null;
  return m?.[1] ?? '';
}

export function isTransientStoreError(err: unknown): boolean {
  const code = codeOf(err);
  return TRANSIENT_CODES.some((c) => code === c || code.startsWith(`${c}_`));
}

/** The disk (or the user's quota) is full: HTTP answers 507 Insufficient Storage for this. */
export function isDiskFull(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT';
}

/** One line for a status badge, /healthz and an alert: "disk full (SQLITE_FULL: …)". */
export function describeStoreError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return isDiskFull(err) ? `disk full (${message})` : message;
}
