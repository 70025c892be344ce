/**
 * The alerts outbox: every alert an alert node accepts is a row here, one per
 * destination, committed before anything is sent, and marked sent only after
 * the channel accepted it. So a restart or an outage loses nothing, and a
 * destination that already got an alert never gets it again from a retry.
 *
 * Snapshots are rows too. One that arrives before its alert was sent is merged
 * into the alert (one photo message); one that arrives after is delivered as an
 * update of the sent message; one that arrives before its alert waits for it.
 *
 * Clips (issue 19) follow their alert the same way, but are never merged into it: a clip
 * whose alert is not sent yet waits (is deferred) until it is, so the chat sees the photo
 * first and then the video in its place; a clip whose alert was held back or failed goes nowhere.
 */
import type { ClipReadyPayload } from '../contract/recordings';
import type { Alert, AlertSnapshot } from '../types';
import type { StoreConnection } from './connection';

/**
 * pending: due at next_attempt_ms. sending: handed to the channel (a crash
 * leaves it here; it is pending again at the next start). waiting: a snapshot
 * waiting for its alert. The rest are final.
 */
export type OutboxState = 'pending' | 'sending' | 'waiting' | 'sent' | 'failed' | 'suppressed' | 'merged';
export type OutboxItem = 'alert' | 'snapshot' | 'clip';

/** What a row carries: the alert, snapshot or clip as it arrived (a clip's MP4 stays on disk, named by `file`). */
export type OutboxPayload = Alert | AlertSnapshot | ClipReadyPayload;

export interface OutboxRow {
  id: number;
  target: string;
  item: OutboxItem;
  deviceId: string;
  eventId?: string;
  /** the alert or snapshot as it arrived, without its image bytes */
  payload: OutboxPayload;
  image?: Buffer;
  silent: boolean;
  state: OutboxState;
  attempts: number;
  nextAttemptMs: number;
  createdMs: number;
  messageId?: number;
  hasPhoto: boolean;
  lastError?: string;
}

export interface NewDelivery {
  target: string;
  item: OutboxItem;
  /** unique per owner: a second delivery with the same key is a duplicate */
  dedupeKey: string;
  payload: OutboxPayload;
  image?: Buffer;
  silent?: boolean;
  deviceId: string;
  eventId?: string;
  /** `suppressed` rows are kept for the delivery log and for deduplication */
  suppressedBecause?: string;
}

export interface AddResult {
  id?: number;
  duplicate: boolean;
  /** the state the row starts in: a snapshot may be merged, waiting or suppressed at once */
  state?: OutboxState;
  reason?: string;
}

/** Runs a task on the store's writer connection, between ingest batches. */
export type Exclusive = <T>(task: (db: StoreConnection) => Promise<T>) => Promise<T>;
/**
 * Runs a task inside the next ingest transaction (BatchWriter.join), in a savepoint of its own;
 * resolves once that transaction committed.
 */
export type JoinRecords = <T>(task: (db: StoreConnection) => Promise<T>) => Promise<T>;

interface RawRow {
  id: number;
  target: string;
  item: OutboxItem;
  device_id: string;
  event_id: string | null;
  alert: string;
  image: Buffer | null;
  silent: number;
  state: OutboxState;
  attempts: number;
  next_attempt_ms: number;
  created_ms: number;
  message_id: number | null;
  has_photo: number;
  last_error: string | null;
}

const MERGED = 'added to its alert before it was sent';

const COLUMNS = `id, target, item, device_id, event_id, alert, image, silent, state, attempts, next_attempt_ms,
  created_ms, message_id, has_photo, last_error`;

/** What the delivery log shows; images stay out. */
export interface LogEntry {
  id: number;
  channel: string;
  target: string;
  item: OutboxItem;
  device_id: string;
  event_id: string | null;
  state: OutboxState;
  attempts: number;
  last_error: string | null;
  created_ms: number;
  sent_ms: number | null;
  message_id: number | null;
}

export class AlertOutbox {
  constructor(
    private readonly exclusive: Exclusive,
    readonly channel: string,
    /** the alert node's id: each node delivers only its own rows */
    readonly owner: string,
    /** how long a snapshot waits for its alert */
    private readonly snapshotWaitMs = 60_000,
    private readonly now: () => number = Date.now,
    /** where adds are committed; without it, in a transaction of their own */
    private readonly joinRecords: JoinRecords = (task) => this.transaction(task),
  ) {}

  /**
   * Adds deliveries; resolves with what became of each once they are committed. In the store
   * they join the next ingest transaction (EventStore.outbox): a transaction per alert was a
   * commit (an fsync) and four trips to SQLite's thread for every activity an alert node took,
   * more work than the activity's own row. One call that cannot be written fails alone.
   */
  add(deliveries: readonly NewDelivery[]): Promise<AddResult[]> {
    return this.joinRecords(async (db) => {
      const results: AddResult[] = [];
      for (const d of deliveries) results.push(await this.addOne(db, d));
      return results;
    });
  }

