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

interface ClientRecord {
  failures: number[];
  blockedUntil: number;
}

/** Past this many tracked clients the oldest are forgotten, so a flood of addresses cannot grow memory. */
const MAX_CLIENTS = 10_000;

export class FailureLimiter {
  private readonly clients = new Map<string, ClientRecord>();

  constructor(private readonly limits: FailureLimits = DEFAULT_FAILURE_LIMITS) {}

  /** Seconds the client must still wait, or 0 when it may go on. */
  retryAfter(key: string, nowMs = Date.now()): number {
    const c = this.clients.get(key);
    if (!c || c.blockedUntil <= nowMs) return 0;
    return Math.ceil((c.blockedUntil - nowMs) / 1000);
  }

  /** Records a failure; returns true when this one got the client blocked. */
  fail(key: string, nowMs = Date.now()): boolean {
    let c = this.clients.get(key);
    if (!c) {
      if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
      c = { failures: [], blockedUntil: 0 };
      this.clients.set(key, c);
    }
    c.failures = c.failures.filter((t) => t > nowMs - this.limits.windowMs);
    c.failures.push(nowMs);
    if (c.failures.length >= this.limits.maxFailures && c.blockedUntil <= nowMs) {
      c.blockedUntil = nowMs + this.limits.blockMs;
      c.failures = [];
      return true;
    }
    return false;
  }
}
