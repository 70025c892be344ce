/**
 * Retention: deletes rows older than their table's setting without holding up ingest.
 *
 * Issue 18 measured the old way on a 2.7 GB file while ingesting 2,000 msg/s: chunks of
 * 5,000 rows found by scanning the table took 36–41 s for an hour of rows, held the write
 * lock for seconds (commit p99 26 ms → 1 s), and a run with nothing to delete still scanned
 * whole tables (1.2–3.0 s). Here:
 * - every delete finds its rows through an index: a time index for rowid tables, the
 *   primary key (key, time) per key for the WITHOUT ROWID ones (sensor readings and their
 *   roll-ups, stream health), so old rows are found without reading new ones;
 * - a check on the reader connection comes first (one index seek per table, per key for
 *   keyed tables), so a run with nothing due reads a few pages and takes no write lock;
 * - rows go in small batches (at most MAX_BATCH, fewer when a batch took longer than
 *   TARGET_BATCH_MS), each one the batch writer's exclusive task, committed without an fsync
 *   (withoutSync), followed by a pause as long as the batch: records queued meanwhile are
 *   committed before the next batch;
 * - freed pages are given back to the file system (PRAGMA incremental_vacuum), also in
 *   small steps, when the file was created with auto_vacuum = INCREMENTAL.
 * While ingest keeps the writer busy without a pause (saturation), batches wait for it:
 * retention yields, ingest does not.
 *
 * On PostgreSQL the same batches run (rows found by ctid instead of rowid), each in its own
 * transaction that does not wait for the disk, and nothing is given back to the file system
 * (autovacuum makes the space reusable). Several runtimes sharing one database would each
 * prune; the leader alone should (issue 21, item 4: not done here).
 */
import type { Reader } from './read-pool';
import type { StoreConnection } from './connection';
import { sqlOf, type SqlDialect } from './dialect';
import { SENSOR_LEVELS } from './sensor-levels';
import { pruneLoginFailures } from './login-failures';

export interface RetentionDays {
  activity: number;
  status: number;
  /** raw sensor readings */
  sensors: number;
  /** per-minute sensor roll-ups */
  sensorMinutes: number;
  /** per-hour sensor roll-ups */
  sensorHours: number;
  deadLetters: number;
}

/** A rowid table with an index on its time column. */
interface IndexedTable {
  table: string;
  time: string;
  unit: 'sec' | 'ms';
  days: keyof RetentionDays;
  /** rows that stay however old */
  keep?: string;
}

/** A WITHOUT ROWID table whose primary key is (key, time). */
interface KeyedTable {
  table: string;
  key: string;
  time: string;
  days: keyof RetentionDays;
}

export const INDEXED_TABLES: readonly IndexedTable[] = [
  // sort_ts: the start, else the stop, else when stored (an event whose start never came ages too).
  { table: 'activity_events', time: 'sort_ts', unit: 'sec', days: 'activity' },
  { table: 'status_events', time: 'timestamp', unit: 'sec', days: 'status' },
  { table: 'dead_letters', time: 'received_ms', unit: 'ms', days: 'deadLetters' },
  // Alerts still waiting to be delivered are never pruned, however old.
  { table: 'alerts_outbox', time: 'created_ms', unit: 'ms', days: 'activity', keep: "state IN ('pending', 'waiting')" },
  // Nor are commands still queued (they expire by their own time-to-live).
  { table: 'command_queue', time: 'created_ms', unit: 'ms', days: 'status', keep: "state = 'queued'" },
  // Migration 26's shared state: a row per device and metric, or per alert node, device and kind.
  // A limit state as old as the sensor readings is of a device long gone, or one out of range
  // for that long (its row goes, and its next reading alerts once more as a reminder); a
  // cooldown that old ran out long ago.
  { table: 'sensor_limit_states', time: 'time_ms', unit: 'ms', days: 'sensors' },
  { table: 'alert_cooldowns', time: 'sent_ms', unit: 'ms', days: 'status' },
];

export const KEYED_TABLES: readonly KeyedTable[] = [
  // Every level of sensor readings, raw and rolled up, each by its own setting.
  ...SENSOR_LEVELS.map(({ table, time, days }) => ({ table, key: 'device_id', time, days })),
  { table: 'stream_health', key: 'path', time: 'time_ms', days: 'status' },
];

/** Rows per delete at most, and the time one batch should take (it shrinks when slower). */
export const MAX_BATCH = 1000;
const MIN_BATCH = 50;
const TARGET_BATCH_MS = 20;
/** Pages (4 KiB) given back per step. */
const VACUUM_PAGES = 256;

export interface RetentionDeps {
  days: RetentionDays;
  /** runs a write on the writer connection between ingest batches */
  exclusive: <T>(task: (conn: StoreConnection) => Promise<T>) => Promise<T>;
  /** the connection for the checks (reads only) */
  reader: Reader;
  /** true once the store is closing: stop between batches */
  stopped: () => boolean;
}