  /**
   * Rows due now, oldest first, at most `perTarget` for each destination, so a
   * long backlog for one chat cannot hide another chat's alerts.
   */
  async due(nowMs: number, perTarget = 50): Promise<OutboxRow[]> {
    const rows = await this.exclusive((db) =>
      db.all<RawRow>(
        `SELECT ${COLUMNS} FROM (
           SELECT *, ROW_NUMBER() OVER (PARTITION BY target ORDER BY id) AS nth FROM alerts_outbox
            WHERE owner = ? AND state IN ('pending', 'waiting') AND next_attempt_ms <= ?)
          WHERE nth <= ? ORDER BY id`,
        [this.owner, nowMs, perTarget],
      ),
    );
    return rows.map(toRow);
  }

  /** Rows handed to the channel when the process died: their fate is unknown, so they go again. */
  async recover(): Promise<number> {
    const { changes } = await this.exclusive((db) =>
      db.run(`UPDATE alerts_outbox SET state = 'pending' WHERE owner = ? AND state = 'sending'`, [this.owner]),
    );
    return changes;
  }

  /** The rows go to the channel now: a snapshot arriving meanwhile must not be merged into them. */
  async claim(rows: readonly OutboxRow[]): Promise<void> {
    await this.exclusive((db) =>
      db.run(
        `UPDATE alerts_outbox SET state = 'sending' WHERE id IN (${rows.map(() => '?').join(', ')})`,
        rows.map((r) => r.id),
      ),
    );
  }

  /** A snapshot whose alert went back to pending (a failed send): send them as one photo. */
  merge(snapshot: OutboxRow, alert: OutboxRow): Promise<void> {
    return this.transaction(async (db) => {
      await db.run(`UPDATE alerts_outbox SET image = ? WHERE id = ?`, [snapshot.image ?? null, alert.id]);
      await db.run(`UPDATE alerts_outbox SET state = 'merged', image = NULL, last_error = ? WHERE id = ?`, [MERGED, snapshot.id]);
    });
  }

  /** When the next row falls due; undefined when nothing waits. */
  async nextDueMs(): Promise<number | undefined> {
    const row = await this.exclusive((db) =>
      db.get<{ next: number | null }>(
        `SELECT MIN(next_attempt_ms) AS next FROM alerts_outbox WHERE owner = ? AND state IN ('pending', 'waiting')`,
        [this.owner],
      ),
    );
    return row?.next ?? undefined;
  }

  /** One of this node's rows (a button press names the alert it sits under); undefined for another node's or none. */
  async get(id: number): Promise<OutboxRow | undefined> {
    const row = await this.exclusive((db) =>
      db.get<RawRow>(`SELECT ${COLUMNS} FROM alerts_outbox WHERE owner = ? AND id = ?`, [this.owner, id]),
    );
    return row && toRow(row);
  }

  /** A clip whose alert is not sent yet: looked at again at `atMs` (or sooner, once the alert is sent). No attempt is counted. */
  async defer(row: OutboxRow, atMs: number): Promise<void> {
    await this.exclusive((db) => db.run(`UPDATE alerts_outbox SET state = 'pending', next_attempt_ms = ? WHERE id = ?`, [atMs, row.id]));
  }

  /** The alert row a snapshot belongs to: the same device's alert for the event (two cameras may share an event id). */
  async alertFor(target: string, deviceId: string, eventId: string): Promise<OutboxRow | undefined> {
    const row = await this.exclusive((db) => this.alertRow(db, target, deviceId, eventId));
    return row && toRow(row);
  }

