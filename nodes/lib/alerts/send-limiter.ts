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
}

export class SendLimiter {
  private readonly targets = new Map<string, TargetState>();
  private global: number[] = [];

  constructor(private readonly limits: SendLimits) {}

  /** Milliseconds until `target` may be sent to; 0 = now. */
  waitMs(target: string, nowMs: number): number {
    const t = this.targets.get(target);
    let until = 0;
    if (t) {
      until = t.pausedUntil;
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
      if (this.global.length >= perSecond) until = Math.max(until, this.global[this.global.length - perSecond]! + 1000);
    }
    return Math.max(0, until - nowMs);
  }

  /** A send to `target` started now. */
  record(target: string, nowMs: number): void {
    const t = this.state(target);
    t.sends.push(nowMs);
    // Only the last minute matters, and only groups look past the last send.
    const keep = this.limits.isGroup?.(target) ? Math.max(1, this.limits.groupPerMinute) : 1;
    if (t.sends.length > keep) t.sends.splice(0, t.sends.length - keep);
    if (this.limits.globalPerSecond > 0) this.global.push(nowMs);
  }

  /**
   * The send reserved at `reservedMs` actually left at `leftMs` (after the
   * outbox recorded it): count it from then, since the limit is counted where
   * the messages arrive.
   */
  departed(target: string, reservedMs: number, leftMs: number): void {
    const t = this.targets.get(target);
    const i = t?.sends.lastIndexOf(reservedMs) ?? -1;
    if (t && i >= 0) t.sends[i] = leftMs;
    const g = this.global.lastIndexOf(reservedMs);
    if (g >= 0) this.global[g] = leftMs;
  }

  /** The channel asked us to wait (Telegram's 429 `retry_after`). */
  pause(target: string, untilMs: number): void {
    const t = this.state(target);
    t.pausedUntil = Math.max(t.pausedUntil, untilMs);
  }

  private state(target: string): TargetState {
    let t = this.targets.get(target);
    if (!t) {
      t = { sends: [], pausedUntil: 0 };
      this.targets.set(target, t);
    }
    return t;
  }
}
