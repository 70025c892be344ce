/**
 * The event store: one SQLite file in WAL mode, a writer connection with group
 * commit and a small pool of read connections for queries (WAL lets readers run
 * beside the writer, and the pool lets them run beside each other). Owned by the
 * `picam-database` config node; usable without Node-RED.
 *
 * Given a database URL instead of a file, the same store runs on PostgreSQL (the cluster role,
 * issue 21): several runtimes share one database, each with its own writer and readers. Every
 * part runs on both engines: ingest, the API's queries, figures, sensor history, retention and
 * every sub-store below (docs/data.md, "PostgreSQL").
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULTS } from '../settings';
import type { StoreRecord } from '../types';
import { BatchWriter, type WriteCallback } from './batch-writer';
import { CommandQueue, type Exclusive } from './command-queue';
import { AlertOutbox } from './outbox';
import * as queries from './queries';
import { migrate } from './schema';
import { Connection } from './sqlite';
import type { Dialect, StoreConnection } from './connection';
import { openPostgresReaders, PgConnection, scrubbed } from './postgres';
import { redactText } from '../redact';
import { ReadPool } from './read-pool';
import { IpCameraStore } from './ip-cameras';
import { UploadStore } from './uploads';
import { RecordingStore } from './recordings';
import { PushSubscriptionStore } from './push-subscriptions';
import { AccessStore } from './access';
import { LoginFailureStore } from './login-failures';
import { SettingsOverrideStore } from './settings-overrides';
import { SensorLimitStates } from './sensor-limit-states';
import { AlertCooldowns } from './alert-cooldowns';
import { sqlOf } from './dialect';
import type { SecretBox } from '../secret-box';
import { enableShrinking, pruneAll, type RetentionDays } from './retention';
import { sweepConnections, type SweepLimits, type SweptDevice } from './connection-sweep';

export type { RetentionDays } from './retention';

export interface StoreOptions {
  /** SQLite: the database file (or ':memory:'); unused when `url` is given */
  file?: string;
  /**
   * PostgreSQL: `postgres://user:password@host:port/database` (settings.ts PICAM_DB_URL, the
   * picam-database node's credential). Never logged: `EventStore.file` shows it without the password.
   */
  url?: string;
  maxBatch?: number;
  maxDelayMs?: number;
  /** "FULL" survives power loss; "NORMAL" only process crashes */
  synchronous?: 'FULL' | 'NORMAL';
  retention?: Partial<RetentionDays>;
  /** read connections the queries share (settings.ts `readConnections`) */
  readConnections?: number;
  /** an older file up to this size is rewritten once at open so that retention can shrink it */
  switchVacuumMaxBytes?: number;
}

export const DEFAULT_RETENTION: RetentionDays = {
  activity: DEFAULTS.retainActivityDays,
  status: DEFAULTS.retainStatusDays,
  sensors: DEFAULTS.retainSensorDays,
  sensorMinutes: DEFAULTS.retainSensorMinuteDays,
  sensorHours: DEFAULTS.retainSensorHourDays,
  deadLetters: DEFAULTS.retainDeadLetterDays,
};

export class EventStore {
  private constructor(
    /** where the data is, for messages: the SQLite file, or the PostgreSQL URL without its password */
    readonly file: string,
    private readonly writerConn: StoreConnection,
    private readonly readers: ReadPool,
    readonly writer: BatchWriter,
    readonly retention: RetentionDays,
    /** false: a large file made before incremental auto-vacuum; retention cannot shrink it (retention.ts) */
    readonly shrinks: boolean,
  ) {}