  /**
   * The channel accepted `rows` as one message. A snapshot row also marks its
   * alert as carrying a photo now. With `recordEvent`, an activity alert's
   * message id goes into its activity_events row (seed 004's columns).
   */
  markSent(rows: readonly OutboxRow[], result: { messageId?: number; hasPhoto?: boolean }, recordEvent = false): Promise<void> {
    const nowMs = this.now();
    return this.transaction(async (db) => {
      for (const r of rows) {
        await db.run(
          `UPDATE alerts_outbox SET state = 'sent', sent_ms = ?, attempts = attempts + 1, message_id = ?, has_photo = ?,
             last_error = NULL, image = NULL WHERE id = ?`,
          [nowMs, result.messageId ?? null, result.hasPhoto ? 1 : 0, r.id],
        );
        if (r.item === 'snapshot' && r.eventId) {
          await db.run(
            `UPDATE alerts_outbox SET has_photo = 1 WHERE owner = ? AND target = ? AND device_id = ? AND event_id = ? AND item = 'alert'`,
            [this.owner, r.target, r.deviceId, r.eventId],
          );
        }
        if (r.item === 'clip' && r.eventId && result.messageId !== undefined) {
          // The video replaced the photo in the alert's own message: a later snapshot must answer it, not replace the video.
          await db.run(
            `UPDATE alerts_outbox SET has_photo = 0 WHERE owner = ? AND target = ? AND device_id = ? AND event_id = ? AND item = 'alert'
               AND message_id = ?`,
            [this.owner, r.target, r.deviceId, r.eventId, result.messageId],
          );
        }
        if (r.item === 'alert' && r.eventId) {
          // A clip that waited for this alert may go now.
          await db.run(
            `UPDATE alerts_outbox SET next_attempt_ms = ? WHERE owner = ? AND target = ? AND device_id = ? AND event_id = ?
               AND item = 'clip' AND state = 'pending' AND next_attempt_ms > ?`,
            [nowMs, this.owner, r.target, r.deviceId, r.eventId, nowMs],
          );
        }
        if (recordEvent && r.item === 'alert' && r.eventId && (r.payload as Alert).kind === 'activity' && result.messageId) {
          // The alert can beat its activity-start row to the database: an upsert
          // works in either order, and the start's own upsert leaves these columns alone.
          await db.run(
            `INSERT INTO activity_events (event_id, camera_id, telegram_msg_id, telegram_notified, created_at)
               VALUES (?, ?, ?, 1, ?)
             ON CONFLICT (camera_id, event_id) DO UPDATE SET
               telegram_msg_id = COALESCE(telegram_msg_id, excluded.telegram_msg_id), telegram_notified = 1`,
            [r.eventId, r.deviceId, result.messageId, Math.floor(nowMs / 1000)],
          );
        }
      }
    });
  }

  /** A transient failure: try again at `nextAttemptMs`. */
  async retry(row: OutboxRow, error: string, nextAttemptMs: number): Promise<void> {
    await this.exclusive((db) =>
      db.run(`UPDATE alerts_outbox SET state = 'pending', attempts = attempts + 1, last_error = ?, next_attempt_ms = ? WHERE id = ?`, [
        error,
        nextAttemptMs,
        row.id,
      ]),
    );
  }

  /** Given up (`failed`) or no longer wanted (`suppressed`): the row stays for the log, without its image. */
  async close(row: OutboxRow, state: 'failed' | 'suppressed', reason: string, attempted = true): Promise<void> {
    await this.exclusive((db) =>
      db.run(`UPDATE alerts_outbox SET state = ?, attempts = attempts + ?, last_error = ?, image = NULL WHERE id = ?`, [
        state,
        attempted ? 1 : 0,
        reason,
        row.id,
      ]),
    );
  }

  /** The newest rows of this owner, for a delivery log. */
  log(limit = 50): Promise<LogEntry[]> {
    return this.exclusive((db) =>
      db.all<LogEntry>(
        `SELECT id, channel, target, item, device_id, event_id, state, attempts, last_error, created_ms, sent_ms, message_id
           FROM alerts_outbox WHERE owner = ? ORDER BY id DESC LIMIT ?`,
        [this.owner, limit],
      ),
    );
  }

