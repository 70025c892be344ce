/**
 * Delivers an alert node's outbox through its channel: oldest first, one send
 * at a time per destination, within the channel's limits, retrying transient
 * failures with backoff (or the channel's own `retry_after`), and reporting
 * every outcome. Channel-agnostic: telegram-alert and webhook-alert both run one.
 *
 * A backlog for one destination goes out as a digest when the channel can do
 * that: 100 cameras triggering together become a few messages in seconds, not
 * 100 messages over 100 seconds of Telegram's one-message-a-second limit.
 *
 * Several runtimes may run the same alert node over one shared outbox (PostgreSQL, the cluster
 * role): a send starts only with rows the outbox let this runtime claim, so each row and each
 * destination has one sender at a time; the claim is renewed while the send runs.
 */
import type { AlertOutbox, OutboxRow } from '../store/outbox';
import { backoffMs, type BackoffOptions } from '../backoff';
import type { Alert, DeliveryReport } from '../types';
import { SendLimiter, type SendLimits } from './send-limiter';

export interface DeliveryResult {
  /** the channel's id for the message */
  messageId?: number;
  hasPhoto?: boolean;
  /** how many of the rows this message carried (a digest may take fewer than offered) */
  delivered: number;
}

export interface Failure {
  /** false: retrying cannot help (a chat that does not exist, a blocked bot) */
  retry: boolean;
  /** the channel said how long to wait (Telegram's retry_after) */
  retryAfterMs?: number;
  reason: string;
}

export interface Channel {
  readonly name: string;
  readonly limits: SendLimits;
  /** most rows one message may carry; 1 = no digests */
  readonly maxDigest: number;
  /** whether this row may go into a digest with others */
  canDigest(row: OutboxRow): boolean;
  /** Sends `rows` as one message; for a snapshot or a clip, `alert` is the sent alert it adds to. */
  deliver(rows: OutboxRow[], alert?: OutboxRow): Promise<DeliveryResult>;
  classify(err: unknown): Failure;
  /** whether sent activity alerts are recorded on their activity_events row */
  readonly recordsEvents?: boolean;
}

export interface DispatcherOptions {
  outbox: AlertOutbox;
  channel: Channel;
  backoff: BackoffOptions;
  /** a row still failing this long after it was added is given up; 0 = never */
  giveUpAfterMs: number;
  /** sends in flight at once, over all destinations */
  maxInFlight?: number;
  /** shared by every node that sends with the same account (one Telegram bot); default: this dispatcher's own */
  limiter?: SendLimiter;
  report(report: DeliveryReport): void;
  /** the outbox itself failed (database error): the rows stay and are retried */
  onError(err: Error): void;
  now?: () => number;
}

export interface DispatcherStats {
  sent: number;
  /** rows taken back from a sender that died mid-send (at the start, or a lease that ran out) */
  recovered: number;
  failed: number;
  retries: number;
  inFlight: number;
  /** the last failure's reason while rows wait for a retry, until the next success */
  lastFailure?: string;
  /** why the last row that failed for good failed (a refusal no retry mends: a wrong chat, a revoked token) */
  lastGiveUp?: string;
}

/** A database error: wait this long before looking at the outbox again. */
const OUTBOX_ERROR_PAUSE_MS = 5000;

/** Rows another runtime claimed at the same moment: look at the destination again this much later. */
const CLAIM_LOST_PAUSE_MS = 250;

/**
 * A clip whose alert is still to be sent looks again this long after the alert's next attempt;
 * the alert's delivery brings it forward at once (AlertOutbox.markSent), so this only bounds
 * how long a clip waits to learn that its alert failed for good.
 */
const CLIP_DEFER_MS = 30_000;

export class Dispatcher {
  readonly stats: DispatcherStats = { sent: 0, recovered: 0, failed: 0, retries: 0, inFlight: 0 };
  private readonly limiter: SendLimiter;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly now: () => number;
  private pumping?: Promise<void>;
  private recovered = false;
  private again = false;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;

  constructor(private readonly opts: DispatcherOptions) {
    this.limiter = opts.limiter ?? new SendLimiter(opts.channel.limits);
    this.now = opts.now ?? Date.now;
  }

