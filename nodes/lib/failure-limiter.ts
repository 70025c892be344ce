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
