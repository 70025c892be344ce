/**
 * The audit log (migration 20): every change made through the API, who made it and when.
 * The API guard appends one entry per successful change (dashboard/server/dashboard-server.ts);
 * GET /api/audit lists them. Entries are never edited; the detail never holds a secret.
 */
import type { ApiRole } from '../contract/api-routes';
import type { AuditEntry } from '../contract/access';
import type { Exclusive } from './command-queue';

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'atMs'> & { atMs?: number };

/** Longest stored target and detail: an audit row describes a change, it does not keep its payload. */
const MAX_TEXT = 2000;
const clip = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s);

/** Appends one entry; resolves once it is committed. */
export async function appendAudit(exclusive: Exclusive, e: NewAuditEntry): Promise<void> {
  await exclusive((db) =>
    db.run('INSERT INTO audit_log (at_ms, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)', [
      e.atMs ?? Date.now(),
      clip(e.actor),
      e.role,
      clip(e.action),
      clip(e.target),
      clip(e.detail),
    ]),
  );
}

export interface AuditQuery {
  /** at most this many, newest first (1..1000, default 200) */
  limit?: number;
  /** only entries older than this id (the next page) */
  before?: number;
}

export async function listAudit(exclusive: Exclusive, q: AuditQuery = {}): Promise<AuditEntry[]> {
  const limit = Math.min(Math.max(Math.trunc(q.limit ?? 200), 1), 1000);
  const before = q.before ?? Number.MAX_SAFE_INTEGER;
  const rows = await exclusive((db) =>
    db.all<AuditEntry & { role: string }>(
      `SELECT id, at_ms AS "atMs", actor, role, action, target, detail FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?`,
      [before, limit],
    ),
  );
  return rows.map((r) => ({ ...r, role: r.role as ApiRole }));
}
