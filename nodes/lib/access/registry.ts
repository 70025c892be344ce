/**
 * Who may log in and what they may do (issue 23): the environment's logins (PICAM_DASHBOARD_USERS,
 * the API user, PICAM_API_TOKENS; admins unless an entry names a role) and those made on the admin
 * pages, kept in the store (nodes/lib/store/access.ts). The runtime makes one registry and hands
 * it to the dashboard server (login checks, the API guard, the live feed) and, through Node-RED's
 * settings (`picamAccess`), to the access-control node, which attaches the store once it is open.
 *
 * Everything a request checks is in memory (a login must not wait for the database); every
 * change is written to the store first and then applied here, so what is answered is what is kept.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiRole } from '../contract/api-routes';
import type { AuditEntry, SessionRow, TokenInfo, UserInfo } from '../contract/access';
import type { AccessStore, OpenedSession, StoredToken, StoredUser } from '../store/access';
import { DEFAULT_FAILURE_LIMITS } from '../failure-limiter';
import { appendAudit, listAudit, type AuditQuery, type NewAuditEntry } from '../store/audit';
import type { Exclusive } from '../store/command-queue';
import { LoginLimiter, type SharedFailureCount } from '../login-limiter';

/** Who a request is, once logged in. */
export interface Principal {
  /** the user or token name; null in the demo */
  name: string | null;
  role: ApiRole;
  /** the cameras this login may see; null: all */
  cameras: string[] | null;
}

/** The demo has no logins: everyone may do everything (it listens on 127.0.0.1 only). */
export const DEMO_PRINCIPAL: Principal = { name: null, role: 'admin', cameras: null };

export interface EnvLogin {
  name: string;
  passwordHash: string;
  role: ApiRole;
}

export interface EnvToken {
  name: string;
  sha256: string;
  role: ApiRole;
}

export interface AccessRegistryOptions {
  users: EnvLogin[];
  tokens: EnvToken[];
  /** the demo: nobody logs in, so there is no first admin to make */
  open?: boolean;
  /** the runtime's one login failure count (first-run codes count as guesses too) */
  limiter?: LoginLimiter;
  /** the runtime's log (the one-time first-run code is printed there) */
  log(message: string): void;
  warn(message: string): void;
}

/** An attached store: users, tokens and sessions, the audit log, and failed logins. */
export interface AccessData {
  access: AccessStore;
  audit: Exclusive;
  /** the store's count of failed logins: used when `access.shared` (the cluster role) */
  failures?: SharedFailureCount;
}

/** Refused with a status and a reason the API answers as it is. */
export class AccessError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * With a store shared by several runtimes (the cluster role), users and tokens are read again
 * this often: one changed through another runtime (added, password reset, removed, a token
 * revoked) holds here within this time. Two small reads per runtime.
 */
export const ACCESS_REFRESH_MS = 5_000;

/** Audit entries made while the store is not open wait here (bounded), then are written. */
const MAX_PENDING_AUDIT = 1000;

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