  /** Something was added to the outbox, or a send finished: look again. */
  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  /** Stops taking rows and waits for the sends in flight, so none is left half-recorded. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    // The outbox must not be touched once the node releases the database.
    await this.pumping;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.startDue();
      } while (this.again && !this.closed);
    } catch (err) {
      this.opts.onError(err as Error);
      this.schedule(this.now() + OUTBOX_ERROR_PAUSE_MS);
    }
  }

  private async startDue(): Promise<void> {
    if (!this.recovered) {
      await this.opts.outbox.recover();
      this.recovered = true;
    }
    const nowMs = this.now();
    const due = await this.opts.outbox.due(nowMs, Math.max(1, this.opts.channel.maxDigest));
    this.stats.recovered = this.opts.outbox.recovered;
    let nextWake = Infinity;
    const byTarget = new Map<string, OutboxRow[]>();
    for (const row of due) {
      const list = byTarget.get(row.target);
      if (list) list.push(row);
      else byTarget.set(row.target, [row]);
    }
    for (const [target, rows] of byTarget) {
      if (this.closed) return;
      if (this.inFlight.has(target)) continue; // its completion wakes us
      const first = rows[0]!;
      if (first.state === 'waiting') {
        // Only a waiting snapshot whose wait ran out is due: its alert never came.
        if (await this.opts.outbox.close(first, 'suppressed', `no alert was sent for event ${first.eventId}`, false))
          this.report(first, 'suppressed', { reason: `no alert was sent for event ${first.eventId}` });
        this.again = true;
        continue;
      }
      if (this.inFlight.size >= (this.opts.maxInFlight ?? 8)) {
        this.again = false; // a completion wakes us
        break;
      }
      const wait = this.limiter.waitMs(target, nowMs);
      if (wait > 0) {
        nextWake = Math.min(nextWake, nowMs + wait);
        continue;
      }
      const batch = this.batch(rows);
      this.limiter.start(target);
      const sending = this.send(target, batch).finally(() => {
        this.inFlight.delete(target);
        this.stats.inFlight = this.inFlight.size;
        this.wake();
      });
      this.inFlight.set(target, sending);
      this.stats.inFlight = this.inFlight.size;
    }
    const nextDue = await this.opts.outbox.nextDueMs(nowMs);
    if (nextDue !== undefined && nextDue > nowMs) nextWake = Math.min(nextWake, nextDue);
    if (nextWake < Infinity) this.schedule(nextWake);
  }

  /** The first row, and the digestible rows right behind it when there is a backlog. */
  private batch(rows: OutboxRow[]): OutboxRow[] {
    const { channel } = this.opts;
    const first = rows[0]!;
    if (channel.maxDigest <= 1 || first.item !== 'alert' || !channel.canDigest(first)) return [first];
    const batch = [first];
    for (const row of rows.slice(1)) {
      if (batch.length >= channel.maxDigest || row.item !== 'alert' || !channel.canDigest(row)) break;
      batch.push(row);
    }
    return batch;
  }

  private async send(target: string, offered: OutboxRow[]): Promise<void> {
    const { channel, outbox } = this.opts;
    let attempted = false;
    try {
      // Claimed first: what is decided below about a snapshot or clip holds only while its destination is ours.
      const rows = await outbox.claim(offered, channel.limits);
      const first = rows[0];
      if (rows.length > 1 && !rows.every((r) => channel.canDigest(r))) {
        // A snapshot was merged into one of them since they were offered: it goes alone, later.
        await outbox.release(rows.splice(1));
      }
      if (!first) {
        // Another runtime sends to this destination, or took these rows a moment ago; or the runtimes' sends
        // together leave no room for this one yet (its spacing, its group window, or the bot's overall window).
        const refusal = outbox.refusal(target);
        if (refusal?.everyTarget) this.limiter.pauseAll(refusal.untilMs);
        this.limiter.pause(target, refusal?.untilMs ?? this.now() + CLAIM_LOST_PAUSE_MS);
        return;
      }
      let alert: OutboxRow | undefined;
      if (first.item === 'clip' && first.eventId) {
        alert = await outbox.alertFor(target, first.deviceId, first.eventId);
        if (alert?.state === 'pending' || alert?.state === 'sending') {
          // The photo goes first: the clip waits, without counting an attempt.
          await outbox.defer(first, Math.max(alert.nextAttemptMs, this.now()) + CLIP_DEFER_MS);
          return;
        }
        if (await this.withoutItsAlert(first, alert)) return;
      }
      if (first.item === 'snapshot' && first.eventId) {
        alert = await outbox.alertFor(target, first.deviceId, first.eventId);
        if (alert?.state === 'pending') {
          // Its alert failed and waits for a retry: they go together as one photo.
          if (await outbox.merge(first, alert))
            this.report(first, 'updated', { reason: 'added to its alert, which is waiting for a retry' });
          else await outbox.release(rows);
          return;
        }
        if (await this.withoutItsAlert(first, alert)) return;
      }
      let result: DeliveryResult;
      attempted = true;
      const lease = this.keepClaimed(rows);
      try {
        result = await channel.deliver(rows, alert);
      } catch (err) {
        this.limiter.answered(target, this.now());
        const failure = channel.classify(err);
        await this.spaceOthers(target, rows, failure.retryAfterMs);
        await this.failed(target, await lease.stop(), failure);
        return;
      }
      this.limiter.answered(target, this.now());
      await this.spaceOthers(target, rows);
      const sent = (await lease.stop()).slice(0, Math.max(1, result.delivered));
      await outbox.markSent(sent, result, channel.recordsEvents);
      this.stats.sent += sent.length;
      this.stats.lastFailure = undefined;
      for (const row of sent) {
        this.report(row, row.item !== 'alert' && row.eventId ? 'updated' : 'sent', {
          messageId: result.messageId,
          digestOf: sent.length > 1 ? sent.length : undefined,
          attempts: row.attempts + 1,
        });
      }
    } catch (err) {
      // The outbox could not record the outcome: the rows stay pending and are looked at again.
      this.opts.onError(err as Error);
      this.limiter.pause(target, this.now() + OUTBOX_ERROR_PAUSE_MS);
    } finally {
      if (!attempted) this.limiter.release(target);
    }
  }

