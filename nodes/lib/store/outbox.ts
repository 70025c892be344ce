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
 *
 * Shared by several runtimes (PostgreSQL, the cluster role, issue 21): every runtime runs the
 * same alert node (the same owner) over the same rows, so a row goes to the channel only once it
 * is claimed: `claim` takes the destination (one send in flight per destination across runtimes)
 * and the rows (`FOR UPDATE SKIP LOCKED`) with a lease, and while a row is `sending` its
 * next_attempt_ms is that lease: when another runtime may take it back (`recover`, `due`), if its
 * sender renews it no more (`renew`). A sender killed mid-send therefore has its rows sent again
 * once the lease ran out: at least once, never lost (docs/alerts.md, "Several runtimes"). The
 * channel's pace (Telegram's second per chat, minute per group, second per bot) is kept across
 * runtimes the same way: each answer is written to outbox_destinations while its rows are claimed
 * (`spaced`), and a claim the pace does not allow yet is refused until it does (`refusal`).
 * SQLite's file has one runtime: no lease, and `recover` at start takes back every `sending` row.
 */
import type { SendLimits } from '../alerts/send-limiter';
import type { ClipReadyPayload } from '../contract/recordings';
import type { Alert, AlertSnapshot } from '../types';
import type { SqlValue, StoreConnection } from './connection';
import { sqlOf } from './dialect';
import { DestinationPace, type AnsweredSend, type Refusal } from './outbox-pace';

export type { AnsweredSend, Refusal } from './outbox-pace';

/**
 * pending: due at next_attempt_ms. sending: handed to the channel (a crash
 * leaves it here; it is pending again at the next start, or in a shared store once its
 * lease, next_attempt_ms, ran out). waiting: a snapshot waiting for its alert. The rest are final.
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
  /**
   * Claimed in a shared store (several runtimes): the lease, until when the row is this
   * runtime's to send (equal to nextAttemptMs). The sender renews it while the send runs.
   */
  leaseUntilMs?: number;
}

/**
 * How long a claim in a shared store holds without renewal: a runtime that died mid-send has its
 * rows taken over this long after its last renewal. The dispatcher renews every third of it, so a
 * slow upload (a 50 MB clip) keeps its rows as long as its runtime lives.
 */
export const DEFAULT_LEASE_MS = 60_000;

/** Advisory lock kind of an outbox destination (dialect.ts tryTransactionLock): "obx" in ASCII. */
const DESTINATION_LOCK = 0x6f6278;

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

/**
 * Runs first in the transaction that writes an `add`'s rows, when one of them would be sent: a
 * reason it answers holds them all back (a cooldown already running, alert-cooldowns.ts). What
 * it wrote is rolled back with the rows when they cannot be written.
 */
