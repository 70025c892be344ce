/**
 * node --import tsx bench/status-at-scale.ts: /api/status, the /metrics store figures and the
 * dashboard's first view (camera grid) on a large store, before and after issue 18's counters,
 * index seeks and one-request grid; and /api/alerts while a slow query runs, with one read
 * connection and with the pool.
 *
 * The store is filled with plain SQL through the real schema up to migration 10 (no triggers
 * yet), measured with the old statements (copied below as they were), then opened with the
 * store, which runs migration 12 (the first count: its time is reported), and measured with
 * today's code. The database part only (no HTTP, no JSON): the per-request HTTP cost is the
 * same before and after, except that the old grid paid it once per device. Then the same
 * requests over HTTP to a runtime on the file (the cloud flow, demo role: no login), after only.
 *
 * BENCH_SCALE_DB=path keeps the filled file for a later run (reused when it exists: its
 * "before" is then only measured if it is still at schema 10). BENCH_SCALE_EVENTS (default
 * 3,000,000), BENCH_SCALE_READINGS (5,000,000), BENCH_SCALE_DEVICES (600).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyFlowEnv, settingsFor } from '../cli/runtime/roles';
import { FLOWS_DIR, startRuntime } from '../cli/runtime/runtime';
import { storeFigures } from '../nodes/lib/store/ops-figures';
import * as queries from '../nodes/lib/store/queries';
import { COUNTED_IN_12, MIGRATIONS, currentVersion, migrate } from '../nodes/lib/store/schema';
import { Connection } from '../nodes/lib/store/sqlite';
import { EventStore } from '../nodes/lib/store/store';
import { machine } from './machine';
import { freePort } from '../test/support/ports';

const EVENTS = Number(process.env.BENCH_SCALE_EVENTS ?? 3_000_000);
const READINGS = Number(process.env.BENCH_SCALE_READINGS ?? 5_000_000);
const DEVICES = Number(process.env.BENCH_SCALE_DEVICES ?? 600);
const PATHS = 100;
const POLLS_PER_PATH = 5000;

const tmp = process.env.BENCH_SCALE_DB ? undefined : mkdtempSync(join(tmpdir(), 'picam-scale-'));
const file = process.env.BENCH_SCALE_DB ?? join(tmp!, 'scale.db');

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function fill(): Promise<void> {
  const c = await Connection.open(file);
  await c.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;');
  await migrate(
    c,
    MIGRATIONS.filter((m) => m.version <= 10),
  );
  const t0 = Math.floor(Date.now() / 1000) - 365 * 86400;
  const step = Math.max(1, Math.floor((365 * 86400) / EVENTS));
  const perDevice = Math.ceil(READINGS / DEVICES);
  const started = Date.now();
  await c.exec('BEGIN');
  await c.run(
    `WITH RECURSIVE d(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM d WHERE i < ? - 1)
     INSERT INTO camera_registry (camera_id, camera_name, device_type, connection_status, last_seen, created_at, updated_at)
     SELECT printf('cam-%04d', i), 'Camera ' || i, 'hive-cam', CASE WHEN i % 10 = 0 THEN 'disconnected' ELSE 'connected' END, ?, ?, ? FROM d`,
    [DEVICES, t0 + 365 * 86400, t0, t0],
  );
  // In time order, devices interleaved: as a year of events arrives.
  await c.run(
    `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ? - 1)
     INSERT INTO activity_events (event_id, camera_id, activity_type, start_timestamp, end_timestamp, duration_seconds,
       confidence, created_at)
     SELECT printf('evt-%08d', i), printf('cam-%04d', (i * 7919) % ?),
            CASE i % 10 WHEN 0 THEN 'PERSON' WHEN 1 THEN 'VEHICLE' ELSE 'MOTION' END,
            ? + i * ?, ? + i * ? + 8, 8, 0.9, ? + i * ? FROM s`,
    [EVENTS, DEVICES, t0, step, t0, step, t0, step],
  );
  await c.run(
    `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ? - 1)
     INSERT INTO sensor_readings (device_id, time_ms, temperature, humidity, pressure)
     SELECT printf('cam-%04d', i / ?), ? * 1000 + (i % ?) * 2000, 20 + (i % 50) / 10.0, 45, 1013 FROM s`,
    [READINGS, perDevice, t0, perDevice],
  );
  await c.run(
    `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ? - 1)
     INSERT INTO stream_health (path, time_ms, online, readers) SELECT printf('cam-%04d', i / ?), ? * 1000 + (i % ?) * 10000,
       (i / ?) % 3 != 0, 0 FROM s`,
    [PATHS * POLLS_PER_PATH, POLLS_PER_PATH, t0, POLLS_PER_PATH, POLLS_PER_PATH],
  );
  await c.run(
    `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 100000 - 1)
     INSERT INTO dead_letters (received_ms, source, reason, payload, payload_bytes) SELECT ? * 1000 + i * 1000, 'prod/x', 'not JSON', '{', 1 FROM s`,
    [t0],
  );
  await c.run(
    `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 50000 - 1)
     INSERT INTO alerts_outbox (channel, alert, state, next_attempt_ms, created_ms)
     SELECT 'telegram', '{"kind":"motion","text":"Motion"}', CASE WHEN i < 5 THEN 'pending' ELSE 'sent' END, 0, ? * 1000 + i * 600000 FROM s`,
    [t0],
  );
  await c.exec('COMMIT');
  await c.exec('PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;');
  await c.close();
  console.log(`filled in ${seconds(Date.now() - started)}`);
}

// ---- the statements as they were before issue 18 (queries.ts, ops-figures.ts, dashboard/src/cameras.ts)
// /api/status counted the tables migration 12 now keeps counts of.
const OLD_TABLES = COUNTED_IN_12;
async function oldStatus(db: Connection): Promise<void> {
  for (const t of OLD_TABLES) await db.get(`SELECT count(*) AS n FROM ${t}`);
  await db.get('PRAGMA user_version');
}
async function oldFigures(db: Connection): Promise<void> {
  await db.get('SELECT count(*) AS n FROM dead_letters');
  await db.get(`SELECT count(*) AS n FROM alerts_outbox WHERE state IN ('pending', 'waiting', 'sending')`);
  await db.get(`SELECT count(*) AS n FROM stream_health s
    WHERE s.time_ms = (SELECT max(time_ms) FROM stream_health WHERE path = s.path) AND s.online = 1`);
  await db.get('SELECT count(DISTINCT path) AS n FROM stream_health');
  await db.get(`SELECT count(*) AS n FROM camera_registry WHERE connection_status = 'connected'`);
}
const OLD_CAMERAS = `SELECT r.camera_id, r.device_type, r.camera_name, r.ip_address, r.firmware_version, r.status,
    s.setting_value AS desired_mode, r.connection_status, r.battery_level, r.signal_strength, r.last_seen, r.created_at, r.updated_at
  FROM camera_registry r LEFT JOIN camera_state s ON s.camera_id = r.camera_id AND s.setting_name = 'mode'
  ORDER BY COALESCE(r.camera_name, r.camera_id)`;
const OLD_STREAMS = `SELECT h.path, h.time_ms, h.online, h.readers, h.inbound_kbps, h.outbound_kbps, h.frames_in_error, h.source_type
  FROM stream_health h JOIN (SELECT path, MAX(time_ms) AS t FROM stream_health GROUP BY path) last ON last.path = h.path AND last.t = h.time_ms
  ORDER BY h.path`;
const OLD_EVENT_PAGE = `SELECT e.event_id, e.camera_id, COALESCE(e.camera_name, r.camera_name) AS camera_name, e.activity_type,
    e.start_timestamp, e.end_timestamp, e.duration_seconds, e.confidence, e.thumbnail_path, e.recording_path, e.upload_status,
    e.telegram_notified, e.created_at,
    EXISTS (SELECT 1 FROM file_uploads f WHERE f.camera_id = e.camera_id AND f.event_id = e.event_id AND f.file_type = 'thumbnail') AS has_thumbnail,
    EXISTS (SELECT 1 FROM file_uploads f WHERE f.camera_id = e.camera_id AND f.event_id = e.event_id
            AND f.file_type IN ('recording', 'segment')) AS has_recording
  FROM activity_events e LEFT JOIN camera_registry r ON r.camera_id = e.camera_id
  WHERE e.camera_id = ? ORDER BY COALESCE(e.start_timestamp, e.end_timestamp) DESC, e.event_id LIMIT ? OFFSET ?`;
/** The old grid: the camera list, the streams, then GET /api/events?camera=X&limit=1 per device (count and page, one reader). */
async function oldFirstView(db: Connection): Promise<void> {
  const cams = await db.all<{ camera_id: string }>(OLD_CAMERAS);
  await db.all(OLD_STREAMS);
  for (const c of cams) {
    await db.get('SELECT count(*) AS n FROM activity_events e WHERE e.camera_id = ?', [c.camera_id]);
    await db.all(OLD_EVENT_PAGE, [c.camera_id, 1, 0]);
  }
}