  /**
   * A shared outbox (several runtimes): the others' claims wait as this runtime's limiter does:
   * for `target`, the channel's spacing from this answer (Telegram: a second per chat) or the
   * pause the channel asked for; and the answer counts in the group's window and the overall one
   * wherever they are checked. Written while `rows` are still claimed, so no other runtime's claim
   * comes in between.
   */
  private async spaceOthers(target: string, rows: readonly OutboxRow[], retryAfterMs = 0): Promise<void> {
    if (rows[0]?.leaseUntilMs === undefined) return;
    const { limits } = this.opts.channel;
    const atMs = this.now();
    const notBeforeMs = atMs + Math.max(limits.perTargetMs, retryAfterMs);
    // A database error here costs only the pace; the outcome below must still be recorded.
    await this.opts.outbox.spaced(target, notBeforeMs, { atMs, limits }).catch((err: unknown) => this.opts.onError(err as Error));
  }

  /**
   * Renews the claim on `rows` every third of its lease while their send runs (a shared outbox;
   * elsewhere nothing to do). `stop` answers the rows as last renewed, for recording the outcome.
   */
  private keepClaimed(rows: OutboxRow[]): { stop(): Promise<OutboxRow[]> } {
    const { outbox } = this.opts;
    if (rows.every((r) => r.leaseUntilMs === undefined)) return { stop: async () => rows };
    let held = rows;
    let renewing: Promise<void> = Promise.resolve();
    const timer = setInterval(
      () => {
        renewing = renewing.then(async () => {
          const renewed = await outbox.renew(held).catch((err: unknown) => {
            this.opts.onError(err as Error);
            return held; // a database error: the next renewal tries again
          });
          if (renewed) held = renewed;
          else {
            clearInterval(timer);
            this.opts.onError(new Error(`the claim on outbox row ${rows[0]!.id} ran out: another runtime may send it too`));
          }
        });
      },
      Math.max(1, Math.floor(outbox.leaseMs / 3)),
    );
    return {
      stop: async () => {
        clearInterval(timer);
        await renewing;
        return held;
      },
    };
  }

  /** A picture or clip whose alert was never sent (held back, failed, gone) is not sent either. */
  private async withoutItsAlert(row: OutboxRow, alert: OutboxRow | undefined): Promise<boolean> {
    if (alert?.state === 'sent') return false;
    const reason = `its alert was ${alert?.state ?? 'never sent'}`;
    if (await this.opts.outbox.close(row, 'suppressed', reason, false)) this.report(row, 'suppressed', { reason });
    return true;
  }

  private async failed(target: string, rows: OutboxRow[], failure: Failure): Promise<void> {
    const { outbox, giveUpAfterMs } = this.opts;
    const nowMs = this.now();
    let retried = false;
    for (const row of rows) {
      const attempts = row.attempts + 1;
      const tooOld = giveUpAfterMs > 0 && nowMs - row.createdMs >= giveUpAfterMs;
      if (!failure.retry || tooOld) {
        const reason = failure.retry ? `gave up after ${attempts} attempts: ${failure.reason}` : failure.reason;
        // False: another runtime took the row over (this claim ran out); its outcome is the one that counts.
        if (!(await outbox.close(row, 'failed', reason))) continue;
        this.stats.failed++;
        this.stats.lastGiveUp = failure.reason;
        this.report(row, 'failed', { reason, attempts });
        continue;
      }
      const next = nowMs + (failure.retryAfterMs ?? backoffMs(attempts, this.opts.backoff));
      // Later rows for this destination wait too: they would only fail the same way, and order matters.
      this.limiter.pause(target, next);
      if (!(await outbox.retry(row, failure.reason, next))) continue;
      this.stats.retries++;
      retried = true;
      this.report(row, 'retrying', { reason: `${failure.reason}; retry in ${Math.ceil((next - nowMs) / 1000)} s`, attempts });
    }
    // "Retrying" while rows wait for a retry; a refusal no retry mends is a failure, not a retry.
    this.stats.lastFailure = retried ? failure.reason : undefined;
  }

  private report(row: OutboxRow, status: DeliveryReport['status'], extra: Partial<DeliveryReport>): void {
    this.opts.report({
      status,
      channel: this.opts.channel.name,
      target: row.target,
      kind: row.item === 'alert' ? (row.payload as Alert).kind : row.item,
      deviceId: row.deviceId,
      eventId: row.eventId,
      attempts: row.attempts,
      outboxId: row.id,
      timeMs: this.now(),
      ...extra,
    });
  }

  private schedule(atMs: number): void {
    if (this.closed || atMs >= this.timerAt) return;
    this.clearTimer();
    this.timerAt = atMs;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.wake();
      },
      Math.max(0, atMs - this.now()),
    );
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
