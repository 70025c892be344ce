/**
 * Failed logins per client, kept where every runtime of a cluster sees them (migration 27;
 * nodes/lib/login-limiter.ts uses it when the store is shared). One row per (scope, client):
 * the failure times still within the window (a JSON array, at most `maxFailures` long) and
 * until when the client is blocked.
 *
 * Atomic across runtimes: the first statement of the transaction is an upsert of the client's
 * row, which PostgreSQL locks until COMMIT (a second runtime's upsert of the same row waits
 * for it, then reads what it committed); SQLite's write transaction is the only one anyway.
 * The new count is worked out by the same rule as the count in memory (`countFailure`).
 */
import { countFailure, type FailureLimits, type FailureRecord } from '../failure-limiter';
import type { SharedFailureCount } from '../login-limiter';
import type { Exclusive } from './command-queue';
import { sqlOf } from './dialect';
import type { Reader } from './read-pool';

/** A row untouched this long, and not blocked, is forgotten by retention (longer than any window). */
export const LOGIN_FAILURES_KEEP_MS = 24 * 3600_000;

function failuresFrom(raw: string): number[] {
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v.filter((t): t is number => typeof t === 'number') : [];
  } catch {
    // A row damaged by hand counts from nothing again; the block, in its own column, still holds.
    return [];
  }
}

export class LoginFailureStore implements SharedFailureCount {
  constructor(
    private readonly exclusive: Exclusive,
    private readonly reader: Reader,
  ) {}

  async blockedUntil(scope: string, client: string): Promise<number> {
    const row = await this.reader.get<{ until: number }>(
      'SELECT blocked_until_ms AS until FROM login_failures WHERE scope = ? AND client = ?',
      [scope, client],
    );
    return row?.until ?? 0;
  }

  fail(scope: string, client: string, limits: FailureLimits, nowMs: number): Promise<boolean> {
    return this.exclusive(async (db) => {
      await db.exec(sqlOf(db).beginWrite);
      try {
        // The upsert takes the row's lock first: the read below is what no other runtime can change before COMMIT.
        const row = await db.get<{ failures: string; until: number }>(
          `INSERT INTO login_failures (scope, client, failures, blocked_until_ms, updated_ms) VALUES (?, ?, '[]', 0, ?)
           ON CONFLICT (scope, client) DO UPDATE SET updated_ms = excluded.updated_ms
           RETURNING failures, blocked_until_ms AS until`,
          [scope, client, nowMs],
        );
        const record: FailureRecord = { failures: failuresFrom(row!.failures), blockedUntil: Number(row!.until) };
        const blocked = countFailure(record, limits, nowMs);
        await db.run('UPDATE login_failures SET failures = ?, blocked_until_ms = ? WHERE scope = ? AND client = ?', [
          JSON.stringify(record.failures),
          record.blockedUntil,
          scope,
          client,
        ]);
        await db.exec('COMMIT');
        return blocked;
      } catch (err) {
        await db.exec('ROLLBACK').catch(() => undefined /* the statement's error is the one to report */);
        throw err;
      }
    });
  }
}

/**
 * Retention's step: clients not seen for a day and not blocked. A check on the reader first, so
 * a run with nothing due takes no write lock (retention.ts). Returns rows deleted.
 */
export async function pruneLoginFailures(exclusive: Exclusive, reader: Reader, nowMs: number): Promise<number> {
  const stale = 'FROM login_failures WHERE updated_ms < ? AND blocked_until_ms <= ?';
  const params = [nowMs - LOGIN_FAILURES_KEEP_MS, nowMs];
  if (!(await reader.get(`SELECT 1 AS due ${stale} LIMIT 1`, params))) return 0;
  return (await exclusive((db) => db.run(`DELETE ${stale}`, params))).changes;
}