// Table and column names below come from the constant lists above, never from input.

/** SQL of the cheap checks and the deletes, also for the query-plan test. */
export const retentionSql = {
  indexedDue: (t: IndexedTable) => `SELECT 1 AS due FROM ${t.table} WHERE ${t.time} < ?${t.keep ? ` AND NOT (${t.keep})` : ''} LIMIT 1`,
  /** rowid (SQLite) or ctid (PostgreSQL): `sql.rowId` */
  indexedDelete: (t: IndexedTable, sql: Pick<SqlDialect, 'rowId'> = sqlOf({ dialect: 'sqlite' })) =>
    `DELETE FROM ${t.table} WHERE ${sql.rowId} IN (SELECT ${sql.rowId} FROM ${t.table} WHERE ${t.time} < ?1${
      t.keep ? ` AND NOT (${t.keep})` : ''
    } ORDER BY ${t.time} LIMIT ?2)`,
  /** the keys with rows before the cutoff: a skip through the primary key, one seek per key */
  keyedDue: (t: KeyedTable) =>
    `WITH RECURSIVE k(id) AS (
       SELECT (SELECT min(${t.key}) FROM ${t.table})
       UNION ALL SELECT (SELECT min(${t.key}) FROM ${t.table} WHERE ${t.key} > k.id) FROM k WHERE k.id IS NOT NULL)
     SELECT id FROM k WHERE id IS NOT NULL AND (SELECT min(${t.time}) FROM ${t.table} WHERE ${t.key} = k.id) < ?`,
  /**
   * The time of the key's `?3 + 1`th oldest row before the cutoff, then a delete up to it: two
   * statements, because SQLite bounds a range by one upper bound only, and with both
   * `time < cutoff` and `time <= that` in one DELETE it walked every old row of the key.
   */
  keyedBound: (t: KeyedTable) =>
    `SELECT ${t.time} AS t FROM ${t.table} WHERE ${t.key} = ?1 AND ${t.time} < ?2 ORDER BY ${t.time} LIMIT 1 OFFSET ?3`,
  keyedDeleteThrough: (t: KeyedTable) => `DELETE FROM ${t.table} WHERE ${t.key} = ?1 AND ${t.time} <= ?2`,
  keyedDeleteBefore: (t: KeyedTable) => `DELETE FROM ${t.table} WHERE ${t.key} = ?1 AND ${t.time} < ?2`,
};

/** Deletes what is due in every table; returns the rows deleted. */
export async function pruneAll(deps: RetentionDeps, nowMs: number): Promise<number> {
  let deleted = 0;
  const batch = new BatchSize();
  for (const t of INDEXED_TABLES) {
    const cutoff = cutoffOf(deps.days[t.days], nowMs, t.unit);
    if (cutoff === undefined || !(await deps.reader.get(retentionSql.indexedDue(t), [cutoff]))) continue;
    deleted += await inBatches(deps, batch, (conn, size) => conn.run(retentionSql.indexedDelete(t, sqlOf(conn)), [cutoff, size]));
  }
  for (const t of KEYED_TABLES) {
    const cutoff = cutoffOf(deps.days[t.days], nowMs, 'ms');
    if (cutoff === undefined) continue;
    const keys = await deps.reader.all<{ id: string }>(retentionSql.keyedDue(t), [cutoff]);
    for (const { id } of keys) {
      deleted += await inBatches(deps, batch, async (conn, size) => {
        const bound = await conn.get<{ t: number }>(retentionSql.keyedBound(t), [id, cutoff, size - 1]);
        return bound
          ? conn.run(retentionSql.keyedDeleteThrough(t), [id, bound.t])
          : conn.run(retentionSql.keyedDeleteBefore(t), [id, cutoff]);
      });
    }
  }
  // Short-lived state, whatever the retention settings: failed logins of clients gone for a day.
  deleted += await pruneLoginFailures(deps.exclusive, deps.reader, nowMs);
  if (deleted > 0) await giveBackPages(deps);
  return deleted;
}

function cutoffOf(days: number, nowMs: number, unit: 'sec' | 'ms'): number | undefined {
  // 0 (or anything not positive) keeps forever.
  if (!(days > 0)) return undefined;
  const ms = nowMs - days * 86_400_000;
  return unit === 'sec' ? Math.floor(ms / 1000) : ms;
}

