/**
 * Users, API tokens and dashboard sessions made through the admin pages (migration 19).
 * Read whole at start into the runtime's access registry (nodes/lib/access/registry.ts),
 * which keeps them in memory for the login checks and writes every change through here.
 */
import { isApiRole, type ApiRole } from '../contract/api-routes';
import type { SessionRow } from '../contract/access';
import type { Exclusive } from './command-queue';
import { sqlOf } from './dialect';
import type { Reader } from './read-pool';

export interface StoredUser {
  name: string;
  passwordHash: string;
  role: ApiRole;
  cameras: string[] | null;
  createdMs: number;
}

export interface StoredToken {
  id: number;
  name: string;
  sha256: string;
  role: ApiRole;
  cameras: string[] | null;
  createdBy: string | null;
  createdMs: number;
}

export interface OpenedSession extends SessionRow {
  username: string;
}

type Row<T> = Omit<T, 'role' | 'cameras'> & { role: string; cameras: string | null };

/** Our own JSON arrays of ids; a row damaged by hand limits the login to no camera rather than all. */
function camerasFrom(raw: string | null): string[] | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
const camerasTo = (cameras: string[] | null): string | null => (cameras === null ? null : JSON.stringify(cameras));

/** A role the schema's CHECK let through is one of ours; anything else reads as the least. */
const roleFrom = (raw: string): ApiRole => (isApiRole(raw) ? raw : 'viewer');

function fromRow<T extends { role: ApiRole; cameras: string[] | null }>(r: Row<T>): T {
  return { ...r, role: roleFrom(r.role), cameras: camerasFrom(r.cameras) } as unknown as T;
}

export class AccessStore {
  constructor(
    readonly exclusive: Exclusive,
    private readonly reader: Reader,
  ) {}

  /** Several runtimes share these rows (PostgreSQL, the cluster role): what one ends, the others must ask here. */
  get shared(): boolean {
    return sqlOf(this.reader).shared;
  }

  users(): Promise<StoredUser[]> {
    return this.exclusive(async (db) =>
      (
        await db.all<Row<StoredUser>>(
          'SELECT name, password_hash AS "passwordHash", role, cameras, created_ms AS "createdMs" FROM dashboard_users ORDER BY name',
        )
      ).map((r) => fromRow<StoredUser>(r)),
    );
  }

  /** Adds a user; false when the name is taken. */
  addUser(u: StoredUser): Promise<boolean> {
    return this.exclusive(async (db) => {
      const r = await db.run(
        `INSERT INTO dashboard_users (name, password_hash, role, cameras, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO NOTHING`,
        [u.name, u.passwordHash, u.role, camerasTo(u.cameras), u.createdMs, u.createdMs],
      );
      return r.changes > 0;
    });
  }

  /** Changes what is given; false when there is no such user. */
  changeUser(name: string, c: { passwordHash?: string; role?: ApiRole; cameras?: string[] | null }): Promise<boolean> {
    return this.exclusive(async (db) => {
      const sets: string[] = ['updated_ms = ?'];
      const params: Array<string | number | null> = [Date.now()];
      if (c.passwordHash !== undefined) (sets.push('password_hash = ?'), params.push(c.passwordHash));
      if (c.role !== undefined) (sets.push('role = ?'), params.push(c.role));
      if (c.cameras !== undefined) (sets.push('cameras = ?'), params.push(camerasTo(c.cameras)));
      const r = await db.run(`UPDATE dashboard_users SET ${sets.join(', ')} WHERE name = ?`, [...params, name]);
      return r.changes > 0;
    });
  }

  /**
   * Removes a user; false when there was none. Their sessions are marked ended rather than
   * deleted, so another runtime that still knows the user refuses them (`sessionEnded`); expired
   * rows go at the next login (`recordSession`).
   */
  removeUser(name: string): Promise<boolean> {
    return this.exclusive(async (db) => {
      await db.run('UPDATE user_sessions SET revoked_ms = ? WHERE username = ? AND revoked_ms IS NULL', [Date.now(), name]);
      return (await db.run('DELETE FROM dashboard_users WHERE name = ?', [name])).changes > 0;
    });
  }

