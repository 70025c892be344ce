/**
 * picam-guardian fill-store: fills a database with a fleet's history, through the
 * real schema (EventStore opens it, so every migration, index and trigger applies),
 * to size hardware or benchmark the API at a year and a fleet (issue 18).
 *
 *   picam-guardian fill-store --file big.db --devices 600 --events 5000000 --readings 30000000 [--days 365]
 *
 * What it writes, spread as a fleet writes it:
 * - camera_registry and modes for every device: a third Raspberry Pis (`picam-…`),
 *   half VBC01 cameras (32 hex digits), the rest IP cameras (`ipcam-…`);
 * - `--events` activity events over `--days` up to now, every device a camera, types
 *   as devices report them (MOTION, PERSON, MOTION_SMART, AUDIO_ALL, VEHICLE, ANIMAL);
 *   a fifth with a thumbnail and one in twenty with a recording, uploaded before the
 *   event as VBC01 cameras do, so migration 8's trigger links them;
 * - `--readings` Sense HAT readings every 2 s up to now, shared by the Pis: as many
 *   Pis as hold a month each (`--pis` to choose), so a month's chart has data;
 * - an hour of heartbeats and stream health, dead letters (one per 1,000 events),
 *   delivered alerts (one per 100) and commands (one per 1,000).
 *
 * Rows are made inside SQLite (recursive CTEs, one statement per chunk, one
 * transaction per chunk, synchronous off): no per-row round trip. It refuses a store
 * that already has events, readings or devices unless `--append`, which adds a new
 * fleet with its own ids beside them.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EventStore } from '../../nodes/lib/store/store';
import { Connection, type SqlValue } from '../../nodes/lib/store/sqlite';

export const FILL_STORE_USAGE = `usage: picam-guardian fill-store --file FILE [--devices 600] [--events 5000000]
         [--readings 30000000] [--days 365] [--pis N] [--append]
Fills FILE (created if missing) through the real schema with a fleet's history:
devices, activity events over --days, Sense HAT readings every 2 s, uploads,
heartbeats, dead letters, alerts and commands. Refuses a store that has data
unless --append. See docs/benchmarks.md (sizing).`;

export interface FillOptions {
  file: string;
  devices: number;
  events: number;
  readings: number;
  days: number;
  /** devices with readings; default: as many as hold a month of 2-second readings each */
  pis?: number;
  append?: boolean;
  /** the newest row's time (Unix ms); default now */
  nowMs?: number;
  log?: (line: string) => void;
}

export interface FillSummary {
  devices: number;
  pis: number;
  events: number;
  readings: number;
  bytes: number;
  seconds: number;
}

const READING_MS = 2000;
const MONTH_OF_READINGS = (30 * 86_400_000) / READING_MS;
/** rows per statement and transaction: big enough that SQLite, not the round trip, is the cost */
const CHUNK = 250_000;

/**
 * `WITH RECURSIVE i(n)`: the row numbers from ?1 to ?2 - 1 (none when ?2 <= ?1). The
 * statement's other parameters follow as ?3, ?4… (a bare ? takes the next number).
 */
const SERIES =
  'WITH RECURSIVE i(n) AS (SELECT CAST(?1 AS INTEGER) WHERE ?1 < ?2 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < CAST(?2 AS INTEGER))';

export function defaultPis(readings: number, devices: number): number {
  return Math.max(1, Math.min(devices, Math.floor(readings / MONTH_OF_READINGS)));
}

const pisOf = (o: FillOptions): number => Math.min(o.devices, o.pis ?? defaultPis(o.readings, o.devices));