export type AddGate = (db: StoreConnection) => Promise<string | undefined>;

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
  /** rows taken back from a sender that died mid-send (`recover`, and in a shared store `due`): each is sent again */
  recovered = 0;
  /** the channel's pace across runtimes (a shared store) */
  private readonly pace: DestinationPace;

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
    /** a claim's lease in a shared store (DEFAULT_LEASE_MS) */
    readonly leaseMs = DEFAULT_LEASE_MS,
  ) {
    this.pace = new DestinationPace(owner);
  }

  /**
   * Adds deliveries; resolves with what became of each once they are committed. In the store
   * they join the next ingest transaction (EventStore.outbox): a transaction per alert was a
   * commit (an fsync) and four trips to SQLite's thread for every activity an alert node took,
   * more work than the activity's own row. One call that cannot be written fails alone.
   */
  add(deliveries: readonly NewDelivery[], gate?: AddGate): Promise<AddResult[]> {
    return this.joinRecords(async (db) => {
      const open = deliveries.filter((d) => !d.suppressedBecause);
      // A redelivered alert whose rows are all in already sends nothing: it must not start a cooldown.
      const heldBack = gate && open.length > 0 && !(await this.allStored(db, open)) ? await gate(db) : undefined;
      const results: AddResult[] = [];
      for (const d of deliveries) {
        results.push(await this.addOne(db, heldBack && !d.suppressedBecause ? { ...d, suppressedBecause: heldBack } : d));
      }
      return results;
    });
  }

  /**
   * Rows due now, oldest first, at most `perTarget` for each destination, so a
   * long backlog for one chat cannot hide another chat's alerts. A row waits while an older
   * row for its destination waits for a later retry than its own (one deferred on purpose, a
   * clip waiting for its alert, does not hold the rest): a chat gets
   * its alerts in order, after a restart too, not only while the sender's memory holds the
   * destination back. In a shared store, rows whose lease ran out are taken back first, and a
   * destination another runtime is sending to now is left out (its sender goes on with it;
   * nextDueMs says when to look again).
   */
  async due(nowMs: number, perTarget = 50): Promise<OutboxRow[]> {
    const rows = await this.exclusive(async (db) => {
      const shared = sqlOf(db).shared;
      if (shared) await this.takeBack(db, nowMs);
      const busy = shared
        ? `AND NOT EXISTS (SELECT 1 FROM alerts_outbox s WHERE s.owner = o.owner AND s.target = o.target AND s.state = 'sending'
             AND s.next_attempt_ms > ?3)`
        : '';
      return db.all<RawRow>(
        `SELECT ${COLUMNS} FROM (
           SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.target ORDER BY o.id) AS nth FROM alerts_outbox o
            WHERE o.owner = ?1 AND o.state IN ('pending', 'waiting') AND o.next_attempt_ms <= ?3 ${busy}
              AND NOT EXISTS (SELECT 1 FROM alerts_outbox e WHERE e.owner = o.owner AND e.target = o.target
                AND e.state = 'pending' AND e.attempts > 0 AND e.id < o.id AND e.next_attempt_ms > ?3)) AS d
          WHERE nth <= ?2 ORDER BY id`,
        [this.owner, perTarget, nowMs],
      );
    });
    return rows.map(toRow);
  }

  /**
   * Rows handed to the channel when their sender died: their fate is unknown, so they go again.
   * SQLite (one runtime): every `sending` row, at start. A shared store: only rows whose lease
   * ran out (another runtime may be sending the rest right now).
   */
  async recover(): Promise<number> {
    return this.exclusive(async (db) => {
      if (sqlOf(db).shared) return this.takeBack(db, this.now());
      const { changes } = await db.run(`UPDATE alerts_outbox SET state = 'pending' WHERE owner = ? AND state = 'sending'`, [this.owner]);
      this.recovered += changes;
      return changes;
    });
  }

  /**
   * The rows go to the channel now: a snapshot arriving meanwhile must not be merged into them.
   * Answers the rows as claimed (send those, then finish them with markSent, retry, close,
   * defer, merge or release), or none when they are not this runtime's to send: in a shared
   * store another runtime is sending to the destination, or took one of the rows first, or the
   * channel's `limits` allow no send to it yet (its spacing, its group window, the overall window,
   * counted over every runtime's sends: `refusal` says until when).
   */
  async claim(rows: readonly OutboxRow[], limits?: SendLimits): Promise<OutboxRow[]> {
    if (rows.length === 0) return [];
    return this.exclusive(async (db) => {
      if (sqlOf(db).shared) return this.claimShared(db, rows, limits);
      await db.run(`UPDATE alerts_outbox SET state = 'sending' WHERE id IN (${marks(rows)})`, ids(rows));
      return rows.map((r) => ({ ...r, state: 'sending' as const }));
    });
  }

  /**
   * A send to `target` was answered: in a shared store, no runtime's claim takes the destination
   * before `notBeforeMs` (its last answer plus the channel's spacing, or a pause the channel asked
   * for), and the answer counts in the channel's windows (`answered`): the destination's own when
   * it is a group, and the owner's overall one. Called while the send's rows are still claimed, so
   * no claim comes between the answer and this. One runtime (SQLite) paces in its SendLimiter
   * alone: nothing to write.
   */
  async spaced(target: string, notBeforeMs: number, answered?: AnsweredSend): Promise<void> {
    if (!this.pace.mustRecord(target, notBeforeMs, answered)) return;
    await this.exclusive(async (db) => {
      if (sqlOf(db).shared) await within(db, () => this.pace.record(db, target, notBeforeMs, answered));
    });
  }

  /** Why the last claim of `target` was refused for the channel's pace (shared store), once; undefined if it was not. */
  refusal(target: string): Refusal | undefined {
    return this.pace.refusal(target);
  }

  /**
   * Keeps claimed rows while their send runs (a shared store; elsewhere they are kept anyway).
   * Answers the rows with their new lease, or undefined when the lease was lost (it ran out and
   * another runtime took them: this send will be a double, docs/alerts.md).
   */
  async renew(rows: readonly OutboxRow[]): Promise<OutboxRow[] | undefined> {
    if (rows.every((r) => r.leaseUntilMs === undefined)) return [...rows];
    const leaseUntilMs = this.now() + this.leaseMs;
    return this.transaction(async (db) => {
      for (const r of rows) {
        const { changes } = await db.run(
          `UPDATE alerts_outbox SET next_attempt_ms = ? WHERE id = ? AND state = 'sending' AND next_attempt_ms = ?`,
          [leaseUntilMs, r.id, r.nextAttemptMs],
        );
        if (changes === 0) throw new LeaseLost();
      }
      return rows.map((r) => ({ ...r, nextAttemptMs: leaseUntilMs, leaseUntilMs }));
    }).catch((err: unknown) => {
      if (err instanceof LeaseLost) return undefined;
      throw err;
    });
  }

  /** Claimed rows not sent after all (their alert changed meanwhile): due again at once. */
  async release(rows: readonly OutboxRow[]): Promise<void> {
    const nowMs = this.now();
    await this.exclusive(async (db) => {
      for (const r of rows)
        await db.run(`UPDATE alerts_outbox SET state = 'pending', next_attempt_ms = ? WHERE ${AS_SEEN}`, [nowMs, ...asSeen(r)]);
    });
  }

  /**
   * A snapshot whose alert went back to pending (a failed send): send them as one photo. False
   * when the alert is not pending any more (the snapshot stays as it was).
   */
  merge(snapshot: OutboxRow, alert: OutboxRow): Promise<boolean> {
    return this.transaction(async (db) => {
      const moved = await db.run(`UPDATE alerts_outbox SET image = ? WHERE id = ? AND state = 'pending'`, [
        snapshot.image ?? null,
        alert.id,
      ]);
      if (moved.changes === 0) return false;
      const { changes } = await db.run(`UPDATE alerts_outbox SET state = 'merged', image = NULL, last_error = ? WHERE ${AS_SEEN}`, [
        MERGED,
        ...asSeen(snapshot),
      ]);
      if (changes === 0) throw new LeaseLost();
      return true;
    }).catch((err: unknown) => {
      if (err instanceof LeaseLost) return false;
      throw err;
    });
  }

  /**
   * When the next row falls due; undefined when nothing waits. In a shared store also when a
   * lease runs out (a destination another runtime sends to, or a runtime that died mid-send).
   * `afterMs` is when the caller last looked for due rows: a row that fell due since (a snapshot's
   * wait, a retry's backoff running out while the caller worked) counts, so it is not slept past;
   * one already due then and still pending is another runtime's to send (shared store only).
   */
  async nextDueMs(afterMs = this.now()): Promise<number | undefined> {
    const row = await this.exclusive((db) =>
      sqlOf(db).shared
        ? db.get<{ next: number | null }>(
            `SELECT MIN(next_attempt_ms) AS next FROM alerts_outbox
              WHERE owner = ? AND (state = 'sending' OR (state IN ('pending', 'waiting') AND next_attempt_ms > ?))`,
            [this.owner, afterMs],
          )
        : // Only times still to come: a row past its time that waits behind an older one's retry (due) is
          // sent after that one, whose time is among these; counting it would leave no later time to wake for.
          db.get<{ next: number | null }>(
            `SELECT MIN(next_attempt_ms) AS next FROM alerts_outbox WHERE owner = ? AND state IN ('pending', 'waiting') AND next_attempt_ms > ?`,
            [this.owner, afterMs],
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
    await this.exclusive((db) =>
      db.run(`UPDATE alerts_outbox SET state = 'pending', next_attempt_ms = ? WHERE ${AS_SEEN}`, [atMs, ...asSeen(row)]),
    );
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
               telegram_msg_id = COALESCE(activity_events.telegram_msg_id, excluded.telegram_msg_id), telegram_notified = 1`,
            [r.eventId, r.deviceId, result.messageId, Math.floor(nowMs / 1000)],
          );
        }
      }
    });
  }

  /**
   * A transient failure: try again at `nextAttemptMs`. This and `close` change the row only as it
   * was seen (claimed, or waiting): false when another runtime took it meanwhile (it decides).
   */
  async retry(row: OutboxRow, error: string, nextAttemptMs: number): Promise<boolean> {
    const { changes } = await this.exclusive((db) =>
      db.run(`UPDATE alerts_outbox SET state = 'pending', attempts = attempts + 1, last_error = ?, next_attempt_ms = ? WHERE ${AS_SEEN}`, [
        error,
        nextAttemptMs,
        ...asSeen(row),
      ]),
    );
    return changes > 0;
  }

  /** Given up (`failed`) or no longer wanted (`suppressed`): the row stays for the log, without its image. */
  async close(row: OutboxRow, state: 'failed' | 'suppressed', reason: string, attempted = true): Promise<boolean> {
    const { changes } = await this.exclusive((db) =>
      db.run(`UPDATE alerts_outbox SET state = ?, attempts = attempts + ?, last_error = ?, image = NULL WHERE ${AS_SEEN}`, [
        state,
        attempted ? 1 : 0,
        reason,
        ...asSeen(row),
      ]),
    );
    return changes > 0;
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

  private async allStored(db: StoreConnection, deliveries: readonly NewDelivery[]): Promise<boolean> {
    const keys = deliveries.map((d) => `${this.owner}:${d.dedupeKey}`);
    const row = await db.get<{ n: number }>(`SELECT count(*) AS n FROM alerts_outbox WHERE dedupe_key IN (${marks(keys)})`, keys);
    return (row?.n ?? 0) === keys.length;
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

    // get, not run: SQLite's run reports no change for a statement with RETURNING.
    const inserted = await db.get<{ id: number }>(
      `INSERT INTO alerts_outbox (dedupe_key, channel, owner, target, item, device_id, event_id, alert, image, silent,
         state, next_attempt_ms, last_error, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
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
    if (!inserted) return { duplicate: true };
    const id = inserted.id;

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
        await db.run(`UPDATE alerts_outbox SET image = ? WHERE id = ?`, [waiting.image, id]);
        await db.run(
          `UPDATE alerts_outbox SET state = 'merged', image = NULL, last_error = ?
             WHERE owner = ? AND target = ? AND device_id = ? AND event_id = ? AND item = 'snapshot' AND state = 'waiting'`,
          [MERGED, this.owner, d.target, d.deviceId, d.eventId],
        );
      }
    }
    return { id, duplicate: false, state, reason };
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

  /** Rows whose lease ran out (a shared store): pending again, due at once. */
  private async takeBack(db: StoreConnection, nowMs: number): Promise<number> {
    const { changes } = await db.run(
      `UPDATE alerts_outbox SET state = 'pending' WHERE owner = ? AND state = 'sending' AND next_attempt_ms <= ?`,
      [this.owner, nowMs],
    );
    this.recovered += changes;
    return changes;
  }

  /**
   * One destination, one send in flight, whichever runtime sends: the destination's lock for
   * this transaction (a runtime claiming it at the same moment gets none), no live lease on it,
   * the channel's pace allowing a send (`refuse`), and every row still pending and not locked by
   * another transaction; then the lease.
   */
  private async claimShared(db: StoreConnection, rows: readonly OutboxRow[], limits?: SendLimits): Promise<OutboxRow[]> {
    const sql = sqlOf(db);
    const target = rows[0]!.target;
    const nowMs = this.now();
    const leaseUntilMs = nowMs + this.leaseMs;
    await db.run(sql.beginWrite);
    try {
      const lock = await db.get<{ got: number }>(sql.tryTransactionLock(DESTINATION_LOCK), [`${this.owner}\n${target}`]);
      const busy =
        !lock?.got ||
        (await db.get(
          `SELECT 1 AS busy FROM alerts_outbox WHERE owner = ? AND target = ? AND state = 'sending' AND next_attempt_ms > ? LIMIT 1`,
          [this.owner, target, nowMs],
        )) ||
        (await this.pace.refuse(db, target, nowMs, limits));
      const free = busy
        ? []
        : await db.all<{ id: number }>(
            `SELECT id FROM alerts_outbox WHERE id IN (${marks(rows)}) AND owner = ? AND target = ? AND state = 'pending' ${sql.lockSkipLocked}`,
            [...ids(rows), this.owner, target],
          );
      if (free.length !== rows.length) {
        await db.run('ROLLBACK');
        return [];
      }
      const claimed = await db.all<RawRow>(
        `UPDATE alerts_outbox SET state = 'sending', next_attempt_ms = ? WHERE id IN (${marks(rows)}) RETURNING ${COLUMNS}`,
        [leaseUntilMs, ...ids(rows)],
      );
      await db.run('COMMIT');
      return claimed.sort((a, b) => a.id - b.id).map((r) => ({ ...toRow(r), leaseUntilMs }));
    } catch (err) {
      await db.run('ROLLBACK').catch(() => undefined /* the error above is the one to report */);
      throw err;
    }
  }

  private transaction<T>(task: (db: StoreConnection) => Promise<T>): Promise<T> {
    return this.exclusive((db) => within(db, () => task(db)));
  }
}

/** Runs `task` in a write transaction on `db`: committed when it resolves, rolled back when it throws. */
async function within<T>(db: StoreConnection, task: () => Promise<T>): Promise<T> {
  await db.run(sqlOf(db).beginWrite);
  try {
    const result = await task();
    await db.run('COMMIT');
    return result;
  } catch (err) {
    await db.run('ROLLBACK').catch(() => undefined /* SQLite already rolled back */);
    throw err;
  }
}

/** A claim lost to another runtime, inside a transaction: rolls it back. */
class LeaseLost extends Error {}

const marks = (rows: readonly unknown[]) => rows.map(() => '?').join(', ');

const ids = (rows: readonly OutboxRow[]) => rows.map((r) => r.id);

/**
 * A row changes only as it was last seen: its state and next_attempt_ms (while `sending` in a
 * shared store, the lease) are as this runtime left them, so a runtime whose lease ran out
 * cannot undo what the one that took the row over decided.
 */
const AS_SEEN = 'id = ? AND state = ? AND next_attempt_ms = ?';
const asSeen = (r: OutboxRow): SqlValue[] => [r.id, r.state, r.nextAttemptMs];

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
