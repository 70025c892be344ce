/**
 * npm run bench, retention and sensor-history case (issue 18, items 2 and 3).
 *
 * A store is filled through the real schema (migration 13's roll-up triggers included) with
 * a backlog of old rows: a year of one Pi's readings every BENCH_SENSOR_STEP_S (10 s) and
 * BENCH_STATUS_BACKLOG (500,000) heartbeats of 200 cameras from 60 to 31 days ago. Then:
 *   1. /api/sensors for a day, a week, a month and a year: the query the API runs now
 *      (roll-ups chosen by range) beside the previous one (raw readings bucketed per request)
 *   2. ingest at BENCH_RETENTION_RATE (2,000) records/s of 600 Pis and 200 cameras for
 *      BENCH_RETENTION_S (20 s) with no retention running: committed records/s, per-second
 *      p99 of the time from write() to the commit callback
 *   3. the same ingest while retention deletes the backlog (EventStore.prune), kept up
 *      until the prune has finished; then a prune with nothing due, timed
 *   4. the same on a copy of the filled file with the previous prune (5,000-row chunks found
 *      by scanning), for the side by side (BENCH_RETENTION_LEGACY=0 skips it)
 * Records go straight into EventStore (the picam-database node's store): retention competes
 * with ingest for SQLite's write lock and the batch writer's slot, which is all this measures;
 * the MQTT and Node-RED path upstream adds CPU per message (npm run bench's ingest case) but
 * does not touch the lock.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../nodes/lib/store/sqlite';
import { EventStore } from '../nodes/lib/store/store';
import type { StoreRecord } from '../nodes/lib/types';
import { machine } from './machine';

const RATE = Number(process.env.BENCH_RETENTION_RATE ?? 2000);
const PHASE_S = Number(process.env.BENCH_RETENTION_S ?? 20);
const SENSOR_STEP_S = Number(process.env.BENCH_SENSOR_STEP_S ?? 10);
const STATUS_BACKLOG = Number(process.env.BENCH_STATUS_BACKLOG ?? 500_000);
const LEGACY = process.env.BENCH_RETENTION_LEGACY !== '0';
const DAY = 86_400_000;
const YEAR_PI = 'pi-year';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The backlog, written with INSERT … SELECT from a counter, 200,000 rows per transaction. */
async function fill(store: EventStore, nowMs: number): Promise<number> {
  const readings = Math.floor((365 * DAY) / (SENSOR_STEP_S * 1000));
  const chunk = 200_000;
  const counted = (sql: string, params: number[]) =>
    store.writer.exclusive(async (c) => {
      await c.exec('BEGIN IMMEDIATE');
      await c.run(sql, params);
      await c.exec('COMMIT');
    });
  for (let from = 0; from < readings; from += chunk) {
    await counted(
      `WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)
       INSERT INTO sensor_readings (device_id, time_ms, temperature, humidity, pressure)
       SELECT '${YEAR_PI}', ?3 + i * ?4, 20 + 5 * sin(i / 2880.0), 50 + (i % 7), 1000 + (i % 13) FROM n`,
      [from, Math.min(readings, from + chunk), nowMs - 365 * DAY, SENSOR_STEP_S * 1000],
    );
  }
  for (let from = 0; from < STATUS_BACKLOG; from += chunk) {
    await counted(
      `WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)
       INSERT INTO status_events (camera_id, event_type, status, timestamp, client_id, battery_level, raw_payload, created_at)
       SELECT 'cam-' || (i % 200), 'heartbeat', 'online', CAST((?3 + i * ?4) / 1000 AS INTEGER), 'cam-' || (i % 200), 80,
              '{"batteryLevel":80,"status":"online","signal":-60}', CAST((?3 + i * ?4) / 1000 AS INTEGER) FROM n`,
      [from, Math.min(STATUS_BACKLOG, from + chunk), nowMs - 60 * DAY, Math.floor((29 * DAY) / STATUS_BACKLOG)],
    );
  }
  await store.writeAsync({ kind: 'sensor', deviceId: YEAR_PI, deviceType: 'picam', timeMs: nowMs, temperature: 20 });
  return readings + STATUS_BACKLOG;
}

// ---- /api/sensors: now and before

/** The query /api/sensors ran before issue 18: raw readings bucketed per request. */
async function rawBuckets(db: Connection, fromMs: number, toMs: number, points: number): Promise<number> {
  const bucketMs = Math.ceil((toMs - fromMs + 1) / points);
  const rows = await db.all(
    `SELECT CAST(? AS INTEGER) + ((time_ms - CAST(? AS INTEGER)) / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS time_ms,
            avg(temperature) AS temperature, avg(humidity) AS humidity, avg(pressure) AS pressure, count(*) AS samples
       FROM sensor_readings WHERE device_id = ? AND time_ms BETWEEN ? AND ?
      GROUP BY (time_ms - CAST(? AS INTEGER)) / CAST(? AS INTEGER) ORDER BY 1`,
    [fromMs, fromMs, bucketMs, bucketMs, YEAR_PI, fromMs, toMs, fromMs, bucketMs],
  );
  return rows.length;
}

