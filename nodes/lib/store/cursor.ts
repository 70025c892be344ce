/**
 * Keyset paging: the API answers a page with `next`, an opaque cursor holding the
 * last row's sort key, and the next request passes it back as `cursor=`. The query
 * then starts right after that key through an index, so page 250,000 costs what
 * page 1 costs (an OFFSET walks every row before it).
 *
 * A cursor is `base64url(JSON [kind, ...key]) "." check`, where `check` is a short
 * hash of the body: not a secret (a forged cursor only names a position, and every
 * value reaches SQL bound), but a cursor that was cut, edited or copied wrong is
 * refused with a reason instead of silently paging from somewhere else.
 */
import { createHash } from 'node:crypto';
import { QueryError } from './query-error';

export type CursorKind = 'events' | 'dead-letters';
export type CursorKey = ReadonlyArray<string | number>;

/** Longer is not one of ours: refuse before decoding. */
const MAX_CURSOR_CHARS = 1024;

function check(body: string): string {
  return createHash('sha256').update(`picam-cursor:${body}`).digest('base64url').slice(0, 16);
}

export function encodeCursor(kind: CursorKind, key: CursorKey): string {
  const body = Buffer.from(JSON.stringify([kind, ...key])).toString('base64url');
  return `${body}.${check(body)}`;
}

/**
 * The key in a cursor of this kind; 400 naming what is wrong: not a cursor
 * (garbage), changed since we made it (tampered), or a valid cursor of another
 * query or shape (`shape` validates the key's values).
 */
export function decodeCursor<K extends CursorKey>(kind: CursorKind, raw: unknown, shape: (key: unknown[]) => key is unknown[] & K): K {
  const bad = (why: string) => new QueryError(400, `"cursor" ${why}; pass the "next" value of the previous page as it was`);
  if (typeof raw !== 'string') throw bad(Array.isArray(raw) ? 'must be a single value, not a list' : 'must be text');
  if (raw.length > MAX_CURSOR_CHARS) throw bad(`is longer than ${MAX_CURSOR_CHARS} characters`);
  const parts = raw.split('.');
  if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]!) || !/^[A-Za-z0-9_-]{16}$/.test(parts[1]!)) {
    throw bad('is not a page cursor');
  }
  const [body, sum] = parts as [string, string];
  if (check(body) !== sum) throw bad('was changed or cut (its check does not match)');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw bad('is not a page cursor');
  }
  if (!Array.isArray(decoded) || typeof decoded[0] !== 'string') throw bad('is not a page cursor');
  if (decoded[0] !== kind) throw bad(`belongs to ${decoded[0]}, not ${kind}`);
  const key = decoded.slice(1);
  if (!shape(key)) throw bad(`does not hold a ${kind} position`);
  return key;
}