/** The slow query of the queueing case: the old first page of /api/events (a sort of every event). */
const SLOW_EVENTS = `SELECT count(*) FROM (SELECT e.event_id FROM activity_events e
  ORDER BY COALESCE(e.start_timestamp, e.end_timestamp) DESC, e.event_id LIMIT 50)`;

async function timed(runs: number, task: () => Promise<unknown>): Promise<string> {
  await task(); // warm the page cache
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await task();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)]!;
  const fmt = (v: number) => (v >= 1000 ? seconds(v) : `${v.toFixed(v < 10 ? 2 : 0)} ms`);
  return `${fmt(at(0.5))} / ${fmt(at(0.95))} (n=${runs})`;
}

/** /api/alerts's statements while SLOW_EVENTS runs: on the same (single) reader, or on another of the pool. */
async function alertsBehindSlow(run: (sql: string) => Promise<unknown>, alerts: () => Promise<unknown>): Promise<number> {
  const slow = run(SLOW_EVENTS);
  await new Promise((r) => setTimeout(r, 50)); // the slow one has started
  const t = Date.now();
  await alerts();
  const ms = Date.now() - t;
  await slow;
  return ms;
}

/** The same over HTTP: a runtime with the cloud flow on the file (demo role: no login). */
async function overHttp(): Promise<Record<'status' | 'metrics' | 'grid' | 'queued', string>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'picam-scale-rt-'));
  const port = await freePort();
  const role = settingsFor({
    PICAM_ROLE: 'demo',
    PICAM_DATA_DIR: dataDir,
    PICAM_DB_FILE: file,
    PICAM_HTTP_PORT: String(port),
    PICAM_MQTT_PORT: String(await freePort()),
    PICAM_MQTT_WS_PORT: String(await freePort()),
    PICAM_GATEWAY_PORT: '0',
    PICAM_LOG_LEVEL: 'warn',
    // Retention off: its first run would delete most of a year's rows while we measure.
    PICAM_RETAIN_ACTIVITY_DAYS: '0',
    PICAM_RETAIN_STATUS_DAYS: '0',
    PICAM_RETAIN_SENSOR_DAYS: '0',
    PICAM_RETAIN_DEAD_LETTER_DAYS: '0',
  });
  applyFlowEnv(role, true);
  const runtime = await startRuntime(role, [join(FLOWS_DIR, 'cloud.json')]);
  const get = async (path: string) => {
    const res = await fetch(`${runtime.url}${path}`);
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.text();
  };
  try {
    for (let i = 0; ; i++) {
      if (
        await get('/api/status').then(
          () => true,
          () => false,
        )
      )
        break;
      if (i > 300) throw new Error('the runtime does not answer /api/status');
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      status: await timed(50, () => get('/api/status')),
      metrics: await timed(50, () => get('/metrics')),
      grid: await timed(20, () => Promise.all([get('/api/cameras'), get('/api/streams')])),
      queued: `${await alertsBehindSlow(
        () => get('/api/events'),
        () => get('/api/alerts'),
      )} ms (behind \`/api/events\`)`,
    };
  } finally {
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`# status, metrics and first view at scale\n${machine()}`);
  if (!existsSync(file)) await fill();
  const rows: Array<[string, string, string, string]> = [];
  const probe = await Connection.open(file);
  const atTen = (await currentVersion(probe)) === 10;
  let before: Record<string, string> = {};
  if (atTen) {
    await probe.exec('PRAGMA query_only = ON');
    before = {
      status: await timed(10, () => oldStatus(probe)),
      metrics: await timed(10, () => oldFigures(probe)),
      grid: await timed(3, () => oldFirstView(probe)),
      queued: `${await alertsBehindSlow(
        (sql) => probe.get(sql),
        () => queries.alerts(probe, {}),
      )} ms`,
    };
  }
  await probe.close();
  const opening = Date.now();
  const store = await EventStore.open({ file });
  const migrated = Date.now() - opening;
  const counts = (await store.query('status')).counts;
  console.log(`counts: ${JSON.stringify(counts)}\nopen with migration 12 (first count): ${atTen ? seconds(migrated) : 'already done'}`);
  const after = {
    status: await timed(50, () => store.query('status')),
    metrics: await timed(50, () => storeFigures(store.reads)),
    grid: await timed(20, () => Promise.all([store.query('cameras'), store.query('streams')])),
    queued: `${await alertsBehindSlow(
      (sql) => store.reads.get(sql),
      () => store.query('alerts'),
    )} ms`,
  };
  await store.close();
  const http = await overHttp();
  rows.push(['`/api/status`', before.status ?? '-', after.status, http.status]);
  rows.push(['`/metrics` (store figures)', before.metrics ?? '-', after.metrics, http.metrics]);
  rows.push([`first view (grid) of ${DEVICES} devices`, before.grid ?? '-', after.grid, http.grid]);
  rows.push(['`/api/alerts` while an events query runs', before.queued ?? '-', after.queued, http.queued]);
  console.log('\n| | database, before p50 / p95 | database, after p50 / p95 | HTTP, after p50 / p95 |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
