/**
 * Exponential backoff with jitter, for everything that retries (alert
 * delivery, child processes, pollers). The jitter spreads retries out so a
 * hundred alerts that failed together do not all come back in the same
 * millisecond ("equal jitter": half the delay fixed, half random).
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Delay before retry number `attempt` (1 = the first retry). */
export function backoffMs(attempt: number, { baseMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
