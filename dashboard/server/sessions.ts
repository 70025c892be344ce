/**
 * Dashboard logins: signed session cookies and CSRF tokens (API tokens: nodes/lib/access/registry.ts).
 *
 * A session is not kept on the server: the cookie holds {session id, user,
 * times} signed with an HMAC key derived from PICAM_CREDENTIAL_SECRET, so
 * sessions (and "remember me") survive a restart. What the server keeps is the
 * opposite list: sessions ended by logout, until they would have expired, in a
 * small JSON file in the data directory, so a logged-out cookie stays dead
 * after a restart too. Runtimes sharing a store (the cluster role) also keep
 * logouts there and ask it (the access registry's `sessionEnded`), since a
 * logout may have gone to another runtime. A cookie also carries a fingerprint of the user's
 * password hash: changing a password (or removing the user) ends its sessions.
 *
 * CSRF: each session has a token, an HMAC of its id, that the page reads from
 * GET /api/session and sends back in the X-CSRF-Token header; browsers send
 * cookies on their own but never that header across sites.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { checkPassword } from '../../nodes/lib/logins';
import type { FailureLimits } from '../../nodes/lib/failure-limiter';
import { LoginLimiter } from '../../nodes/lib/login-limiter';

export const SESSION_COOKIE = 'picam_session';
export const CSRF_HEADER = 'x-csrf-token';
/** "remember me": the cookie persists this long */
export const REMEMBER_MS = 30 * 24 * 3600_000;
/** without it: a browser-session cookie, which the server also stops honouring after this */
export const SESSION_MS = 12 * 3600_000;
/** Five wrong passwords from one address within five minutes: that address waits five minutes. */
export const LOGIN_LIMITS: FailureLimits = { maxFailures: 5, windowMs: 5 * 60_000, blockMs: 5 * 60_000 };

export interface Session {
  id: string;
  user: string;
  issuedMs: number;
  expiresMs: number;
  remember: boolean;
}

export type LoginResult =
  | { ok: true; session: Session; cookie: string }
  | { ok: false; status: 401; error: string }
  | { ok: false; status: 429; error: string; retryAfter: number };

interface CookiePayload {
  s: string;
  u: string;
  i: number;
  e: number;
  r: 0 | 1;
  /** fingerprint of the user's password hash */
  p: string;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const sameBytes = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export interface SessionOptions {
  /** PICAM_CREDENTIAL_SECRET: the signing key is derived from it */
  secret: string;
  /** user → bcrypt hash (the access registry's map: the environment's logins and the store's) */
  users: ReadonlyMap<string, string>;
  /** where logouts are kept across restarts; in memory only when unset */
  revokedFile?: string;
  limits?: FailureLimits;
  /** a failure count shared with other logins (the editor's; in a cluster, other runtimes'); made from `limits` when absent */
  limiter?: LoginLimiter;
  now?: () => number;
}

export class SessionManager {
  private readonly key: Buffer;
  private readonly revoked = new Map<string, number>();
  readonly limiter: LoginLimiter;
  private readonly now: () => number;

  constructor(private readonly opts: SessionOptions) {
    // A key of its own, so a cookie signature is never also valid for anything else the secret protects.
    this.key = createHmac('sha256', opts.secret).update('picam-guardian dashboard sessions v1').digest();
    this.limiter = opts.limiter ?? new LoginLimiter(opts.limits ?? LOGIN_LIMITS);
    this.now = opts.now ?? Date.now;
    this.loadRevoked();
  }