  static async open(opts: StoreOptions): Promise<EventStore> {
    if (opts.url) return EventStore.openPostgres(opts, opts.url);
    if (!opts.file) throw new Error('the event store needs a database file or a PostgreSQL URL');
    if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
    const w = await Connection.open(opts.file);
    let shrinks = false;
    try {
      await w.exec('PRAGMA busy_timeout = 5000');
      shrinks = await enableShrinking(w, opts.switchVacuumMaxBytes);
      await w.exec(`PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;`);
      await w.exec(`PRAGMA synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
      await migrate(w);
    } catch (err) {
      await w.close();
      throw err;
    }
    let r: ReadPool;
    try {
      r = await ReadPool.open(opts.file, opts.readConnections ?? DEFAULTS.readConnections);
    } catch (err) {
      await w.close();
      throw err;
    }
    const writer = new BatchWriter(w, { maxBatch: opts.maxBatch ?? 2000, maxDelayMs: opts.maxDelayMs ?? 20 });
    return new EventStore(opts.file, w, r, writer, { ...DEFAULT_RETENTION, ...opts.retention }, shrinks);
  }

  /**
   * PostgreSQL: a writer connection (migrations first: runtimes starting together take turns,
   * schema.ts) and a read pool. Durability is the server's (synchronous_commit), not `synchronous`.
   */
  private static async openPostgres(opts: StoreOptions, url: string): Promise<EventStore> {
    const w = await PgConnection.open({ url, applicationName: 'picam-guardian writer' });
    let r: ReadPool;
    try {
      await migrate(w);
      r = await openPostgresReaders(url, opts.readConnections ?? DEFAULTS.readConnections, 'picam-guardian reader');
    } catch (err) {
      await w.close();
      throw scrubbed(err, url);
    }
    const writer = new BatchWriter(w, { maxBatch: opts.maxBatch ?? 2000, maxDelayMs: opts.maxDelayMs ?? 20 });
    // PostgreSQL's autovacuum gives freed space back: nothing to switch on.
    return new EventStore(redactText(url), w, r, writer, { ...DEFAULT_RETENTION, ...opts.retention }, true);
  }

  /** Which engine holds the data. */
  get dialect(): Dialect {
    return this.writerConn.dialect;
  }

  /** The read connections every query uses (a statement of one's own: `reads.use(...)`). */
  get reads(): ReadPool {
    return this.readers;
  }

  /** `callback` runs after the record's transaction committed. */
  write(record: StoreRecord, callback: WriteCallback): void {
    this.writer.write(record, callback);
  }

  /** `callback` runs once after the records' one transaction committed (BatchWriter.writeMany). */
  writeMany(records: readonly StoreRecord[], callback: WriteCallback): void {
    this.writer.writeMany(records, callback);
  }

  writeAsync(record: StoreRecord): Promise<void> {
    return new Promise((resolve, reject) => this.write(record, (err) => (err ? reject(err) : resolve())));
  }

  /** One of the API's read queries; its answer is typed by kind (queries.QueryResults). */
  query<K extends queries.QueryKind>(
    kind: K,
    params: queries.QueryParams = {},
    scope: queries.QueryScope = {},
  ): Promise<queries.QueryResults[K]> {
    return this.run(kind, params, scope) as Promise<queries.QueryResults[K]>;
  }

  private run(
    kind: queries.QueryKind,
    params: queries.QueryParams,
    scope: queries.QueryScope,
  ): Promise<queries.QueryResults[queries.QueryKind]> {
    switch (kind) {
      case 'cameras':
        return queries.cameras(this.readers, params, scope);
      case 'events':
        return queries.events(this.readers, params);
      case 'sensors':
        return queries.sensors(this.readers, params);
      case 'dead-letters':
        return queries.deadLetters(this.readers, params);
      case 'alerts':
        return queries.alerts(this.readers, params);
      case 'streams':
        return queries.streams(this.readers, params);
      case 'status':
        return queries.status(this.readers);
      case 'commands':
        return queries.commands(this.readers, params);
      default:
        return Promise.reject(new queries.QueryError(400, `unknown query "${String(kind)}" (expected ${queries.QUERY_KINDS.join(', ')})`));
    }
  }

  /** The outbox of one alert node (`owner`, its node id) on one channel. */
  outbox(channel: string, owner: string, snapshotWaitMs?: number): AlertOutbox {
    // Its adds join the next record transaction: an alert costs no commit of its own.
    return new AlertOutbox(
      (task) => this.writer.exclusive(task),
      channel,
      owner,
      snapshotWaitMs,
      Date.now,
      (task) => this.writer.join(task),
    );
  }

  /** The command queue of one command-sender node (`owner`, its node id). */
  commandQueue(owner: string): CommandQueue {
    return new CommandQueue((task) => this.writer.exclusive(task), owner);
  }

  /** The camera gateway's registered cameras and upload files. */
  uploads(): UploadStore {
    return (this.uploadStore ??= new UploadStore((task) => this.writer.exclusive(task), this.readers));
  }

  /** The IP cameras added through the API (migration 10). */
  ipCameras(): IpCameraStore {
    return new IpCameraStore((task) => this.writer.exclusive(task), this.readers);
  }

  /** The recorder's segments and event clips (migration 14). */
  recordings(): RecordingStore {
    return (this.recordingStore ??= new RecordingStore((task) => this.writer.exclusive(task), this.readers));
  }

  /** Web Push's VAPID keys (the private one sealed with `box`) and browser subscriptions (migration 18). */
  pushSubscriptions(box?: SecretBox): PushSubscriptionStore {
    return new PushSubscriptionStore((task) => this.writer.exclusive(task), box);
  }

  /** Users, API tokens and sessions made through the admin pages (migration 19). */
  access(): AccessStore {
    return new AccessStore((task) => this.writer.exclusive(task), this.readers);
  }

  /** Failed logins per client (migration 27), for a count several runtimes share (nodes/lib/login-limiter.ts). */
  loginFailures(): LoginFailureStore {
    return new LoginFailureStore((task) => this.writer.exclusive(task), this.readers);
  }

  /** What the admin pages set (migration 24): alert channels, retention. */
  settingsOverrides(): SettingsOverrideStore {
    return new SettingsOverrideStore((task) => this.writer.exclusive(task));
  }

  /**
   * Which side of its limits each device's sensors were last on (migration 26): one object per
   * store, so every processor on it agrees, and their changes queued for the same transaction
   * share one statement.
   */
  sensorLimitStates(): Promise<SensorLimitStates> {
    if (this.limitStates) return this.limitStates;
    const opening = SensorLimitStates.open(
      (task) => this.writer.exclusive(task),
      (task) => this.writer.join(task),
      sqlOf(this.writerConn).shared,
    );
    this.limitStates = opening;
    // A failed open is tried again by the next caller.
    opening.catch(() => this.limitStates === opening && (this.limitStates = undefined));
    return opening;
  }

  /** The cooldowns of one alert node (`owner`, its node id; migration 26), claimed with its outbox rows. */
  alertCooldowns(owner: string): AlertCooldowns {
    return new AlertCooldowns(owner);
  }

  /** The audit log (migration 20): appendAudit / listAudit in audit.ts, on the writer's connection. */
  readonly auditLog: Exclusive = (task) => this.writer.exclusive(task);

  /** Every device the store knows, or those of `ids`: names, modes, zones and connection state (queries.knownDevices). */
  knownDevices(ids?: readonly string[]) {
    return queries.knownDevices(this.readers, ids);
  }

  /** Claims the online/offline announcements due now (connection-sweep.ts): the leader's sweep, when runtimes share the store. */
  sweepConnections(limits: SweepLimits): Promise<SweptDevice[]> {
    return this.writer.exclusive((db) => sweepConnections(db, limits));
  }

  /**
   * Deletes rows older than the retention settings (0 days keeps forever) in small indexed
   * batches between ingest commits, then gives the freed pages back (retention.ts). A run
   * asked for while one is going joins it. Returns rows deleted.
   */
  prune(nowMs = Date.now()): Promise<number> {
    this.pruning ??= pruneAll(
      {
        days: this.retention,
        exclusive: (task) => this.writer.exclusive(task),
        reader: this.readers,
        stopped: () => this.closing !== undefined,
      },
      nowMs,
    ).finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  /** Commits what is queued, then closes every connection. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await this.pruning?.catch(() => undefined /* reported to its caller */);
        await this.writer.close();
        await this.readers.close();
        if (this.dialect === 'sqlite') await this.writerConn.run('PRAGMA wal_checkpoint(TRUNCATE)');
        await this.writerConn.close();
      })();
    }
    return this.closing;
  }

  private closing?: Promise<void>;
  private pruning?: Promise<number>;
  private uploadStore?: UploadStore;
  private recordingStore?: RecordingStore;
  private limitStates?: Promise<SensorLimitStates>;
}