export async function fillStore(o: FillOptions): Promise<FillSummary> {
  const log = o.log ?? (() => undefined);
  const began = Date.now();
  const nowMs = o.nowMs ?? Date.now();
  // The store's own open: WAL and every migration, as the runtime opens it.
  await (await EventStore.open({ file: o.file })).close();
  const db = await Connection.open(o.file);
  try {
    await refuseUnlessEmpty(db, o.append === true);
    await db.exec('PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;');
    const tag = randomBytes(3).toString('hex');
    const pis = pisOf(o);
    await makeDevices(db, tag, o.devices, pis, nowMs);
    log(`devices: ${o.devices} (${pis} Pis with readings, VBC01 and IP cameras)`);
    await fillEvents(db, tag, o, nowMs, log);
    await fillReadings(db, o.readings, pis, nowMs, log);
    await fillTheRest(db, tag, o, nowMs);
    await db.exec('DROP TABLE temp.fill_devices');
    await db.run('PRAGMA wal_checkpoint(TRUNCATE)');
  } finally {
    await db.close();
  }
  const bytes = statSync(o.file).size;
  const seconds = (Date.now() - began) / 1000;
  log(
    `done in ${seconds.toFixed(0)} s: ${o.file} is ${bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`}`,
  );
  return { devices: o.devices, pis: pisOf(o), events: o.events, readings: o.readings, bytes, seconds };
}

async function refuseUnlessEmpty(db: Connection, append: boolean): Promise<void> {
  if (append) return;
  for (const table of ['activity_events', 'sensor_readings', 'camera_registry']) {
    // Table names from the list above, never from input.
    if (await db.get(`SELECT 1 AS x FROM ${table} LIMIT 1`)) {
      throw new Error(`the store already has rows in ${table}: give --append to add a fleet beside them, or a new --file`);
    }
  }
}

/**
 * temp.fill_devices numbers the fleet (idx 0..n-1, Pis first) so the big
 * statements pick a device by arithmetic on the row number.
 */
async function makeDevices(db: Connection, tag: string, devices: number, pis: number, nowMs: number): Promise<void> {
  await db.exec('CREATE TEMP TABLE fill_devices (idx INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL)');
  const piShare = Math.max(pis, Math.round(devices / 3));
  const rows: SqlValue[][] = [];
  for (let i = 0; i < devices; i++) {
    const n = String(i + 1).padStart(4, '0');
    if (i < piShare) rows.push([i, `picam-${tag}-${n}`, 'picam', `Pi ${n}`]);
    else if (i % 2 === 0) rows.push([i, randomBytes(16).toString('hex').toUpperCase(), 'hive-cam', `VBC01 ${n}`]);
    else rows.push([i, `ipcam-${tag}-${n}`, 'ipcam', `IP camera ${n}`]);
  }
  await db.exec('BEGIN');
  for (let i = 0; i < rows.length; i += 500) {
    const part = rows.slice(i, i + 500);
    await db.run(`INSERT INTO temp.fill_devices VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')}`, part.flat());
  }
  const nowSec = Math.floor(nowMs / 1000);
  await db.run(
    `INSERT INTO camera_registry (camera_id, device_type, camera_name, ip_address, firmware_version, status, connection_status,
       battery_level, signal_strength, last_seen, created_at, updated_at, connection_alert)
     SELECT id, type, name, '10.' || (idx / 250 % 250) || '.' || (idx % 250) || '.' || (idx % 200 + 2),
       CASE type WHEN 'hive-cam' THEN '2.4.1' WHEN 'picam' THEN '0.4.0' ELSE 'ipcam' END, 'ARMED',
       CASE WHEN idx % 37 = 5 THEN 'disconnected' ELSE 'connected' END,
       CASE type WHEN 'hive-cam' THEN 20 + idx % 80 END, -40 - idx % 45, ?, ? - 400 * 86400, ?,
       CASE WHEN idx % 37 = 5 THEN 'offline' ELSE 'online' END
     FROM temp.fill_devices`,
    [nowSec, nowSec, nowSec],
  );
  await db.run(
    `INSERT INTO camera_state (camera_id, setting_name, setting_value, last_updated)
     SELECT id, 'mode', CASE WHEN idx % 11 = 3 THEN 'PRIVACY' ELSE 'ARMED' END, ? FROM temp.fill_devices`,
    [nowSec],
  );
  await db.exec('COMMIT');
}

/** Chunks of [from, to) over `total` rows, each in its own transaction, with progress. */
async function inChunks(
  db: Connection,
  what: string,
  total: number,
  log: (line: string) => void,
  chunk: (from: number, to: number) => Promise<void>,
): Promise<void> {
  const began = Date.now();
  let lastLog = 0;
  for (let from = 0; from < total; from += CHUNK) {
    const to = Math.min(total, from + CHUNK);
    await db.exec('BEGIN');
    await chunk(from, to);
    await db.exec('COMMIT');
    if (Date.now() - lastLog > 5000 || to === total) {
      lastLog = Date.now();
      const rate = to / Math.max(0.001, (Date.now() - began) / 1000);
      log(`${what}: ${to.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} (${Math.round(rate).toLocaleString('en-US')}/s)`);
    }
  }
}

/**
 * Events in time order (the time indexes grow at their end). Event n's device,
 * type, duration and media come from arithmetic on n, so a run is reproducible
 * apart from the ids; uploads go in first and the trigger links them.
 */