  /** Checks a password (bcrypt, ~0.1–0.3 s by design); refuses a blocked address before looking. */
  async login(user: string, password: string, remember: boolean, client: string): Promise<LoginResult> {
    const wait = await this.limiter.retryAfter(client, this.now());
    if (wait > 0) return { ok: false, status: 429, error: 'too many failed logins: try again later', retryAfter: wait };
    const hash = this.opts.users.get(user);
    // An unknown user costs the same bcrypt comparison, so timing does not tell which names exist.
    const passOk = await checkPassword(password, hash, this.opts.users.values().next().value);
    if (!hash || !passOk) {
      await this.limiter.fail(client, this.now());
      return { ok: false, status: 401, error: 'wrong user name or password' };
    }
    const issuedMs = this.now();
    const session: Session = {
      id: randomBytes(16).toString('base64url'),
      user,
      issuedMs,
      expiresMs: issuedMs + (remember ? REMEMBER_MS : SESSION_MS),
      remember,
    };
    return { ok: true, session, cookie: this.sign(session, hash) };
  }

  /** The session a cookie value stands for, or undefined (bad signature, expired, logged out, user changed). */
  verify(cookie: string | undefined): Session | undefined {
    if (!cookie) return undefined;
    const dot = cookie.indexOf('.');
    if (dot < 0) return undefined;
    const body = cookie.slice(0, dot);
    if (!sameBytes(cookie.slice(dot + 1), this.mac(body))) return undefined;
    let p: CookiePayload;
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as CookiePayload;
    } catch {
      return undefined;
    }
    const hash = this.opts.users.get(p.u);
    if (!hash || p.p !== fingerprint(hash)) return undefined;
    if (p.e <= this.now() || this.revoked.has(p.s)) return undefined;
    return { id: p.s, user: p.u, issuedMs: p.i, expiresMs: p.e, remember: p.r === 1 };
  }

  csrfToken(session: Session): string {
    return this.mac(`csrf:${session.id}`);
  }

  checkCsrf(session: Session, header: string | string[] | undefined): boolean {
    return typeof header === 'string' && sameBytes(header, this.csrfToken(session));
  }

  /**
   * Logout: the cookie is refused from now on, also after a restart when there is a file.
   * Returns why the file could not be written (the logout still holds until a restart).
   */
  revoke(session: Pick<Session, 'id' | 'expiresMs'>): string | undefined {
    const now = this.now();
    for (const [id, exp] of this.revoked) if (exp <= now) this.revoked.delete(id);
    this.revoked.set(session.id, session.expiresMs);
    if (!this.opts.revokedFile) return undefined;
    try {
      const tmp = `${this.opts.revokedFile}.tmp`;
      writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.revoked)), { mode: 0o600 });
      renameSync(tmp, this.opts.revokedFile);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  private loadRevoked(): void {
    const file = this.opts.revokedFile;
    if (!file || !existsSync(file)) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
      const now = this.now();
      for (const [id, exp] of Object.entries(saved)) if (typeof exp === 'number' && exp > now) this.revoked.set(id, exp);
    } catch {
      // A damaged list only lets logged-out cookies back until they expire; starting matters more.
    }
  }

  private sign(s: Session, hash: string): string {
    const payload: CookiePayload = { s: s.id, u: s.user, i: s.issuedMs, e: s.expiresMs, r: s.remember ? 1 : 0, p: fingerprint(hash) };
    const body = b64url(JSON.stringify(payload));
    return `${body}.${this.mac(body)}`;
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }
}

function fingerprint(hash: string): string {
  return createHash('sha256').update(hash).digest('base64url').slice(0, 16);
}

/** One cookie's value from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The Set-Cookie value. HttpOnly: page scripts never see it. SameSite=Strict: no
 * other site's page or link sends it. Secure behind TLS. Max-Age only with
 * "remember me"; otherwise it ends with the browser session.
 */
export function sessionCookie(value: string, o: { secure: boolean; maxAgeMs?: number }): string {
  const parts = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  // Rounded: the milliseconds spent between issuing the session and writing this header are not a lost second.
  if (o.maxAgeMs !== undefined) parts.push(`Max-Age=${Math.max(0, Math.round(o.maxAgeMs / 1000))}`);
  if (o.secure) parts.push('Secure');
  return parts.join('; ');
}

export function clearedCookie(secure: boolean): string {
  return sessionCookie('', { secure, maxAgeMs: 0 });
}
