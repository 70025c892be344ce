/**
 * GET /api/sensors/{id}: a device's readings between two times as at most `points` points.
 *
 * Each point is as wide as the range divided by `points`. Points of a minute or more come
 * from the roll-ups migration 13 keeps as readings arrive (sensor_minute, sensor_hour), so a
 * year is read from 8,760 hour rows instead of millions of readings (issue 18: a week of one
 * device took 125 ms bucketed from raw rows). Shorter points come from the raw readings. When
 * the chosen level no longer reaches back to `from` (raw readings are kept for days, minutes
 * for weeks, hours for a year or more) and a coarser one does, the coarser one answers.
 */
import type { SensorHistory, SensorPoint } from '../contract/dashboard-api';
import type { Reader } from './read-pool';
import { SENSOR_LEVELS as LEVELS, type SensorLevel as Level } from './sensor-levels';

export interface SensorHistoryQuery {
  deviceId: string;
  fromMs: number;
  toMs: number;
  points: number;
}

export async function sensorHistory(db: Reader, q: SensorHistoryQuery): Promise<SensorHistory> {
  const wantedMs = Math.ceil((q.toMs - q.fromMs + 1) / q.points);
  const answer = { deviceId: q.deviceId, from: q.fromMs, to: q.toMs };
  // Few readings in a long range (a Pi that reports rarely) are shown one by one, as they are.
  if ((await reachingBack(db, q, 0)) === 0 && (await rawCountUpTo(db, q, q.points + 1)) <= q.points) {
    return { ...answer, resolution: 'raw', ...(await fromRaw(db, q, wantedMs)) };
  }
  const i = await reachingBack(
    db,
    q,
    LEVELS.findLastIndex((l) => l.ms <= wantedMs),
  );
  const level = LEVELS[i]!;
  if (level.ms === 0) return { ...answer, resolution: 'raw', ...(await fromRaw(db, q, wantedMs)) };
  // Whole roll-up rows per point, counted from the row that holds `from`.
  const bucketMs = Math.ceil(wantedMs / level.ms) * level.ms;
  const anchor = Math.floor(q.fromMs / level.ms) * level.ms;
  const readings = await db.all<SensorPoint>(
    // sqlite3 binds JS numbers as REAL: the CASTs keep the bucket division integral (BIGINT:
    // PostgreSQL's INTEGER is 32 bits; SQLite reads both as INTEGER).
    `SELECT CAST(?1 AS BIGINT) + ((bucket_ms - CAST(?1 AS BIGINT)) / CAST(?2 AS BIGINT)) * CAST(?2 AS BIGINT) AS time_ms,
            ${ROLLUP_COLUMNS}
       FROM ${level.table} WHERE device_id = ?3 AND bucket_ms BETWEEN ?1 AND ?4
      GROUP BY 1 ORDER BY 1`,
    [anchor, bucketMs, q.deviceId, q.toMs],
  );
  return { ...answer, resolution: level.resolution, bucketMs, readings };
}

/** The raw readings in the range, counted up to `limit` (reads at most `limit` rows). */
async function rawCountUpTo(db: Reader, q: SensorHistoryQuery, limit: number): Promise<number> {
  const row = await db.get<{ n: number }>(
    'SELECT count(*) AS n FROM (SELECT 1 FROM sensor_readings WHERE device_id = ? AND time_ms BETWEEN ? AND ? LIMIT ?) AS capped',
    [q.deviceId, q.fromMs, q.toMs, limit],
  );
  return row?.n ?? 0;
}

const metrics = ['temperature', 'humidity', 'pressure'] as const;

/** Means from the rows' sums and counts (NULL where a metric had no value), min of mins, max of maxes. */
const ROLLUP_COLUMNS = [
  ...metrics.map((m) => `sum(${m}_sum) / nullif(sum(${m}_n), 0) AS ${m}`),
  'sum(samples) AS samples',
  ...metrics.flatMap((m) => [`min(${m}_min) AS ${m}_min`, `max(${m}_max) AS ${m}_max`]),
].join(', ');

const RAW_COLUMNS = [
  'temperature',
  'humidity',
  'pressure',
  '1 AS samples',
  ...metrics.flatMap((m) => [`${m} AS ${m}_min`, `${m} AS ${m}_max`]),
].join(', ');

const RAW_BUCKET_COLUMNS = [
  ...metrics.map((m) => `avg(${m}) AS ${m}`),
  'count(*) AS samples',
  ...metrics.flatMap((m) => [`min(${m}) AS ${m}_min`, `max(${m}) AS ${m}_max`]),
].join(', ');

/** Raw readings one by one when there are at most `points`, else averaged into buckets from `from`. */
async function fromRaw(db: Reader, q: SensorHistoryQuery, wantedMs: number): Promise<{ bucketMs: number; readings: SensorPoint[] }> {
  const range = [q.deviceId, q.fromMs, q.toMs];
  const count = await db.get<{ n: number }>(
    'SELECT count(*) AS n FROM sensor_readings WHERE device_id = ? AND time_ms BETWEEN ? AND ?',
    range,
  );
  if ((count?.n ?? 0) <= q.points) {
    const readings = await db.all<SensorPoint>(
      `SELECT time_ms, ${RAW_COLUMNS} FROM sensor_readings WHERE device_id = ? AND time_ms BETWEEN ? AND ? ORDER BY time_ms`,
      range,
    );
    return { bucketMs: 0, readings };
  }
  const readings = await db.all<SensorPoint>(
    `SELECT CAST(?1 AS BIGINT) + ((time_ms - CAST(?1 AS BIGINT)) / CAST(?2 AS BIGINT)) * CAST(?2 AS BIGINT) AS time_ms,
            ${RAW_BUCKET_COLUMNS}
       FROM sensor_readings WHERE device_id = ?3 AND time_ms BETWEEN ?1 AND ?4
      GROUP BY 1 ORDER BY 1`,
    [q.fromMs, wantedMs, q.deviceId, q.toMs],
  );
  return { bucketMs: wantedMs, readings };
}

/**
 * The level to read: `i`, or a coarser one while `i`'s oldest row is after `from` and the
 * coarser level holds older rows (the finer ones were pruned, or never existed).
 */
async function reachingBack(db: Reader, q: SensorHistoryQuery, i: number): Promise<number> {
  while (i < LEVELS.length - 1) {
    const finer = await oldest(db, LEVELS[i]!, q.deviceId);
    if (finer !== null && finer <= q.fromMs) break;
    const next = LEVELS[i + 1]!;
    const coarser = await oldest(db, next, q.deviceId);
    if (coarser === null || (finer !== null && coarser >= Math.floor(finer / next.ms) * next.ms)) break;
    i++;
  }
  return i;
}

/** One primary-key seek: the device's first row at this level. */
async function oldest(db: Reader, level: Level, deviceId: string): Promise<number | null> {
  const row = await db.get<{ t: number | null }>(`SELECT min(${level.time}) AS t FROM ${level.table} WHERE device_id = ?`, [deviceId]);
  return row?.t ?? null;
}