async function timed(run: () => Promise<unknown>, times = 15): Promise<{ p50: number; p95: number }> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(ms.length / 2)]!, p95: ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.95) - 1)]! };
}

interface HistoryRow {
  range: string;
  resolution: string;
  points: number;
  now: { p50: number; p95: number };
  before: { p50: number; p95: number };
}

async function sensorHistory(store: EventStore, nowMs: number): Promise<HistoryRow[]> {
  const reader = await Connection.open(store.file, true);
  const out: HistoryRow[] = [];
  for (const [range, days] of [
    ['day', 1],
    ['week', 7],
    ['month', 30],
    ['year', 365],
  ] as const) {
    const q = { deviceId: YEAR_PI, from: nowMs - days * DAY, to: nowMs, points: 500 };
    const answer = await store.query('sensors', q);
    out.push({
      range,
      resolution: answer.resolution,
      points: answer.readings.length,
      now: await timed(() => store.query('sensors', q)),
      before: await timed(() => rawBuckets(reader, q.from, q.to, q.points)),
    });
  }
  await reader.close();
  return out;
}

// ---- ingest with and without retention

interface IngestResult {
  label: string;
  seconds: number;
  committedPerS: number;
  /** per-second p99 of write → commit, ms: median and worst second */
  p99Median: number;
  p99Worst: number;
  maxMs: number;
  pruneS?: number;
  pruned?: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? 0;

/** Writes RATE records/s (every 10 ms a slice) until `until` resolves and at least `minS` passed. */
async function ingest(store: EventStore, label: string, minS: number, during?: () => Promise<number>): Promise<IngestResult> {
  const perSecond: number[][] = [];
  let committed = 0;
  let k = 0;
  const started = performance.now();
  let stop = false;
  const writer = (async () => {
    let tick = 0;
    while (!stop) {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE);
      for (; k < due; k++) {
        const t = performance.now();
        const second = Math.floor((t - started) / 1000);
        const i = k;
        const record: StoreRecord =
          i % 5 === 4
            ? { kind: 'heartbeat', deviceId: `cam-${i % 200}`, deviceType: 'hive-cam', timeMs: Date.now(), online: true, raw: '{}' }
            : { kind: 'sensor', deviceId: `pi-${i % 600}`, deviceType: 'picam', timeMs: Date.now() + (i % 1000), temperature: 21 };
        store.write(record, (err) => {
          if (err) throw err;
          committed++;
          (perSecond[second] ??= []).push(performance.now() - t);
        });
      }
      tick++;
      await sleep(Math.max(0, started + tick * 10 - performance.now()));
    }
  })();
  let pruneS: number | undefined;
  let pruned: number | undefined;
  await sleep(2000);
  if (during) {
    const t = performance.now();
    pruned = await during();
    pruneS = (performance.now() - t) / 1000;
  }
  await sleep(Math.max(0, started + minS * 1000 - performance.now()));
  stop = true;
  await writer;
  await store.writer.flush();
  const seconds = (performance.now() - started) / 1000;
  // The last second is partial: left out of the per-second figures.
  const p99s = perSecond.slice(0, -1).map((ms) =>
    percentile(
      ms.sort((a, b) => a - b),
      0.99,
    ),
  );
  const sortedP99 = [...p99s].sort((a, b) => a - b);
  return {
    label,
    seconds,
    committedPerS: committed / seconds,
    p99Median: percentile(sortedP99, 0.5),
    p99Worst: sortedP99.at(-1) ?? 0,
    maxMs: perSecond.reduce((m, ms) => ms.reduce((a, b) => Math.max(a, b), m), 0),
    pruneS,
    pruned,
  };
}

/** EventStore.prune before issue 18, kept here as the baseline: 5,000-row chunks found by scanning. */
async function legacyPrune(store: EventStore, nowMs = Date.now()): Promise<number> {
  const r = store.retention;
  const cutoffs: Array<[string, string, number, 'sec' | 'ms']> = [
    ['activity_events', 'start_timestamp', r.activity, 'sec'],
    ['status_events', 'timestamp', r.status, 'sec'],
    ['sensor_readings', 'time_ms', r.sensors, 'ms'],
    ['stream_health', 'time_ms', r.status, 'ms'],
    ['dead_letters', 'received_ms', r.deadLetters, 'ms'],
  ];
  let deleted = 0;
  for (const [table, column, days, unit] of cutoffs) {
    const cutoff = unit === 'sec' ? Math.floor((nowMs - days * DAY) / 1000) : nowMs - days * DAY;
    for (;;) {
      const { changes } = await store.writer.exclusive((db) =>
        db.run(
          table === 'sensor_readings'
            ? `DELETE FROM sensor_readings WHERE (device_id, time_ms) IN (SELECT device_id, time_ms FROM sensor_readings WHERE time_ms < ? LIMIT 5000)`
            : table === 'stream_health'
              ? `DELETE FROM stream_health WHERE (path, time_ms) IN (SELECT path, time_ms FROM stream_health WHERE time_ms < ? LIMIT 5000)`
              : `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${column} < ? LIMIT 5000)`,
          [cutoff],
        ),
      );
      deleted += changes;
      if (changes < 5000) break;
    }
  }
  return deleted;
}