/** Runs `step` as exclusive tasks until a batch deletes fewer rows than it was allowed. */
async function inBatches(
  deps: RetentionDeps,
  batch: BatchSize,
  step: (conn: StoreConnection, size: number) => Promise<{ changes: number }>,
): Promise<number> {
  let deleted = 0;
  while (!deps.stopped()) {
    const size = batch.size;
    const { changes } = await deps.exclusive((conn) =>
      withoutSync(conn, async () => {
        // Timed inside the task: waiting for an ingest commit is not the batch's own time.
        const started = performance.now();
        const result = await step(conn, size);
        batch.took(performance.now() - started);
        return result;
      }),
    );
    deleted += changes;
    if (changes < size) break;
    // Leave the writer free as long as the batch held it: records arriving now are committed
    // without waiting behind the next batch, and ingest keeps half of the writer's time at
    // least. Retention still deletes far faster than ingest writes (bench/retention.ts).
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, batch.lastMs)));
  }
  return deleted;
}

/**
 * Runs a retention step with synchronous = NORMAL, then restores the store's setting. In WAL
 * mode NORMAL skips the fsync at commit: a power loss may undo the last deletes, which the
 * next run repeats, and never corrupts the file. The next ingest commit (FULL) syncs the WAL
 * with everything before it, so what ingest acknowledged stays as durable as before. The
 * fsync per batch was most of a batch's time on this machine's disk.
 */
async function withoutSync<T>(conn: StoreConnection, step: () => Promise<T>): Promise<T> {
  if (conn.dialect === 'postgres') return withoutFlush(conn, step);
  const before = (await conn.get<{ synchronous: number }>('PRAGMA synchronous'))?.synchronous ?? 2;
  await conn.exec('PRAGMA synchronous = NORMAL');
  try {
    return await step();
  } finally {
    // PRAGMA takes no bound parameters; the value is SQLite's own integer.
    await conn.exec(`PRAGMA synchronous = ${Math.trunc(before)}`);
  }
}

/**
 * PostgreSQL's equivalent: the step in a transaction of its own that does not wait for its WAL
 * to reach the disk (synchronous_commit off, for this transaction only). A crash may undo the
 * last deletes, never anything else; the next commit that waits flushes them with it.
 */
async function withoutFlush<T>(conn: StoreConnection, step: () => Promise<T>): Promise<T> {
  await conn.run('BEGIN');
  try {
    await conn.run('SET LOCAL synchronous_commit = off');
    const result = await step();
    await conn.run('COMMIT');
    return result;
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined /* the connection is gone: nothing to roll back */);
    throw err;
  }
}

/** The batch size, adjusted so that one batch holds the write lock about TARGET_BATCH_MS. */
class BatchSize {
  size = 250;
  lastMs = 0;
  took(ms: number): void {
    this.lastMs = ms;
    const scaled = Math.round((this.size * TARGET_BATCH_MS) / Math.max(ms, 1));
    this.size = Math.min(MAX_BATCH, Math.max(MIN_BATCH, Math.min(scaled, this.size * 2)));
  }
}

/** Shrinks the file by the pages retention freed, a few at a time (auto_vacuum = INCREMENTAL only). */
async function giveBackPages(deps: RetentionDeps): Promise<void> {
  // PostgreSQL: autovacuum makes the space reusable; the files shrink only by VACUUM FULL, by hand.
  if (deps.reader.dialect !== 'sqlite') return;
  const mode = await deps.reader.get<{ auto_vacuum: number }>('PRAGMA auto_vacuum');
  if (mode?.auto_vacuum !== 2) return;
  while (!deps.stopped()) {
    const free = await deps.exclusive((conn) =>
      withoutSync(conn, async () => {
        await conn.exec(`PRAGMA incremental_vacuum(${VACUUM_PAGES})`);
        return (await conn.get<{ freelist_count: number }>('PRAGMA freelist_count'))?.freelist_count ?? 0;
      }),
    );
    if (free === 0) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Files up to this size are switched to incremental auto-vacuum at open (a VACUUM of 64 MiB takes about a second). */
export const SWITCH_VACUUM_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Makes the file able to shrink: a new file gets auto_vacuum = INCREMENTAL before its first
 * table; a small existing one is rewritten once (VACUUM); a large one is left as it is and
 * false is returned: retention then reuses freed pages but the file does not shrink until
 * `sqlite3 FILE 'PRAGMA auto_vacuum = INCREMENTAL; VACUUM;'` runs once, with the runtime stopped.
 */
export async function enableShrinking(conn: StoreConnection, maxBytes = SWITCH_VACUUM_MAX_BYTES): Promise<boolean> {
  if ((await conn.get<{ auto_vacuum: number }>('PRAGMA auto_vacuum'))?.auto_vacuum === 2) return true;
  const pages = (await conn.get<{ page_count: number }>('PRAGMA page_count'))?.page_count ?? 0;
  const pageSize = (await conn.get<{ page_size: number }>('PRAGMA page_size'))?.page_size ?? 4096;
  if (pages === 0) {
    await conn.exec('PRAGMA auto_vacuum = INCREMENTAL');
    return true;
  }
  if (pages * pageSize > maxBytes) return false;
  await conn.exec('PRAGMA auto_vacuum = INCREMENTAL; VACUUM');
  return true;
}