const sameBytes = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export class AccessRegistry {
  /** every login's bcrypt hash by name (env and store), the one map the session manager reads */
  readonly hashes = new Map<string, string>();
  private readonly envUsers = new Map<string, EnvLogin>();
  private storedUsers = new Map<string, StoredUser>();
  private storedTokens: StoredToken[] = [];
  private data: AccessData | undefined;
  /** the store last attached is shared by several runtimes (kept while detached, for messages) */
  private shared = false;
  private pendingAudit: NewAuditEntry[] = [];
  private firstRunCode: string | undefined;
  /** the dashboard server's: end a session (logout list, live feed sockets) */
  private sessionEnders: Array<(id: string, expiresMs: number) => void> = [];
  private userChangeListeners: Array<(name: string) => void> = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  /** counts this runtime's own changes: a refresh that read before one of them is not applied */
  private changes = 0;
  private refreshWarned = false;

  readonly limiter: LoginLimiter;
  readonly demo: boolean;

  constructor(private readonly o: AccessRegistryOptions) {
    this.limiter = o.limiter ?? new LoginLimiter(DEFAULT_FAILURE_LIMITS, { warn: o.warn });
    this.demo = o.open ?? false;
    for (const u of o.users) this.envUsers.set(u.name, u);
    this.rebuildHashes();
  }

  /** The store is open (the access-control node): its logins count from now on. */
  async attach(data: AccessData): Promise<void> {
    const [users, tokens] = await Promise.all([data.access.users(), data.access.tokens()]);
    this.data = data;
    // Runtimes sharing the store (the cluster role) count failed logins there, together.
    this.shared = data.access.shared;
    this.limiter.share(this.shared ? data.failures : undefined);
    clearInterval(this.refreshTimer);
    if (this.shared) {
      this.refreshTimer = setInterval(() => void this.refresh(), ACCESS_REFRESH_MS);
      this.refreshTimer.unref();
    }
    this.storedUsers = new Map(users.filter((u) => !this.envUsers.has(u.name)).map((u) => [u.name, u]));
    this.storedTokens = tokens;
    this.rebuildHashes();
    const pending = this.pendingAudit;
    this.pendingAudit = [];
    for (const e of pending) await appendAudit(data.audit, e);
    if (!this.demo && !this.hasAdmin()) {
      this.firstRunCode ??= randomBytes(9).toString('base64url');
      this.o.log(
        `no admin yet: open the dashboard from this machine, or enter the one-time code ${this.firstRunCode} on its first-run page`,
      );
    }
  }

  /**
   * The store closes (a redeploy, the runtime stopping): changes answer 503 until it is attached
   * again, but the logins last read keep working, so a redeploy logs nobody out.
   */
  detach(): void {
    clearInterval(this.refreshTimer);
    this.data = undefined;
    this.limiter.share(undefined);
  }

  get attached(): boolean {
    return this.data !== undefined;
  }

  onSessionEnded(end: (id: string, expiresMs: number) => void): void {
    this.sessionEnders.push(end);
  }

  /** A user's role, cameras or password changed, or the user is gone: open sockets should look again. */
  onUserChanged(listener: (name: string) => void): () => void {
    this.userChangeListeners.push(listener);
    return () => (this.userChangeListeners = this.userChangeListeners.filter((l) => l !== listener));
  }

  // ---- checks (in memory)

  /** The logged-in user `name` (a verified session): undefined when there is no such user (any more). */
  userPrincipal(name: string): Principal | undefined {
    const env = this.envUsers.get(name);
    if (env) return { name, role: env.role, cameras: null };
    const stored = this.storedUsers.get(name);
    return stored ? { name, role: stored.role, cameras: stored.cameras } : undefined;
  }

  /** The login an `Authorization: Bearer` token stands for, or undefined. */
  tokenPrincipal(token: string): Principal | undefined {
    const digest = sha256Hex(token);
    let found: Principal | undefined;
    // Every entry is compared, so the time taken does not say how far down the list a match was.
    for (const t of this.o.tokens) if (sameBytes(digest, t.sha256)) found = { name: t.name, role: t.role, cameras: null };
    for (const t of this.storedTokens) if (sameBytes(digest, t.sha256)) found = { name: t.name, role: t.role, cameras: t.cameras };
    return found;
  }

  hasAdmin(): boolean {
    return [...this.envUsers.values()].some((u) => u.role === 'admin') || [...this.storedUsers.values()].some((u) => u.role === 'admin');
  }

  /** Whether `code` is the first-run code (there is one only while no admin exists). */
  firstRunCodeMatches(code: string): boolean {
    return this.firstRunCode !== undefined && sameBytes(code, this.firstRunCode);
  }

  // ---- users

  users(): UserInfo[] {
    const env: UserInfo[] = [...this.envUsers.values()].map((u) => ({
      name: u.name,
      role: u.role,
      cameras: null,
      source: 'env',
      createdMs: null,
    }));
    const stored: UserInfo[] = [...this.storedUsers.values()].map((u) => ({
      name: u.name,
      role: u.role,
      cameras: u.cameras,
      source: 'store',
      createdMs: u.createdMs,
    }));
    return [...env, ...stored].sort((a, b) => a.name.localeCompare(b.name));
  }

  async addUser(u: Omit<StoredUser, 'createdMs'>): Promise<UserInfo> {
    const { access } = this.open();
    if (this.hashes.has(u.name)) throw new AccessError(409, `user "${u.name}" exists already`);
    const user: StoredUser = { ...u, createdMs: Date.now() };
    if (!(await access.addUser(user))) throw new AccessError(409, `user "${u.name}" exists already`);
    this.changes++;
    this.storedUsers.set(user.name, user);
    this.afterUserChange(user.name);
    return { name: user.name, role: user.role, cameras: user.cameras, source: 'store', createdMs: user.createdMs };
  }

  async changeUser(name: string, c: { passwordHash?: string; role?: ApiRole; cameras?: string[] | null }): Promise<UserInfo> {
    const { access } = this.open();
    const user = this.storedUser(name);
    if (c.role !== undefined && c.role !== 'admin' && user.role === 'admin') this.keepAnAdmin(name);
    if (!(await access.changeUser(name, c))) throw new AccessError(404, `no user "${name}"`);
    const changed: StoredUser = {
      ...user,
      ...(c.passwordHash !== undefined && { passwordHash: c.passwordHash }),
      ...(c.role !== undefined && { role: c.role }),
      ...(c.cameras !== undefined && { cameras: c.cameras }),
    };
    this.changes++;
    this.storedUsers.set(name, changed);
    this.afterUserChange(name);
    return { name, role: changed.role, cameras: changed.cameras, source: 'store', createdMs: changed.createdMs };
  }

  async removeUser(name: string): Promise<void> {
    const { access } = this.open();
    const user = this.storedUser(name);
    if (user.role === 'admin') this.keepAnAdmin(name);
    const sessions = await access.sessions(name);
    await access.removeUser(name);
    this.changes++;
    this.storedUsers.delete(name);
    this.afterUserChange(name);
    // Its cookies no longer verify (no such user); the logout list and sockets are told too.
    for (const s of sessions) for (const end of this.sessionEnders) end(s.id, s.expiresMs);
  }

  // ---- sessions

  /** Notes a new dashboard session (for the admin's list); a failure is logged, the login still holds. */
  recordSession(s: OpenedSession): void {
    this.data?.access.recordSession(s).catch((err: Error) => this.o.warn(`cannot note the session of "${s.username}": ${err.message}`));
  }

  /**
   * A session's own logout, kept in the store: the admin's list no longer shows it, and runtimes
   * sharing the store refuse it from the moment this resolves (`sessionEnded`). Resolves to why
   * it could not be kept (the logout still holds on this runtime), or undefined.
   */
  async loggedOut(s: OpenedSession): Promise<string | undefined> {
    // One box: the session manager's own list holds it; the store's note only serves the admin's list.
    if (!this.data) return this.shared ? 'the database is not open' : undefined;
    return this.data.access.logout(s).then(
      () => undefined,
      (err: Error) => err.message,
    );
  }

  /**
   * Whether another runtime sharing the store ended this session (a logout, an admin ending it,
   * its user removed). One box: false, its own list (the session manager's) is complete; so
   * while the store is not attached (a redeploy). Rejects when the shared store cannot be asked.
   */
  async sessionEnded(id: string): Promise<boolean> {
    const access = this.data?.access;
    return access?.shared ? access.sessionEnded(id) : false;
  }

  /** Of these session ids, those ended through any runtime sharing the store; none on one box or while detached. */
  async endedSessions(ids: string[]): Promise<string[]> {
    const access = this.data?.access;
    return access?.shared ? access.endedAmong(ids) : [];
  }

  async sessions(name: string): Promise<SessionRow[]> {
    const { access } = this.open();
    if (!this.hashes.has(name)) throw new AccessError(404, `no user "${name}"`);
    return access.sessions(name);
  }

  async endSession(name: string, id: string): Promise<void> {
    const { access } = this.open();
    const s = await access.endSession(name, id);
    if (!s) throw new AccessError(404, `user "${name}" has no open session "${id}"`);
    for (const end of this.sessionEnders) end(s.id, s.expiresMs);
  }

  // ---- tokens

  tokens(): TokenInfo[] {
    const env: TokenInfo[] = this.o.tokens.map((t) => ({
      id: 0,
      name: t.name,
      role: t.role,
      cameras: null,
      source: 'env',
      createdBy: null,
      createdMs: null,
    }));
    return [...env, ...this.storedTokens.map(({ sha256: _hash, ...t }) => ({ ...t, source: 'store' as const }))];
  }

  /** Makes a token: the token itself is returned this once; only its SHA-256 is kept. */
  async addToken(t: {
    name: string;
    role: ApiRole;
    cameras: string[] | null;
    createdBy: string | null;
  }): Promise<TokenInfo & { token: string }> {
    const { access } = this.open();
    const token = `pgt_${randomBytes(32).toString('base64url')}`;
    const stored = await access.addToken({ ...t, sha256: sha256Hex(token), createdMs: Date.now() });
    this.changes++;
    this.storedTokens.push(stored);
    const { sha256: _hash, ...info } = stored;
    return { ...info, source: 'store', token };
  }

  async revokeToken(id: number): Promise<StoredToken> {
    const { access } = this.open();
    const token = this.storedTokens.find((t) => t.id === id);
    if (!token || !(await access.revokeToken(id)))
      throw new AccessError(404, `no API token ${id} (the environment's cannot be revoked here)`);
    this.changes++;
    this.storedTokens = this.storedTokens.filter((t) => t.id !== id);
    return token;
  }

  // ---- audit

  /** Records a change; while the store is not open it waits (bounded) and is written on attach. */
  audit(e: NewAuditEntry): void {
    const entry = { ...e, atMs: e.atMs ?? Date.now() };
    if (!this.data) {
      if (this.pendingAudit.length >= MAX_PENDING_AUDIT) {
        this.o.warn(
          `audit: the database is not open and ${MAX_PENDING_AUDIT} entries wait; dropped: ${entry.action} ${entry.target} by ${entry.actor}`,
        );
        return;
      }
      this.pendingAudit.push(entry);
      return;
    }
    appendAudit(this.data.audit, entry).catch((err: Error) =>
      this.o.warn(`audit: cannot write "${entry.action} ${entry.target}" by ${entry.actor}: ${err.message}`),
    );
  }

  listAudit(q: AuditQuery): Promise<AuditEntry[]> {
    return listAudit(this.open().audit, q);
  }

  // ---- inside

  /**
   * A shared store: users and tokens read again, as another runtime may have changed them. The
   * users whose login changed are told (their sockets log in again); a failed read is warned
   * once and the last read stays.
   */
  private async refresh(): Promise<void> {
    const data = this.data;
    if (!data) return;
    const before = this.changes;
    let users: StoredUser[];
    let tokens: StoredToken[];
    try {
      [users, tokens] = await Promise.all([data.access.users(), data.access.tokens()]);
      this.refreshWarned = false;
    } catch (err) {
      if (!this.refreshWarned) this.o.warn(`cannot read the users and tokens other runtimes changed: ${(err as Error).message}`);
      this.refreshWarned = true;
      return;
    }
    // Closed meanwhile, or this runtime changed something after the read began: the next refresh has it.
    if (this.data !== data || this.changes !== before) return;
    const next = new Map(users.filter((u) => !this.envUsers.has(u.name)).map((u) => [u.name, u]));
    const changed = [...new Set([...this.storedUsers.keys(), ...next.keys()])].filter(
      (name) => !sameLogin(this.storedUsers.get(name), next.get(name)),
    );
    this.storedUsers = next;
    this.storedTokens = tokens;
    if (changed.length > 0) {
      this.rebuildHashes();
      if (this.hasAdmin()) this.firstRunCode = undefined;
      for (const name of changed) for (const l of this.userChangeListeners) l(name);
    }
  }

  private open(): AccessData {
    if (!this.data) throw new AccessError(503, 'the database is not open yet: try again shortly');
    return this.data;
  }

  private storedUser(name: string): StoredUser {
    const user = this.storedUsers.get(name);
    if (user) return user;
    if (this.envUsers.has(name))
      throw new AccessError(409, `user "${name}" is set in the environment (PICAM_DASHBOARD_USERS or PICAM_API_USER): change it there`);
    throw new AccessError(404, `no user "${name}"`);
  }

  /** Refuses to take away the last admin: nobody could manage users afterwards. */
  private keepAnAdmin(name: string): void {
    const others = this.users().filter((u) => u.role === 'admin' && u.name !== name);
    if (others.length === 0) throw new AccessError(409, `"${name}" is the only admin: make another admin first`);
  }

  private afterUserChange(name: string): void {
    this.rebuildHashes();
    if (this.hasAdmin()) this.firstRunCode = undefined;
    for (const l of this.userChangeListeners) l(name);
  }

  private rebuildHashes(): void {
    this.hashes.clear();
    for (const u of this.envUsers.values()) this.hashes.set(u.name, u.passwordHash);
    for (const u of this.storedUsers.values()) this.hashes.set(u.name, u.passwordHash);
  }
}

/** The same login: both absent, or the same password hash, role and cameras. */
function sameLogin(a: StoredUser | undefined, b: StoredUser | undefined): boolean {
  if (!a || !b) return a === b;
  return a.passwordHash === b.passwordHash && a.role === b.role && JSON.stringify(a.cameras) === JSON.stringify(b.cameras);
}
