/**
 * The command queue: a device command is a row here, committed before the API
 * answers 202, and it stays `queued` until the broker accepted it (`sent`), its
 * time-to-live passed (`expired`) or the broker refused it for good (`failed`).
 * Each command-sender node owns its rows, so a restart picks up exactly what it
 * had queued.
 */
import type { StoreConnection } from './connection';

export type CommandState = 'queued' | 'sent' | 'expired' | 'failed';
export const COMMAND_STATES: readonly CommandState[] = ['queued', 'sent', 'expired', 'failed'];

export interface NewCommand {
  /** the request id the API returns and the device sees in the payload */
  commandId: string;
  deviceId: string;
  /** setmode, reboot, settings-update (mqtt-processor's), or another flow's topic tail */
  action: string;
  topic: string;
  /** the JSON the device receives */
  payload: string;
  createdMs: number;
  expiresMs: number;
}

export interface QueuedCommand extends NewCommand {
  seq: number;
  state: CommandState;
  attempts: number;
  reason: string | null;
  sentMs: number | null;
}

export type CommandCounts = Record<CommandState, number>;

/** Runs a task on the store's writer connection, between ingest batches. */
export type Exclusive = <T>(task: (db: StoreConnection) => Promise<T>) => Promise<T>;

const COLUMNS = `seq, command_id AS commandId, device_id AS deviceId, action, topic, payload, created_ms AS createdMs,
  expires_ms AS expiresMs, state, attempts, reason, sent_ms AS sentMs`;

export class CommandQueue {
  constructor(
    private readonly exclusive: Exclusive,
    /** the command-sender node whose rows these are */
    private readonly owner: string,
  ) {}

  /**
   * Commits the command. A newer mode change makes the device's older queued
   * ones pointless (the device should end in the newest mode): they expire,
   * saying which command replaced them.
   */
  async enqueue(c: NewCommand): Promise<void> {
    await this.exclusive(async (db) => {
      await db.exec('BEGIN IMMEDIATE');
      try {
        if (c.action === 'setmode') {
          await db.run(
            `UPDATE command_queue SET state = 'expired', reason = ?
              WHERE owner = ? AND device_id = ? AND action = 'setmode' AND state = 'queued'`,
            [`superseded by ${c.commandId} before delivery`, this.owner, c.deviceId],
          );
        }
        await db.run(
          `INSERT INTO command_queue (command_id, owner, device_id, action, topic, payload, created_ms, expires_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [c.commandId, this.owner, c.deviceId, c.action, c.topic, c.payload, c.createdMs, c.expiresMs],
        );
        await db.exec('COMMIT');
      } catch (err) {
        await db.exec('ROLLBACK').catch(() => undefined /* the insert's error is the one to report */);
        throw err;
      }
    });
  }

  /** The oldest queued rows, in the order they were accepted (so in order per device). */
  async queued(limit = 100): Promise<QueuedCommand[]> {
    return this.exclusive((db) =>
      db.all<QueuedCommand>(`SELECT ${COLUMNS} FROM command_queue WHERE owner = ? AND state = 'queued' ORDER BY seq LIMIT ?`, [
        this.owner,
        limit,
      ]),
    );
  }

  /** The broker accepted it. `note` says what else is known (the device was offline). */
  async markSent(seq: number, nowMs: number, note?: string): Promise<void> {
    await this.exclusive((db) =>
      db.run(`UPDATE command_queue SET state = 'sent', sent_ms = ?, attempts = attempts + 1, reason = ? WHERE seq = ?`, [
        nowMs,
        note ?? null,
        seq,
      ]),
    );
  }

  /** An attempt that did not reach the broker: the row stays queued, with the reason. */
  async markAttemptFailed(seq: number, reason: string): Promise<void> {
    await this.exclusive((db) =>
      db.run(`UPDATE command_queue SET attempts = attempts + 1, reason = ? WHERE seq = ? AND state = 'queued'`, [reason, seq]),
    );
  }

  /** Refused for good (a retry would be refused again). */
  async markFailed(seq: number, reason: string): Promise<void> {
    await this.exclusive((db) =>
      db.run(`UPDATE command_queue SET state = 'failed', attempts = attempts + 1, reason = ? WHERE seq = ?`, [reason, seq]),
    );
  }

  /**
   * Expires every queued row whose time-to-live has passed, except `keep` (the
   * row being published right now). `reason` says why for each row.
   */
  async expire(nowMs: number, reason: (row: QueuedCommand) => string, keep?: number): Promise<QueuedCommand[]> {
    return this.exclusive(async (db) => {
      const due = await db.all<QueuedCommand>(
        `SELECT ${COLUMNS} FROM command_queue WHERE owner = ? AND state = 'queued' AND expires_ms <= ? AND seq != ? ORDER BY seq`,
        [this.owner, nowMs, keep ?? -1],
      );
      for (const row of due) {
        row.state = 'expired';
        row.reason = reason(row);
        await db.run(`UPDATE command_queue SET state = 'expired', reason = ? WHERE seq = ? AND state = 'queued'`, [row.reason, row.seq]);
      }
      return due;
    });
  }

  /** When the next queued row expires (undefined: nothing queued). */
  async nextExpiry(): Promise<number | undefined> {
    const row = await this.exclusive((db) =>
      db.get<{ t: number | null }>(`SELECT min(expires_ms) AS t FROM command_queue WHERE owner = ? AND state = 'queued'`, [this.owner]),
    );
    return row?.t ?? undefined;
  }

  async counts(): Promise<CommandCounts> {
    const rows = await this.exclusive((db) =>
      db.all<{ state: CommandState; n: number }>(`SELECT state, count(*) AS n FROM command_queue WHERE owner = ? GROUP BY state`, [
        this.owner,
      ]),
    );
    const counts: CommandCounts = { queued: 0, sent: 0, expired: 0, failed: 0 };
    for (const r of rows) if (r.state in counts) counts[r.state] = r.n;
    return counts;
  }
}