  /** Tokens not revoked. */
  tokens(): Promise<StoredToken[]> {
    return this.exclusive(async (db) =>
      (
        await db.all<Row<StoredToken>>(
          `SELECT id, name, sha256, role, cameras, created_by AS "createdBy", created_ms AS "createdMs"
             FROM api_tokens WHERE revoked_ms IS NULL ORDER BY id`,
        )
      ).map((r) => fromRow<StoredToken>(r)),
    );
  }

  addToken(t: Omit<StoredToken, 'id'>): Promise<StoredToken> {
    return this.exclusive(async (db) => {
      // RETURNING through get: PostgreSQL has no last rowid, and SQLite's run miscounts a RETURNING statement.
      const r = await db.get<{ id: number }>(
        'INSERT INTO api_tokens (name, sha256, role, cameras, created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
        [t.name, t.sha256, t.role, camerasTo(t.cameras), t.createdBy, t.createdMs],
      );
      return { ...t, id: r!.id };
    });
  }

  /** Revokes a token (the row stays, for the audit's sake); false when there is no live one with that id. */
  revokeToken(id: number): Promise<boolean> {
    return this.exclusive(
      async (db) =>
        (await db.run('UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL', [Date.now(), id])).changes > 0,
    );
  }

  /** Notes a login's session; forgets sessions that have expired (the list stays bounded by logins alive). */
  recordSession(s: OpenedSession): Promise<void> {
    return this.exclusive(async (db) => {
      await db.run('DELETE FROM user_sessions WHERE expires_ms <= ?', [Date.now()]);
      // DO NOTHING: a logout through another runtime may have noted the session first (`logout`).
      await db.run(
        'INSERT INTO user_sessions (id, username, client, issued_ms, expires_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        [s.id, s.username, s.client, s.issuedMs, s.expiresMs],
      );
    });
  }

  /**
   * A session's own logout: marked ended, and noted first if its login's note has not arrived
   * yet (recordSession does not hold up the login), so the mark is never lost.
   */
  logout(s: OpenedSession, nowMs = Date.now()): Promise<void> {
    return this.exclusive(async (db) => {
      await db.run(
        `INSERT INTO user_sessions (id, username, client, issued_ms, expires_ms, revoked_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET revoked_ms = COALESCE(user_sessions.revoked_ms, excluded.revoked_ms)`,
        [s.id, s.username, s.client, s.issuedMs, s.expiresMs, nowMs],
      );
    });
  }

  /** Of `ids`, the sessions that were ended: one read by primary key for all (at most a few hundred live-feed sockets). */
  async endedAmong(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.reader.all<{ id: string }>(
      `SELECT id FROM user_sessions WHERE revoked_ms IS NOT NULL AND id IN (${ids.map(() => '?').join(', ')})`,
      ids,
    );
    return rows.map((r) => r.id);
  }

  /** Whether the session was ended (logged out, ended by an admin, its user removed): one primary-key read. */
  async sessionEnded(id: string): Promise<boolean> {
    return (await this.reader.get('SELECT 1 AS ended FROM user_sessions WHERE id = ? AND revoked_ms IS NOT NULL', [id])) !== undefined;
  }

  /** A user's sessions that are neither expired nor ended. */
  sessions(username: string): Promise<SessionRow[]> {
    return this.exclusive((db) =>
      db.all<SessionRow>(
        `SELECT id, client, issued_ms AS "issuedMs", expires_ms AS "expiresMs" FROM user_sessions
          WHERE username = ? AND revoked_ms IS NULL AND expires_ms > ? ORDER BY issued_ms DESC`,
        [username, Date.now()],
      ),
    );
  }

  /** Marks a session ended; the session itself, or undefined when the user has no such open one. */
  endSession(username: string, id: string): Promise<SessionRow | undefined> {
    return this.exclusive(async (db) => {
      const row = await db.get<SessionRow>(
        `SELECT id, client, issued_ms AS "issuedMs", expires_ms AS "expiresMs" FROM user_sessions
          WHERE id = ? AND username = ? AND revoked_ms IS NULL`,
        [id, username],
      );
      if (row) await db.run('UPDATE user_sessions SET revoked_ms = ? WHERE id = ?', [Date.now(), id]);
      return row;
    });
  }
}
