/**
 * Slows down guessing: a client (keyed by its address) that fails too often
 * within a window is refused for a while, whatever it asks. Successes do not
 * reset the count, so a scanner cannot interleave one good request to keep going.
 */
export interface FailureLimits {
  /** failures allowed within `windowMs` before the client is blocked */
  maxFailures: number;
  windowMs: number;
  blockMs: number;
}

export const DEFAULT_FAILURE_LIMITS: FailureLimits = { maxFailures: 10, windowMs: 60_000, blockMs: 5 * 60_000 };

/** One client's count: its failure times still within the window, and until when it is blocked. */
export interface FailureRecord {
  failures: number[];
  blockedUntil: number;
}

/**
 * The one counting rule, for the count in memory and the store's (nodes/lib/store/login-failures.ts):
 * adds a failure at `nowMs` to `c` (changed in place); true when this one got the client blocked.
 */
export function countFailure(c: FailureRecord, limits: FailureLimits, nowMs: number): boolean {
  c.failures = c.failures.filter((t) => t > nowMs - limits.windowMs);
  c.failures.push(nowMs);
  if (c.failures.length >= limits.maxFailures && c.blockedUntil <= nowMs) {
    c.blockedUntil = nowMs + limits.blockMs;
    c.failures = [];
    return true;
  }
  return false;
}

/** Seconds until `blockedUntil`, rounded up; 0 when it has passed. */
export const secondsLeft = (blockedUntil: number, nowMs: number): number =>
  blockedUntil > nowMs ? Math.ceil((blockedUntil - nowMs) / 1000) : 0;

/** Past this many tracked clients the oldest are forgotten, so a flood of addresses cannot grow memory. */
const MAX_CLIENTS = 10_000;

export class FailureLimiter {
  private readonly clients = new Map<string, FailureRecord>();

  constructor(readonly limits: FailureLimits = DEFAULT_FAILURE_LIMITS) {}

  /** Seconds the client must still wait, or 0 when it may go on. */
  retryAfter(key: string, nowMs = Date.now()): number {
    return secondsLeft(this.clients.get(key)?.blockedUntil ?? 0, nowMs);
  }

  /** Records a failure; returns true when this one got the client blocked. */
  fail(key: string, nowMs = Date.now()): boolean {
    let c = this.clients.get(key);
    if (!c) {
      if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
      c = { failures: [], blockedUntil: 0 };
      this.clients.set(key, c);
    }
    return countFailure(c, this.limits, nowMs);
  }
}

/**
 * One limiter per kind of failure, each blocking only requests of its own kind:
 * a camera whose uploads we refuse (the camera's protocol, not an attack) must
 * still get its config and certificates, while guessing camera ids for the
 * client key stays slowed down. A kind without limits is never counted nor blocked.
 */
export class FailureLimitsByKind<Kind extends string> {
  private readonly limiters = new Map<Kind, FailureLimiter>();

  constructor(limits: Partial<Record<Kind, FailureLimits>>) {
    for (const [kind, l] of Object.entries(limits) as Array<[Kind, FailureLimits | undefined]>) {
      if (l) this.limiters.set(kind, new FailureLimiter(l));
    }
  }

  /** Seconds a client must wait before another request of this kind, or 0. */
  retryAfter(kind: Kind, key: string, nowMs = Date.now()): number {
    return this.limiters.get(kind)?.retryAfter(key, nowMs) ?? 0;
  }

  /** Records a failure of this kind; true when it got the client blocked for this kind. */
  fail(kind: Kind, key: string, nowMs = Date.now()): boolean {
    return this.limiters.get(kind)?.fail(key, nowMs) ?? false;
  }
}