async function fillEvents(db: Connection, tag: string, o: FillOptions, nowMs: number, log: (line: string) => void): Promise<void> {
  const devices = o.devices;
  const spanSec = o.days * 86_400;
  const firstSec = Math.floor(nowMs / 1000) - spanSec;
  // Event n: its start second, its device (48271 is prime: every device gets events), its id.
  const perEvent = `SELECT n, ? + CAST(n * (CAST(? AS REAL) / ?) AS INTEGER) AS t, d.id AS cam, d.type AS type,
      CASE d.type WHEN 'hive-cam' THEN lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
        || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) ELSE 'fill-' || ? || '-' || n END AS eid
    FROM i JOIN temp.fill_devices d ON d.idx = (n * 48271) % ?`;
  const eventArgs = (from: number, to: number): SqlValue[] => [from, to, firstSec, spanSec, Math.max(1, o.events), tag, devices];
  await inChunks(db, 'events', o.events, log, async (from, to) => {
    await db.exec('CREATE TEMP TABLE fill_chunk (n INTEGER PRIMARY KEY, t INTEGER, cam TEXT, type TEXT, eid TEXT)');
    await db.run(`${SERIES} INSERT INTO temp.fill_chunk ${perEvent}`, eventArgs(from, to));
    await db.run(
      `INSERT INTO file_uploads (event_id, camera_id, file_type, file_path, file_name, file_size, upload_dir, uploaded_at)
       SELECT eid, cam, 'thumbnail', 'uploads/' || cam || '/' || eid || '/thumbnail.jpg', 'thumbnail.jpg', 20000 + n % 30000,
              'uploads/' || cam || '/' || eid, t + 2
         FROM temp.fill_chunk WHERE n % 5 = 0
       UNION ALL
       SELECT eid, cam, 'recording', 'uploads/' || cam || '/' || eid || '/recording.mp4', 'recording.mp4', 900000 + n % 500000,
              'uploads/' || cam || '/' || eid, t + 40
         FROM temp.fill_chunk WHERE n % 20 = 0`,
    );
    await db.run(
      `INSERT INTO activity_events (event_id, camera_id, activity_type, start_timestamp, end_timestamp, duration_seconds,
         confidence, telegram_notified, created_at, region)
       SELECT eid, cam,
         CASE WHEN n % 100 < 55 THEN 'MOTION' WHEN n % 100 < 70 THEN 'PERSON' WHEN n % 100 < 80 THEN 'MOTION_SMART'
              WHEN n % 100 < 88 THEN 'AUDIO_ALL' WHEN n % 100 < 95 THEN 'VEHICLE' ELSE 'ANIMAL' END,
         t, t + 5 + n % 115, 5 + n % 115, 50 + n % 50, CASE WHEN n % 4 = 0 THEN 1 ELSE 0 END, t,
         CASE WHEN type = 'hive-cam' THEN 'zone' || (n % 4) END
       FROM temp.fill_chunk ORDER BY n`,
    );
    await db.exec('DROP TABLE temp.fill_chunk');
  });
}

/** Each Pi's readings, every 2 s up to now, in key order (device, time): appended, never inserted mid-tree. */
async function fillReadings(db: Connection, readings: number, pis: number, nowMs: number, log: (line: string) => void): Promise<void> {
  if (readings <= 0) return;
  const perPi = Math.ceil(readings / pis);
  const lastMs = Math.floor(nowMs / READING_MS) * READING_MS;
  // Reading n is Pi n / perPi's reading k = n % perPi, the newest last; a daily swing and a little noise.
  await inChunks(db, 'readings', readings, log, async (from, to) => {
    await db.run(
      `${SERIES}, r AS (SELECT n / ? AS pi, ? - (? - 1 - n % ?) * ? AS time_ms FROM i)
       INSERT INTO sensor_readings (device_id, time_ms, temperature, humidity, pressure)
       SELECT d.id, r.time_ms,
              round(20 + pi % 5 + 3 * sin(r.time_ms / 13751000.0) + (abs(random()) % 100) / 200.0, 2),
              round(45 + 10 * cos(r.time_ms / 13751000.0) + (abs(random()) % 100) / 100.0, 2),
              round(1013 + 6 * sin(r.time_ms / 259200000.0), 2)
         FROM r JOIN temp.fill_devices d ON d.idx = r.pi`,
      [from, to, perPi, lastMs, perPi, perPi, READING_MS],
    );
  });
}

