/**
 * The runtime's one count of failed logins per client: the dashboard's passwords, API tokens,
 * the Basic login, the editor's login and first-run codes all add to it, so alternating between
 * them gains a guesser nothing.
 *
 * On one box the count lives in memory (FailureLimiter): no database write per wrong guess, so
 * a flood of them adds nothing to the SQLite file that ingest writes to. With a store that
 * several runtimes share (PostgreSQL, the cluster role: HAProxy sends any request to any
 * runtime) it is kept in the store as well (nodes/lib/store/login-failures.ts, counted
 * atomically), so ten wrong guesses spread over two runtimes block the client as ten on one
 * would. The same rule counts in both places (`countFailure`). The count in memory goes on
 * beside the store's: it answers until the store is attached, and when the store cannot be
 * reached (then this runtime's own count still limits, and a warning says so).
 */
import { FailureLimiter, secondsLeft, type FailureLimits } from './failure-limiter';

/** A count every runtime sees: the store's (nodes/lib/store/login-failures.ts). */
export interface SharedFailureCount {
  /** Epoch ms the client is blocked until (0 or past: not blocked). */
  blockedUntil(scope: string, client: string, nowMs: number): Promise<number>;
  /** Adds a failure, atomically across runtimes; true when this one got the client blocked. */
  fail(scope: string, client: string, limits: FailureLimits, nowMs: number): Promise<boolean>;
}

export interface LoginLimiterOptions {
  /** the count's name in the store, so other counts kept there stay apart */
  scope?: string;
  /** told when the shared count cannot be reached (at most once a minute) */
  warn?(message: string): void;
}

const WARN_EVERY_MS = 60_000;

export class LoginLimiter {
  readonly scope: string;
  private readonly memory: FailureLimiter;
  private shared: SharedFailureCount | undefined;
  private warnedMs = -Infinity;

  constructor(
    readonly limits: FailureLimits,
    private readonly o: LoginLimiterOptions = {},
  ) {
    this.scope = o.scope ?? 'login';
    this.memory = new FailureLimiter(limits);
  }

  /** Counts in `shared` from now on as well (undefined: in memory only, one box). */
  share(shared: SharedFailureCount | undefined): void {
    this.shared = shared;
  }

  get isShared(): boolean {
    return this.shared !== undefined;
  }

  /** Seconds the client must still wait, or 0. Never rejects. */
  async retryAfter(client: string, nowMs = Date.now()): Promise<number> {
    const here = this.memory.retryAfter(client, nowMs);
    if (here > 0 || !this.shared) return here;
    try {
      return secondsLeft(await this.shared.blockedUntil(this.scope, client, nowMs), nowMs);
    } catch (err) {
      this.cannotShare(err as Error);
      return here;
    }
  }

  /** Records a failure; true when it got the client blocked. Never rejects. */
  async fail(client: string, nowMs = Date.now()): Promise<boolean> {
    const here = this.memory.fail(client, nowMs);
    if (!this.shared) return here;
    try {
      return (await this.shared.fail(this.scope, client, this.limits, nowMs)) || here;
    } catch (err) {
      this.cannotShare(err as Error);
      return here;
    }
  }

  private cannotShare(err: Error): void {
    const now = Date.now();
    if (now - this.warnedMs < WARN_EVERY_MS) return;
    this.warnedMs = now;
    this.o.warn?.(`login limits: the shared count cannot be reached (${err.message}); this runtime counts failed logins alone meanwhile`);
  }
}

/**
 * One count per kind of failure, each blocking only requests of its own kind (the camera
 * gateway's): a camera whose uploads we refuse (the camera's protocol, not an attack) must
 * still get its config and certificates, while guessing camera ids for the client key stays
 * slowed down. A kind without limits is never counted nor blocked. Shared like the login count:
 * each kind is its own scope in the store (`<prefix>-<kind>`).
 */
export class FailureLimitsByKind<Kind extends string> {
  private readonly limiters = new Map<Kind, LoginLimiter>();

  constructor(limits: Partial<Record<Kind, FailureLimits>>, o: { scopePrefix?: string; warn?(message: string): void } = {}) {
    for (const [kind, l] of Object.entries(limits) as Array<[Kind, FailureLimits | undefined]>) {
      if (l) this.limiters.set(kind, new LoginLimiter(l, { scope: `${o.scopePrefix ?? 'limit'}-${kind}`, warn: o.warn }));
    }
  }

  /** Counts in `shared` from now on as well (undefined: in memory only). */
  share(shared: SharedFailureCount | undefined): void {
    for (const l of this.limiters.values()) l.share(shared);
  }

  /** Seconds a client must wait before another request of this kind, or 0. Never rejects. */
  async retryAfter(kind: Kind, key: string, nowMs = Date.now()): Promise<number> {
    return (await this.limiters.get(kind)?.retryAfter(key, nowMs)) ?? 0;
  }

  /** Records a failure of this kind; true when it got the client blocked for this kind. Never rejects. */
  async fail(kind: Kind, key: string, nowMs = Date.now()): Promise<boolean> {
    return (await this.limiters.get(kind)?.fail(key, nowMs)) ?? false;
  }
}
