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

  constructor(private readonly limits: SendLimits) {}

  /** Milliseconds until `target` may be sent to; 0 = now. */
  waitMs(target: string, nowMs: number): number {
    const t = this.targets.get(target);
    let until = 0;
    if (t) {
      until = t.pausedUntil;
      // One at a time per destination: the next is spaced from this one's answer.
      if (t.sending > 0) until = Math.max(until, nowMs + IN_FLIGHT_RECHECK_MS);
      const last = t.sends.at(-1);
      if (last !== undefined && this.limits.perTargetMs > 0) until = Math.max(until, last + this.limits.perTargetMs);
      const perMinute = this.limits.groupPerMinute;
      if (perMinute > 0 && this.limits.isGroup?.(target)) {
        const recent = t.sends.filter((s) => s > nowMs - 60_000);
        if (recent.length >= perMinute) until = Math.max(until, recent[recent.length - perMinute]! + 60_000);
      }
    }
    const perSecond = this.limits.globalPerSecond;
    if (perSecond > 0) {
      this.global = this.global.filter((s) => s > nowMs - 1000);
      const over = this.global.length + this.inFlight - perSecond;
      if (over >= 0) {
        // If sends in flight alone fill the second, their answers wake the dispatcher; look again shortly anyway.
        const freedAt = over < this.global.length ? this.global[over]! + 1000 : nowMs + IN_FLIGHT_RECHECK_MS;
        until = Math.max(until, freedAt);
      }
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

  private state(target: string): TargetState {
    let t = this.targets.get(target);
    if (!t) {
      t = { sends: [], pausedUntil: 0, sending: 0 };
      this.targets.set(target, t);
    }
    return t;
  }
}

const IN_FLIGHT_RECHECK_MS = 50;