  private async addOne(db: StoreConnection, d: NewDelivery): Promise<AddResult> {
    const nowMs = this.now();
    let state: OutboxState = d.suppressedBecause ? 'suppressed' : 'pending';
    let reason = d.suppressedBecause;
    let image = d.image;
    let nextAttemptMs = nowMs;

    if (d.item === 'clip' && d.eventId && state === 'pending') {
      const alert = await this.alertRow(db, d.target, d.deviceId, d.eventId);
      if (!alert) {
        state = 'waiting';
        nextAttemptMs = nowMs + this.snapshotWaitMs;
      } else if (alert.state !== 'pending' && alert.state !== 'sending' && alert.state !== 'sent') {
        state = 'suppressed';
        reason = `its alert was ${alert.state}${alert.last_error ? ` (${alert.last_error})` : ''}`;
      }
    }
    if (d.item === 'snapshot' && d.eventId && state === 'pending') {
      const alert = await this.alertRow(db, d.target, d.deviceId, d.eventId);
      if (!alert) {
        state = 'waiting';
        nextAttemptMs = nowMs + this.snapshotWaitMs;
      } else if (alert.state === 'pending') {
        state = 'merged';
        reason = MERGED;
      } else if (alert.state !== 'sent' && alert.state !== 'sending') {
        state = 'suppressed';
        reason = `its alert was ${alert.state}${alert.last_error ? ` (${alert.last_error})` : ''}`;
      }
    }

    const { changes, lastID } = await db.run(
      `INSERT INTO alerts_outbox (dedupe_key, channel, owner, target, item, device_id, event_id, alert, image, silent,
         state, next_attempt_ms, last_error, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
      [
        `${this.owner}:${d.dedupeKey}`,
        this.channel,
        this.owner,
        d.target,
        d.item,
        d.deviceId,
        d.eventId ?? null,
        JSON.stringify(d.payload),
        state === 'merged' || state === 'suppressed' ? null : (image ?? null),
        d.silent ? 1 : 0,
        state,
        nextAttemptMs,
        reason ?? null,
        nowMs,
      ],
    );
    if (changes === 0) return { duplicate: true };

    if (state === 'merged' && image) {
      await db.run(
        `UPDATE alerts_outbox SET image = ? WHERE owner = ? AND target = ? AND device_id = ? AND event_id = ? AND item = 'alert'
           AND state = 'pending'`,
        [image, this.owner, d.target, d.deviceId, d.eventId!],
      );
    }
    if (d.item === 'alert' && d.eventId) await this.releaseWaitingClips(db, d, state, reason, nowMs);
    if (d.item === 'alert' && d.eventId && state === 'pending' && !image) {
      // A snapshot that came first has waited for this alert: send them as one photo.
      const waiting = await db.get<{ id: number; image: Buffer | null }>(
        `SELECT id, image FROM alerts_outbox WHERE owner = ? AND target = ? AND device_id = ? AND event_id = ? AND item = 'snapshot'
           AND state = 'waiting' ORDER BY id DESC LIMIT 1`,
        [this.owner, d.target, d.deviceId, d.eventId],
      );
      if (waiting?.image) {
        await db.run(`UPDATE alerts_outbox SET image = ? WHERE id = ?`, [waiting.image, lastID]);
        await db.run(
          `UPDATE alerts_outbox SET state = 'merged', image = NULL, last_error = ?
             WHERE owner = ? AND target = ? AND device_id = ? AND event_id = ? AND item = 'snapshot' AND state = 'waiting'`,
          [MERGED, this.owner, d.target, d.deviceId, d.eventId],
        );
      }
    }
    return { id: lastID, duplicate: false, state, reason };
  }

  /** A clip that came before its alert: it goes once the alert is sent, or nowhere if the alert is held back. */
  private async releaseWaitingClips(db: StoreConnection, d: NewDelivery, state: OutboxState, reason: string | undefined, nowMs: number) {
    const where = `owner = ? AND target = ? AND device_id = ? AND event_id = ? AND item = 'clip' AND state = 'waiting'`;
    const args = [this.owner, d.target, d.deviceId, d.eventId!];
    if (state === 'pending')
      await db.run(`UPDATE alerts_outbox SET state = 'pending', next_attempt_ms = ? WHERE ${where}`, [nowMs, ...args]);
    else
      await db.run(`UPDATE alerts_outbox SET state = 'suppressed', last_error = ? WHERE ${where}`, [
        `its alert was ${state}: ${reason ?? ''}`,
        ...args,
      ]);
  }

  private alertRow(db: StoreConnection, target: string, deviceId: string, eventId: string): Promise<RawRow | undefined> {
    return db.get<RawRow>(
      // An event may have two alert rows (one held back, then its update sent: Alert.update):
      // its pictures and clip go with the newest one that was not held back.
      `SELECT ${COLUMNS} FROM alerts_outbox WHERE owner = ? AND target = ? AND device_id = ? AND event_id = ? AND item = 'alert'
         ORDER BY state = 'suppressed', id DESC LIMIT 1`,
      [this.owner, target, deviceId, eventId],
    );
  }

  private transaction<T>(task: (db: StoreConnection) => Promise<T>): Promise<T> {
    return this.exclusive(async (db) => {
      await db.run('BEGIN IMMEDIATE');
      try {
        const result = await task(db);
        await db.run('COMMIT');
        return result;
      } catch (err) {
        await db.run('ROLLBACK').catch(() => undefined /* SQLite already rolled back */);
        throw err;
      }
    });
  }
}

function toRow(r: RawRow): OutboxRow {
  return {
    id: r.id,
    target: r.target,
    item: r.item,
    deviceId: r.device_id,
    eventId: r.event_id ?? undefined,
    payload: JSON.parse(r.alert) as OutboxPayload,
    image: r.image ?? undefined,
    silent: r.silent === 1,
    state: r.state,
    attempts: r.attempts,
    nextAttemptMs: r.next_attempt_ms,
    createdMs: r.created_ms,
    messageId: r.message_id ?? undefined,
    hasPhoto: r.has_photo === 1,
    lastError: r.last_error ?? undefined,
  };
}