/** The last hour of heartbeats and stream health, dead letters, delivered alerts and commands. */
async function fillTheRest(db: Connection, tag: string, o: FillOptions, nowMs: number): Promise<void> {
  const nowSec = Math.floor(nowMs / 1000);
  const devices = o.devices;
  await db.exec('BEGIN');
  // Heartbeats every 30 s over the last hour, per device.
  await db.run(
    `${SERIES} INSERT INTO status_events (camera_id, event_type, status, timestamp, camera_name, ip_address, battery_level,
       temperature, uptime, created_at, signal_strength)
     SELECT d.id, 'heartbeat', 'ARMED', ? - (i.n / ?) * 30, d.name, '10.0.0.' || (d.idx % 250), 80, 41.5, 86400 + i.n, ? - (i.n / ?) * 30, -60
       FROM i JOIN temp.fill_devices d ON d.idx = i.n % ?`,
    [0, devices * 120, nowSec, devices, nowSec, devices, devices],
  );
  await db.run(
    `${SERIES} INSERT INTO stream_health (path, time_ms, online, readers, inbound_kbps, outbound_kbps, frames_in_error, source_type)
     SELECT d.id, ? - (i.n / ?) * 10000, 1, i.n % 3, 1800 + i.n % 400, 900, 0, 'rtspSession'
       FROM i JOIN temp.fill_devices d ON d.idx = i.n % ? WHERE d.type = 'picam'`,
    [0, devices * 360, nowMs, devices, devices],
  );
  const dead = Math.ceil(o.events / 1000);
  await db.run(
    `${SERIES} INSERT INTO dead_letters (received_ms, source, reason, device_id, payload, payload_bytes)
     SELECT ? + n * ?, 'mqtt', CASE n % 3 WHEN 0 THEN 'payload is not JSON' WHEN 1 THEN 'unknown topic' ELSE 'bad timestamp' END,
            d.id, '{"broken":', 11
       FROM i JOIN temp.fill_devices d ON d.idx = n % ?`,
    [0, dead, nowMs - o.days * 86_400_000, Math.floor((o.days * 86_400_000) / Math.max(1, dead)), devices],
  );
  const alerts = Math.ceil(o.events / 100);
  await db.run(
    `${SERIES} INSERT INTO alerts_outbox (dedupe_key, channel, owner, target, item, device_id, event_id, alert, state, attempts,
       next_attempt_ms, created_ms, sent_ms, message_id)
     SELECT 'fill-' || ? || '-' || n, 'telegram', 'fill-store', '123456789', 'alert', d.id, 'fill-' || ? || '-' || n,
            json_object('kind', 'activity', 'deviceId', d.id, 'deviceName', d.name, 'text', 'Motion at ' || d.name),
            CASE WHEN n % 10 = 0 THEN 'suppressed' ELSE 'sent' END, 1, ? + n * ?, ? + n * ?, ? + n * ? + 800, n
       FROM i JOIN temp.fill_devices d ON d.idx = n % ?`,
    [
      0,
      alerts,
      tag,
      tag,
      ...Array(3)
        .fill(0)
        .flatMap(() => [nowMs - o.days * 86_400_000, Math.floor((o.days * 86_400_000) / Math.max(1, alerts))]),
      devices,
    ],
  );
  const commands = Math.ceil(o.events / 1000);
  await db.run(
    `${SERIES} INSERT INTO command_queue (command_id, owner, device_id, action, topic, payload, created_ms, expires_ms, state, attempts, sent_ms)
     SELECT 'fill-' || ? || '-' || n, 'fill-store', d.id, 'setmode', 'prod/honeycomb/' || d.id || '/system/setmode',
            '{"mode":"ARMED"}', ? + n * 60000, ? + n * 60000 + 300000, 'sent', 1, ? + n * 60000 + 50
       FROM i JOIN temp.fill_devices d ON d.idx = n % ?`,
    [0, commands, tag, nowMs - commands * 60000, nowMs - commands * 60000, nowMs - commands * 60000, devices],
  );
  await db.exec('COMMIT');
}

export async function fillStoreCli(argv: string[], out: (line: string) => void): Promise<number> {
  let o: FillOptions;
  try {
    o = parseFillArgs(argv);
  } catch (err) {
    out(`picam-guardian fill-store: ${(err as Error).message}`);
    out(FILL_STORE_USAGE);
    return 2;
  }
  if (o.file === '') {
    out(FILL_STORE_USAGE);
    return 0;
  }
  try {
    await fillStore({ ...o, log: out });
    return 0;
  } catch (err) {
    out(`picam-guardian fill-store: ${(err as Error).message}`);
    return 1;
  }
}

/** The options, checked: whole numbers in range; `file` '' means --help. */
export function parseFillArgs(argv: string[]): FillOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      devices: { type: 'string', default: '600' },
      events: { type: 'string', default: '5000000' },
      readings: { type: 'string', default: '30000000' },
      days: { type: 'string', default: '365' },
      pis: { type: 'string' },
      append: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);
  if (values.help) return { file: '', devices: 0, events: 0, readings: 0, days: 0 };
  if (!values.file) throw new Error('--file is required');
  const whole = (name: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    file: values.file,
    devices: whole('devices', values.devices!, 1, 100_000),
    events: whole('events', values.events!, 0, 1_000_000_000),
    readings: whole('readings', values.readings!, 0, 10_000_000_000),
    days: whole('days', values.days!, 1, 3650),
    pis: values.pis === undefined ? undefined : whole('pis', values.pis, 1, 100_000),
    append: values.append,
  };
}
