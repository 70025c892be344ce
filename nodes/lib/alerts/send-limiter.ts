/**
 * Keeps a channel within its sending limits. Telegram's (shared/reference/telegram.md):
 * about one message a second in one chat, 20 a minute in a group, 30 a second
 * overall. Sliding windows of send times, not token buckets: a window says
 * exactly "no more than N in any T ms", which is what the limits are.
 */
export interface SendLimits {
  /** least time between two sends to one target; 0 = none */
  perTargetMs: number;
  /** sends to one group target in any minute; 0 = no limit */
  groupPerMinute: number;
  /** sends over all targets in any second; 0 = no limit */
  globalPerSecond: number;
  /** which targets are groups (Telegram: negative chat ids) */
  isGroup?: (target: string) => boolean;
}

export const TELEGRAM_LIMITS: SendLimits = {
  perTargetMs: 1000,
  groupPerMinute: 20,
  globalPerSecond: 30,
  isGroup: (chatId) => chatId.startsWith('-'),
};

/** The windows' lengths: Telegram's "20 a minute in a group" and "30 a second overall". */
export const GROUP_WINDOW_MS = 60_000;
export const GLOBAL_WINDOW_MS = 1000;

/** A send in flight holds a window: its answer frees it, but look again this soon anyway. */
const IN_FLIGHT_RECHECK_MS = 50;

/**
 * When `target`'s group window has room for one more send; 0 when it has now or `target` is no
 * group. `sends`: its answer times, oldest first. Shared with the store's claims (outbox.ts),
 * which keep the window across runtimes.
 */
export function groupWindowFreeAtMs(limits: SendLimits, target: string, sends: readonly number[], nowMs: number): number {
  const perMinute = limits.groupPerMinute;
  if (perMinute <= 0 || !limits.isGroup?.(target)) return 0;
  const recent = sends.filter((s) => s > nowMs - GROUP_WINDOW_MS);
  return recent.length >= perMinute ? recent[recent.length - perMinute]! + GROUP_WINDOW_MS : 0;
}

/**
 * When the overall window has room for one more send; 0 when it has now. `sends`: answer times,
 * oldest first; `inFlight`: sends not answered yet, each holding its place (see SendLimiter).
 */
export function globalWindowFreeAtMs(limits: SendLimits, sends: readonly number[], inFlight: number, nowMs: number): number {
  const perSecond = limits.globalPerSecond;
  if (perSecond <= 0) return 0;
  const recent = sends.filter((s) => s > nowMs - GLOBAL_WINDOW_MS);
  const over = recent.length + inFlight - perSecond;
  if (over < 0) return 0;
  return over < recent.length ? recent[over]! + GLOBAL_WINDOW_MS : nowMs + IN_FLIGHT_RECHECK_MS;
}

interface TargetState {
  /** send times within the last minute, oldest first (groups only need more than the last one) */
  sends: number[];
  pausedUntil: number;
  /** sends to it now in flight (from any alert node sharing this limiter) */
  sending: number;
}

/**
 * The limits are counted where the messages arrive, and we cannot see that
 * moment: a request may take a while to get there (the process's first
 * request, a slow link). It lies between the send and the answer, so a send
 * is counted from when its answer came, and in between it is "in flight" and
 * already holds its place in the global window. Then no window at the
 * receiver can hold more than the limit, whatever the travel times.
 */
export class SendLimiter {
  private readonly targets = new Map<string, TargetState>();
  private global: number[] = [];
  private inFlight = 0;
  private pausedAllUntil = 0;

  constructor(private readonly limits: SendLimits) {}

  /** Milliseconds until `target` may be sent to; 0 = now. */
  waitMs(target: string, nowMs: number): number {
    const t = this.targets.get(target);
    let until = this.pausedAllUntil;
    if (t) {
      until = Math.max(until, t.pausedUntil);
      // One at a time per destination: the next is spaced from this one's answer.
      if (t.sending > 0) until = Math.max(until, nowMs + IN_FLIGHT_RECHECK_MS);
      const last = t.sends.at(-1);
      if (last !== undefined && this.limits.perTargetMs > 0) until = Math.max(until, last + this.limits.perTargetMs);
      until = Math.max(until, groupWindowFreeAtMs(this.limits, target, t.sends, nowMs));
    }
    if (this.limits.globalPerSecond > 0) {
      this.global = this.global.filter((s) => s > nowMs - GLOBAL_WINDOW_MS);
      until = Math.max(until, globalWindowFreeAtMs(this.limits, this.global, this.inFlight, nowMs));
    }
    return Math.max(0, until - nowMs);
  }

  /** A send to `target` starts: it holds a place until `answered` or `release`. */
  start(target: string): void {
    this.inFlight++;
    this.state(target).sending++;
  }

  /** The send's answer (or failure) came now: from here on it counts as arrived. */
  answered(target: string, nowMs: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const t = this.state(target);
    t.sending = Math.max(0, t.sending - 1);
    t.sends.push(nowMs);
    // Only the last minute matters, and only groups look past the last send.
    const keep = this.limits.isGroup?.(target) ? Math.max(1, this.limits.groupPerMinute) : 1;
    if (t.sends.length > keep) t.sends.splice(0, t.sends.length - keep);
    if (this.limits.globalPerSecond > 0) this.global.push(nowMs);
  }

  /** The send did not happen after all (nothing to send). */
  release(target: string): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const t = this.state(target);
    t.sending = Math.max(0, t.sending - 1);
  }

  /** Waits for `target`'s turn, then runs `send` as one counted send: for messages outside an outbox (command replies). */
  async paced<T>(target: string, send: () => Promise<T>, now: () => number = Date.now): Promise<T> {
    for (let wait = this.waitMs(target, now()); wait > 0; wait = this.waitMs(target, now())) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    this.start(target);
    try {
      return await send();
    } finally {
      this.answered(target, now());
    }
  }

  /** The channel asked us to wait (Telegram's 429 `retry_after`). */
  pause(target: string, untilMs: number): void {
    const t = this.state(target);
    t.pausedUntil = Math.max(t.pausedUntil, untilMs);
  }

  /**
   * No target until `untilMs`: the overall window is full with sends this limiter does not see
   * (another runtime's, counted in a shared store: AlertOutbox.claim).
   */
  pauseAll(untilMs: number): void {
    this.pausedAllUntil = Math.max(this.pausedAllUntil, untilMs);
  }

  private state(target: string): TargetState {
    let t = this.targets.get(target);
    if (!t) {
      t = { sends: [], pausedUntil: 0, sending: 0 };
      this.targets.set(target, t);
    }
    return t;
  }
}
