/**
 * The channel's pace across runtimes sharing one outbox (PostgreSQL, the cluster role; issue 21):
 * Telegram's second per chat, 20 a minute per group and 30 a second overall hold for the sends of
 * every runtime, not only this one's. Kept in `outbox_destinations` (migrations 28, 29): per
 * destination the earliest next send and, for a group, its recent sends; per owner the recent
 * sends over every destination. The window rules themselves are send-limiter.ts's, the ones a
 * single runtime's SendLimiter applies in memory. The AlertOutbox calls this inside its claim
 * and answer transactions; one runtime (SQLite) never does.
 */
import { GLOBAL_WINDOW_MS, globalWindowFreeAtMs, groupWindowFreeAtMs, type SendLimits } from '../alerts/send-limiter';
import type { StoreConnection } from './connection';

/**
 * The outbox_destinations row (migration 29) keeping an owner's sends over every destination, for
 * the channel's overall window. A real destination named so would share the row harmlessly: only
 * group destinations keep sends in their own row, and no group is named '*'.
 */
const EVERY_TARGET = '*';

/** A shared-store claim refused for the channel's pace: until when, and whether every destination waits (the overall window). */
export interface Refusal {
  untilMs: number;
  everyTarget: boolean;
}

/** A send's answer, for the windows a shared store keeps across runtimes (`spaced`). */
export interface AnsweredSend {
  atMs: number;
  limits: SendLimits;
}

export class DestinationPace {
  /** destinations a claim refused because the channel's pace did not allow a send yet */
  private readonly refusals = new Map<string, Refusal>();

  constructor(private readonly owner: string) {}

  /** Whether an answer has anything to record: a spacing beyond the answer, or a window it counts in. */
  mustRecord(target: string, notBeforeMs: number, answered?: AnsweredSend): boolean {
    return notBeforeMs > (answered?.atMs ?? 0) || inGroupWindow(target, answered) || inGlobalWindow(answered);
  }

  /**
   * Records an answered send to `target` (`AlertOutbox.spaced`), inside the caller's transaction:
   * no claim before `notBeforeMs`, and the answer in the group's and the overall window.
   */
  async record(db: StoreConnection, target: string, notBeforeMs: number, answered?: AnsweredSend): Promise<void> {
    // The overall row first, as a claim locks it (`refuse`): no two transactions wait on each other.
    if (answered && inGlobalWindow(answered)) {
      const recent = (await this.lockSends(db, EVERY_TARGET, 0)).filter((t) => t > answered.atMs - GLOBAL_WINDOW_MS);
      await this.keepSends(db, EVERY_TARGET, [...recent, answered.atMs], answered.limits.globalPerSecond);
    }
    const sends = await this.lockSends(db, target, notBeforeMs);
    if (answered && inGroupWindow(target, answered))
      await this.keepSends(db, target, [...sends, answered.atMs], answered.limits.groupPerMinute);
  }

  /** Why the last claim of `target` was refused for the channel's pace, once; undefined if it was not. */
  refusal(target: string): Refusal | undefined {
    const refusal = this.refusals.get(target);
    this.refusals.delete(target);
    return refusal;
  }

  /**
   * Whether the channel's pace allows no send to `target` now, counting every runtime's sends;
   * notes until when. Its spacing (`spaced`) and its group window come from its row. In the
   * overall window, sends in flight anywhere (destinations with rows `sending` under a live lease:
   * one send each) hold their places until answered, as in a SendLimiter. The owner's overall row
   * is locked until this claim ends, so claims to different destinations take turns and each
   * counts the rows the one before made `sending`.
   */
  async refuse(db: StoreConnection, target: string, nowMs: number, limits?: SendLimits): Promise<boolean> {
    const row = await db.get<{ t: number; sent: string }>(
      `SELECT not_before_ms AS t, sent_ms AS sent FROM outbox_destinations WHERE owner = ? AND target = ?`,
      [this.owner, target],
    );
    const untilMs = Math.max(row?.t ?? 0, limits ? groupWindowFreeAtMs(limits, target, sendsFrom(row?.sent), nowMs) : 0);
    if (untilMs > nowMs) return this.refused(target, { untilMs, everyTarget: false });
    if (!limits || limits.globalPerSecond <= 0) return false;
    const sends = await this.lockSends(db, EVERY_TARGET, 0);
    const inFlight = await db.get<{ n: number }>(
      `SELECT count(DISTINCT target) AS n FROM alerts_outbox WHERE owner = ? AND state = 'sending' AND next_attempt_ms > ?`,
      [this.owner, nowMs],
    );
    const freeAtMs = globalWindowFreeAtMs(limits, sends, Number(inFlight?.n ?? 0), nowMs);
    return freeAtMs > nowMs && this.refused(target, { untilMs: freeAtMs, everyTarget: true });
  }

  private refused(target: string, refusal: Refusal): true {
    this.refusals.set(target, refusal);
    return true;
  }

  /**
   * Locks `target`'s row until the transaction ends (made if missing, its not_before_ms raised to
   * `notBeforeMs`) and answers the send times it keeps, oldest first.
   */
  private async lockSends(db: StoreConnection, target: string, notBeforeMs: number): Promise<number[]> {
    // An upsert, not SELECT … FOR UPDATE: one statement that also makes the row the first time.
    const row = await db.get<{ sent: string }>(
      `INSERT INTO outbox_destinations (owner, target, not_before_ms) VALUES (?, ?, ?)
         ON CONFLICT (owner, target) DO UPDATE SET not_before_ms = GREATEST(outbox_destinations.not_before_ms, excluded.not_before_ms)
         RETURNING sent_ms AS sent`,
      [this.owner, target, notBeforeMs],
    );
    return sendsFrom(row?.sent);
  }

  /** Keeps the latest `keep` of `sends` in `target`'s row (answers from several runtimes may come in any order). */
  private async keepSends(db: StoreConnection, target: string, sends: number[], keep: number): Promise<void> {
    const kept = sends.sort((a, b) => a - b).slice(-keep);
    await db.run(`UPDATE outbox_destinations SET sent_ms = ? WHERE owner = ? AND target = ?`, [JSON.stringify(kept), this.owner, target]);
  }
}

const inGroupWindow = (target: string, answered?: AnsweredSend): boolean =>
  !!answered && answered.limits.groupPerMinute > 0 && !!answered.limits.isGroup?.(target);

const inGlobalWindow = (answered?: AnsweredSend): boolean => !!answered && answered.limits.globalPerSecond > 0;

/** outbox_destinations.sent_ms: a JSON array of times; a row damaged by hand counts from nothing. */
function sendsFrom(raw: string | undefined): number[] {
  try {
    const v = JSON.parse(raw ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((t): t is number => typeof t === 'number') : [];
  } catch {
    return [];
  }
}
