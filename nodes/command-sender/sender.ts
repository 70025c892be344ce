/**
 * The command sender without Node-RED: commands are committed to the queue
 * before they are accepted, published in the order they were accepted (so in
 * order per device), marked sent only once the broker took them, retried while
 * the broker is away, and expired with a reason when their time-to-live passes.
 * Rows still queued from before a restart are picked up at start.
 */
import { backoffMs } from '../lib/backoff';
import type { CommandCounts, CommandQueue, QueuedCommand } from '../lib/store/command-queue';
import type { CommandDraft } from './command-input';
import { PermanentError, type Transport } from './transport';
import { duration, ttlMs, type CommandTtls } from './ttl';

export type Outcome = 'sent' | 'expired' | 'failed';

export interface SenderEvents {
  /** a row reached a final state */
  finished(row: QueuedCommand, outcome: Outcome): void;
  /** counts or the broker state changed: time to redraw the status */
  changed(): void;
  /** something the operator should read in the log */
  warn(text: string): void;
}

export interface SenderDeps {
  queue: Pick<CommandQueue, 'enqueue' | 'queued' | 'markSent' | 'markAttemptFailed' | 'markFailed' | 'expire' | 'nextExpiry' | 'counts'>;
  /** the transport to use now (embedded when its broker is registered, else external, else one that says why not) */
  transport: () => Transport;
  ttls: CommandTtls;
  events: SenderEvents;
  now?: () => number;
}

const RETRY = { baseMs: 1000, maxMs: 15_000 };
const BATCH = 100;

export class CommandSender {
  counts: CommandCounts = { queued: 0, sent: 0, expired: 0, failed: 0 };
  private readonly now: () => number;
  private running?: Promise<void>;
  private again = false;
  private closed = false;
  private retries = 0;
  private retryTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  /** the row being published: never expired under the publish's feet */
  private inFlight?: number;

  constructor(private readonly deps: SenderDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Delivers what is still queued (from before a restart, too). */
  start(): void {
    this.kick();
  }

  /** Resolves once the command is committed; rejects when the store cannot commit it. */
  async accept(draft: CommandDraft): Promise<QueuedCommand> {
    const createdMs = this.now();
    const row = { ...draft, createdMs, expiresMs: createdMs + ttlMs(this.deps.ttls, draft.action) };
    await this.deps.queue.enqueue(row);
    this.kick();
    return { ...row, seq: 0, state: 'queued', attempts: 0, reason: null, sentMs: null };
  }

  /** The transport came back (or something was queued): deliver now. */
  kick(): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pump()
      .catch((err: Error) => {
        // The store failed: try again later rather than lose the queue.
        this.deps.events.warn(`command queue: ${err.message}`);
        this.retryLater();
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) this.kick();
        else void this.scheduleExpiry();
      });
  }

  /** Broker state for the status text. */
  brokerState(): string {
    return this.deps.transport().describe(this.now());
  }

  get brokerUp(): boolean {
    return this.deps.transport().up;
  }

  /** Stops timers and waits for the publish in progress. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.expiryTimer);
    await this.running;
  }

  private async pump(): Promise<void> {
    do {
      this.again = false;
      await this.expireDue();
      const rows = await this.deps.queue.queued(BATCH);
      if (rows.length === 0) break;
      const transport = this.deps.transport();
      if (!transport.up) {
        this.retryLater();
        break;
      }
      if (!(await this.publishAll(rows, transport))) break;
      if (rows.length === BATCH) this.again = true;
    } while (this.again && !this.closed);
    await this.refreshCounts();
  }

  /** Publishes in order; false when the broker failed (the rest waits, so order holds). */
  private async publishAll(rows: QueuedCommand[], transport: Transport): Promise<boolean> {
    for (const row of rows) {
      if (this.closed) return false;
      if (row.expiresMs <= this.now()) {
        this.again = true; // expireDue takes it on the next round, with its reason
        continue;
      }
      this.inFlight = row.seq;
      try {
        const { note } = await transport.publish(row.topic, Buffer.from(row.payload), row.deviceId);
        await this.deps.queue.markSent(row.seq, this.now(), note);
        this.retries = 0;
        this.finish({ ...row, state: 'sent', attempts: row.attempts + 1, reason: note ?? null, sentMs: this.now() }, 'sent');
      } catch (err) {
        const reason = (err as Error).message;
        if (err instanceof PermanentError) {
          await this.deps.queue.markFailed(row.seq, reason);
          this.finish({ ...row, state: 'failed', attempts: row.attempts + 1, reason }, 'failed');
          continue;
        }
        await this.deps.queue.markAttemptFailed(row.seq, reason);
        this.retryLater();
        return false;
      } finally {
        this.inFlight = undefined;
      }
    }
    return true;
  }

  private async expireDue(): Promise<void> {
    const nowMs = this.now();
    const transport = this.deps.transport();
    const why = (row: QueuedCommand) => {
      const ttl = `time-to-live ${duration(row.expiresMs - row.createdMs)}`;
      if (!transport.up) return `expired before delivery (${ttl}): ${transport.describe(nowMs)}`;
      return `expired before delivery (${ttl})${row.reason ? `: last attempt failed: ${row.reason}` : ''}`;
    };
    const expired = await this.deps.queue.expire(nowMs, why, this.inFlight);
    for (const row of expired) this.finish(row, 'expired');
  }

  private finish(row: QueuedCommand, outcome: Outcome): void {
    this.deps.events.finished(row, outcome);
  }

  private async refreshCounts(): Promise<void> {
    this.counts = await this.deps.queue.counts();
    this.deps.events.changed();
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer) return;
    this.retries++;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.kick();
      },
      backoffMs(this.retries, RETRY),
    );
  }

  /** Wakes up when the next queued row expires, so its state changes on time even with nothing else happening. */
  private async scheduleExpiry(): Promise<void> {
    if (this.closed) return;
    const next = await this.deps.queue.nextExpiry().catch(() => undefined /* the next pump reports store errors */);
    clearTimeout(this.expiryTimer);
    if (next === undefined || this.closed) return;
    this.expiryTimer = setTimeout(() => this.kick(), Math.max(50, next - this.now() + 10));
  }
}
