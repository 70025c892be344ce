/**
 * The event store: one SQLite file in WAL mode, a writer connection with group
 * commit and a small pool of read connections for queries (WAL lets readers run
 * beside the writer, and the pool lets them run beside each other). Owned by the
 * `picam-database` config node; usable without Node-RED.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULTS } from '../settings';
import type { StoreRecord } from '../types';
import { BatchWriter, type WriteCallback } from './batch-writer';
import { CommandQueue } from './command-queue';
import { AlertOutbox } from './outbox';
import * as queries from './queries';
import { migrate } from './schema';
import { Connection } from './sqlite';
import { ReadPool } from './read-pool';
import { IpCameraStore } from './ip-cameras';
import { UploadStore } from './uploads';

export interface RetentionDays {
  activity: number;
  status: number;
  sensors: number;
  deadLetters: number;
}

export interface StoreOptions {
  file: string;
  maxBatch?: number;
  maxDelayMs?: number;
  /** "FULL" survives power loss; "NORMAL" only process crashes */
  synchronous?: 'FULL' | 'NORMAL';
  retention?: Partial<RetentionDays>;
  /** read connections the queries share (settings.ts `readConnections`) */
  readConnections?: number;
}

export const DEFAULT_RETENTION: RetentionDays = {
  activity: DEFAULTS.retainActivityDays,
  status: DEFAULTS.retainStatusDays,
  sensors: DEFAULTS.retainSensorDays,
  deadLetters: DEFAULTS.retainDeadLetterDays,
};

export class EventStore {
  private constructor(
    readonly file: string,
    private readonly writerConn: Connection,
    private readonly readers: ReadPool,
    readonly writer: BatchWriter,
    readonly retention: RetentionDays,
  ) {}

  static async open(opts: StoreOptions): Promise<EventStore> {
    if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
    const w = await Connection.open(opts.file);
    try {
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
    return new EventStore(opts.file, w, r, writer, { ...DEFAULT_RETENTION, ...opts.retention });
  }

  /** The read connections every query uses (a statement of one's own: `reads.use(...)`). */
  get reads(): ReadPool {
    return this.readers;
  }

  /** `callback` runs after the record's transaction committed. */
  write(record: StoreRecord, callback: WriteCallback): void {
    this.writer.write(record, callback);
  }

  writeAsync(record: StoreRecord): Promise<void> {
    return new Promise((resolve, reject) => this.write(record, (err) => (err ? reject(err) : resolve())));
  }

  /** One of the API's read queries; its answer is typed by kind (queries.QueryResults). */
  query<K extends queries.QueryKind>(kind: K, params: queries.QueryParams = {}): Promise<queries.QueryResults[K]> {
    return this.run(kind, params) as Promise<queries.QueryResults[K]>;
  }

  private run(kind: queries.QueryKind, params: queries.QueryParams): Promise<queries.QueryResults[queries.QueryKind]> {
    switch (kind) {
      case 'cameras':
        return queries.cameras(this.readers);
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
    return new AlertOutbox((task) => this.writer.exclusive(task), channel, owner, snapshotWaitMs);
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

  knownDevices() {
    return queries.knownDevices(this.readers);
  }

  /** Deletes rows older than the retention settings (0 days keeps forever). Returns rows deleted. */
  async prune(nowMs = Date.now()): Promise<number> {
    const day = 86_400_000;
    const cutoffs: Array<[string, string, number, 'sec' | 'ms']> = [
      ['activity_events', 'start_timestamp', this.retention.activity, 'sec'],
      ['status_events', 'timestamp', this.retention.status, 'sec'],
      ['sensor_readings', 'time_ms', this.retention.sensors, 'ms'],
      ['stream_health', 'time_ms', this.retention.status, 'ms'],
      ['dead_letters', 'received_ms', this.retention.deadLetters, 'ms'],
      // Alerts still waiting to be delivered are never pruned, however old.
      ['alerts_outbox', 'created_ms', this.retention.activity, 'ms'],
      // So are commands still queued (they expire by their own time-to-live).
      ['command_queue', 'created_ms', this.retention.status, 'ms'],
    ];
    let deleted = 0;
    for (const [table, column, days, unit] of cutoffs) {
      if (!(days > 0)) continue;
      const cutoff = unit === 'sec' ? Math.floor((nowMs - days * day) / 1000) : nowMs - days * day;
      // Small chunks keep each write lock short, so ingest never waits long.
      for (;;) {
        const { changes } = await this.writer.exclusive((db) =>
          db.run(
            table === 'sensor_readings'
              ? `DELETE FROM sensor_readings WHERE (device_id, time_ms) IN
                   (SELECT device_id, time_ms FROM sensor_readings WHERE time_ms < ? LIMIT 5000)`
              : table === 'stream_health'
                ? `DELETE FROM stream_health WHERE (path, time_ms) IN (SELECT path, time_ms FROM stream_health WHERE time_ms < ? LIMIT 5000)`
                : `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${column} < ?${
                    table === 'alerts_outbox'
                      ? " AND state NOT IN ('pending', 'waiting')"
                      : table === 'command_queue'
                        ? " AND state != 'queued'"
                        : ''
                  } LIMIT 5000)`,
            [cutoff],
          ),
        );
        deleted += changes;
        if (changes < 5000) break;
      }
    }
    return deleted;
  }

  /** Commits what is queued, then closes every connection. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await this.writer.close();
        await this.readers.close();
        await this.writerConn.run('PRAGMA wal_checkpoint(TRUNCATE)');
        await this.writerConn.close();
      })();
    }
    return this.closing;
  }

  private closing?: Promise<void>;
  private uploadStore?: UploadStore;
}