async function timeIt(run: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await run();
  return performance.now() - t;
}

const mb = (file: string) => statSync(file).size / 2 ** 20;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'picam-retention-bench-'));
  const file = join(dir, 'store.db');
  const legacyFile = join(dir, 'legacy.db');
  const nowMs = Date.now();
  try {
    let store = await EventStore.open({ file });
    const t = performance.now();
    const backlog = await fill(store, nowMs);
    const fillS = (performance.now() - t) / 1000;
    const history = await sensorHistory(store, nowMs);
    await store.close();
    if (LEGACY) copyFileSync(file, legacyFile);
    const sizeBefore = mb(file);

    console.log(JSON.stringify({ backlog, fillS, sizeBefore, history }));

    // Nothing due on the full tables: a run as if a year earlier (every row is younger than its cutoff).
    store = await EventStore.open({ file });
    const idleBigNow = await timeIt(() => store.prune(nowMs - 400 * DAY));
    let idleBigLegacy: number | undefined;
    if (LEGACY) {
      const old = await EventStore.open({ file: legacyFile });
      idleBigLegacy = await timeIt(() => legacyPrune(old, nowMs - 400 * DAY));
      await old.close();
    }
    console.log(JSON.stringify({ idleBigNow, idleBigLegacy }));
    const alone = await ingest(store, 'ingest alone', PHASE_S);
    console.log(JSON.stringify(alone));
    const withRetention = await ingest(store, 'ingest + retention (now)', PHASE_S, () => store.prune());
    console.log(JSON.stringify(withRetention));
    const idleNow = await timeIt(() => store.prune());
    await store.close();
    const sizeAfter = mb(file);

    let legacy: IngestResult | undefined;
    let idleLegacy: number | undefined;
    if (LEGACY) {
      const old = await EventStore.open({ file: legacyFile });
      legacy = await ingest(old, 'ingest + retention (before)', PHASE_S, () => legacyPrune(old));
      idleLegacy = await timeIt(() => legacyPrune(old));
      await old.close();
    }
    const report = {
      machine: machine(),
      rate: RATE,
      backlog,
      fillS,
      sizeBeforeMb: sizeBefore,
      sizeAfterMb: sizeAfter,
      history,
      ingest: [alone, withRetention, ...(legacy ? [legacy] : [])],
      nothingDueMs: { now: idleNow, before: idleLegacy },
      nothingDueFullTablesMs: { now: idleBigNow, before: idleBigLegacy },
    };
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', 'retention.json'), JSON.stringify(report, null, 2));
    print(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function print(r: {
  machine: string;
  backlog: number;
  fillS: number;
  sizeBeforeMb: number;
  sizeAfterMb: number;
  history: HistoryRow[];
  ingest: IngestResult[];
  nothingDueMs: { now: number; before?: number };
  nothingDueFullTablesMs: { now: number; before?: number };
}): void {
  const f = (n: number | undefined, d = 1) => (n === undefined ? '–' : n.toFixed(d));
  console.log(`\n## Retention and sensor history (${r.machine})`);
  console.log(
    `backlog ${r.backlog.toLocaleString('en')} old rows, filled in ${f(r.fillS)} s; file ${f(r.sizeBeforeMb)} → ${f(r.sizeAfterMb)} MiB\n`,
  );
  console.log('| /api/sensors, 500 points | answered from | points | now p50 / p95 ms | before (raw buckets) p50 / p95 ms |');
  console.log('|---|---|---|---|---|');
  for (const h of r.history)
    console.log(
      `| ${h.range} | ${h.resolution} | ${h.points} | ${f(h.now.p50)} / ${f(h.now.p95)} | ${f(h.before.p50)} / ${f(h.before.p95)} |`,
    );
  console.log(`\n| ${RATE} records/s | seconds | committed/s | per-second p99 ms, median / worst | max ms | prune s (rows) |`);
  console.log('|---|---|---|---|---|---|');
  for (const i of r.ingest)
    console.log(
      `| ${i.label} | ${f(i.seconds)} | ${f(i.committedPerS, 0)} | ${f(i.p99Median)} / ${f(i.p99Worst)} | ${f(i.maxMs)} | ${
        i.pruneS === undefined ? '–' : `${f(i.pruneS)} (${i.pruned!.toLocaleString('en')})`
      } |`,
    );
  console.log(`\nprune with nothing due: now ${f(r.nothingDueMs.now)} ms, before ${f(r.nothingDueMs.before)} ms (after the backlog went)`);
  console.log(
    `prune with nothing due on the full tables: now ${f(r.nothingDueFullTablesMs.now)} ms, before ${f(r.nothingDueFullTablesMs.before)} ms`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
