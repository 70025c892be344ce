/**
 * Turns a batch of store records into a few multi-row, parameterised
 * statements, for SQLite or PostgreSQL (dialect.ts). Multi-row statements matter: with
 * sqlite3 every statement is a round trip to the worker thread, and with PostgreSQL to the
 * server; one statement per row caps ingest at a few thousand rows per second.
 */
import type { ActivityRecord, CameraStateRecord, HeartbeatRecord, StoreRecord } from '../types';
import type { SqlValue } from './connection';
import { sqlOf, type SqlDialect } from './dialect';
import type { RegistryTouches } from './registry-touches';

export interface Statement {
  sql: string;
  params: SqlValue[];
}

/** Unix seconds for seed 004's columns */
const sec = (ms: number): number => Math.floor(ms / 1000);
const v = <T>(x: T | undefined): T | null => (x === undefined ? null : x);

interface RegistryPatch {
  deviceType: string;
  name?: string;
  ip?: string;
  firmware?: string;
  hardware?: string;
  serial?: string;
  mode?: string;
  connection?: string;
  /** the device's time of `connection` (Unix ms): the later one wins, here and in the stored row; unset: untimed (a Will) */
  connectionMs?: number;
  /** an untimed connection of this batch came after the device's messages up to this time (its device time, Unix ms) */
  untimedAfterMs?: number;
  /** the runtime's clock when a message of the device was stored with this batch */
  heardMs?: number;
  battery?: number;
  signal?: number;
  /** the connection alert the user got with this batch */
  alert?: string;
  /** the latest device time of the batch, never ahead of the runtime's clock; unset: only untimed messages */
  lastSeenMs?: number;
}

/** One table's rows of a batch: `columns` by name, `tail` what follows the rows (ON CONFLICT …). */
interface TableRows {
  table: string;
  columns: readonly string[];
  tail: (sql: SqlDialect) => string;
  rows: SqlValue[][];
  /** the unique key's columns (indexes into a row): rows of one key are merged, and rows sorted by it */
  key?: readonly number[];
  /** rows of one key in one batch: the one kept (default: the later) */
  merge?: (kept: SqlValue[], next: SqlValue[]) => SqlValue[];
}

type Shape = Omit<TableRows, 'rows'>;

/** A DO NOTHING table keeps the first row of a key, as the first insert wins. */
const keepFirst = (kept: SqlValue[]): SqlValue[] => kept;

/**
 * A connection status replaces the stored one only when the device's time of it is not older
 * (issue 21): a connection message delivered again, or processed late by another runtime, never
 * overwrites a newer one. Equal times: the one stored last wins, as messages in order would.
 * Each assignment below reads the row as it was before this update, so they all agree.
 */
const NEWER_CONNECTION = `(excluded.connection_status IS NOT NULL AND (excluded.connection_ms IS NULL
      OR camera_registry.connection_ms IS NULL OR excluded.connection_ms >= camera_registry.connection_ms))`;

/**
 * An untimed connection message (a Last Will: its payload was fixed when the device connected,
 * so it has no time of the disconnection) ends what the device sent before it: it is stored as
 * of just after the latest device time known (the stored status', the last second seen, this
 * batch's), never at the time it arrived. Stamping it with the arrival time would let it hide the
 * device's reconnection, which the broker delivers right after the Will of the session it
 * replaced, stamped by a device clock that may be a little behind ours.
 */
const untimedKey = (sql: SqlDialect): string =>
  sql.greatest(
    'COALESCE(camera_registry.connection_ms, 0) + 1',
    'COALESCE(camera_registry.last_seen, 0) * 1000 + 999',
    'COALESCE(excluded.last_seen, 0) * 1000 + 999',
  );

// Columns in DO UPDATE are qualified by the table's name: PostgreSQL finds a bare one ambiguous
// (the row stored or `excluded`); SQLite reads both the same.
const REGISTRY: Shape = {
  table: 'camera_registry',
  columns: [
    'camera_id',
    'device_type',
    'camera_name',
    'ip_address',
    'firmware_version',
    'hardware_version',
    'serial_number',
    'status',
    'connection_status',
    'battery_level',
    'signal_strength',
    'last_seen',
    'created_at',
    'updated_at',
    'connection_alert',
    'connection_ms',
    'connection_since_ms',
    'heard_ms',
  ],
  key: [0],
  tail: (sql) => ` ON CONFLICT (camera_id) DO UPDATE SET
    device_type = excluded.device_type,
    camera_name = COALESCE(excluded.camera_name, camera_registry.camera_name),
    ip_address = COALESCE(excluded.ip_address, camera_registry.ip_address),
    firmware_version = COALESCE(excluded.firmware_version, camera_registry.firmware_version),
    hardware_version = COALESCE(excluded.hardware_version, camera_registry.hardware_version),
    serial_number = COALESCE(excluded.serial_number, camera_registry.serial_number),
    status = COALESCE(excluded.status, camera_registry.status),
    connection_status = CASE WHEN ${NEWER_CONNECTION} THEN excluded.connection_status ELSE camera_registry.connection_status END,
    connection_since_ms = CASE WHEN ${NEWER_CONNECTION}
      AND excluded.connection_status <> COALESCE(camera_registry.connection_status, '') THEN excluded.connection_since_ms
      ELSE camera_registry.connection_since_ms END,
    connection_ms = CASE WHEN ${NEWER_CONNECTION} THEN COALESCE(excluded.connection_ms, ${untimedKey(sql)})
      ELSE camera_registry.connection_ms END,
    heard_ms = CASE WHEN excluded.heard_ms IS NULL THEN camera_registry.heard_ms
      ELSE ${sql.greatest('COALESCE(camera_registry.heard_ms, 0)', 'excluded.heard_ms')} END,
    battery_level = COALESCE(excluded.battery_level, camera_registry.battery_level),
    signal_strength = COALESCE(excluded.signal_strength, camera_registry.signal_strength),
    last_seen = CASE WHEN excluded.last_seen IS NULL THEN camera_registry.last_seen
      ELSE ${sql.greatest('COALESCE(camera_registry.last_seen, 0)', 'excluded.last_seen')} END,
    updated_at = excluded.updated_at,
    connection_alert = COALESCE(excluded.connection_alert, camera_registry.connection_alert)`,
};

const STATUS_EVENTS: Shape = {
  table: 'status_events',
  columns: [
    'camera_id',
    'event_type',
    'status',
    'timestamp',
    'camera_name',
    'client_id',
    'ip_address',
    'firmware_version',
    'battery_level',
    'temperature',
    'uptime',
    'raw_payload',
    'created_at',
    'signal_strength',
    'stream_state',
    'device_time_raw',
  ],
  // migration 6's key: (camera_id, event_type, timestamp, IFNULL(status, ''))
  key: [0, 1, 3, 2],
  merge: keepFirst,
  // The same message again (an outbox replay, a QoS 1 redelivery) is already stored: migration 6's key.
  tail: () => ' ON CONFLICT DO NOTHING',
};

// An event's zone lists only grow (a start sent again with a zone touched later, a stop with
// every zone; each in the order the zones were drawn): the longer list is the later one.
const LONGER_ZONES = `CASE WHEN excluded.zones IS NULL THEN activity_events.zones
    WHEN activity_events.zones IS NULL OR length(excluded.zones) > length(activity_events.zones)
    THEN excluded.zones ELSE activity_events.zones END`;

/**
 * An event's duration, seconds, as SQL: none until both ends are known, and 0 for a stop timed
 * before its start (a camera's clock set back between the two), never a negative length.
 */
const durationOf = (start: string, end: string): string =>
  `CASE WHEN ${end} >= ${start} THEN ${end} - ${start} WHEN ${end} < ${start} THEN 0 END`;

/**
 * An event's start and stop of one batch are one row (what the two upserts in turn would leave;
 * PostgreSQL refuses to update one row twice in one statement). A stop can arrive before its
 * start (out-of-order delivery, a lost start, two runtimes): whichever comes second computes
 * the duration. In the row, a start is present when start_timestamp is set, a stop when
 * end_timestamp is; each part changes only its own columns of a stored row.
 * An event is the camera's: two cameras may send the same event id (issue 13).
 */
const ACTIVITY: Shape = {
  table: 'activity_events',
  columns: [
    'event_id',
    'camera_id',
    'camera_name',
    'activity_type',
    'start_timestamp',
    'end_timestamp',
    'duration_seconds',
    'confidence',
    'region',
    'created_at',
    'telegram_notified',
    'start_time_raw',
    'end_time_raw',
    'zones',
    'detection_label',
    'detection_score',
    'detection_box',
  ],
  key: [1, 0],
  tail: () => ` ON CONFLICT (camera_id, event_id) DO UPDATE SET
    start_timestamp = COALESCE(excluded.start_timestamp, activity_events.start_timestamp),
    start_time_raw = CASE WHEN excluded.start_timestamp IS NULL THEN activity_events.start_time_raw ELSE excluded.start_time_raw END,
    activity_type = CASE WHEN excluded.start_timestamp IS NULL THEN activity_events.activity_type ELSE excluded.activity_type END,
    camera_name = CASE WHEN excluded.start_timestamp IS NULL THEN activity_events.camera_name
      ELSE COALESCE(excluded.camera_name, activity_events.camera_name) END,
    confidence = COALESCE(excluded.confidence, activity_events.confidence),
    region = COALESCE(excluded.region, activity_events.region),
    detection_label = COALESCE(excluded.detection_label, activity_events.detection_label),
    detection_score = COALESCE(excluded.detection_score, activity_events.detection_score),
    detection_box = COALESCE(excluded.detection_box, activity_events.detection_box),
    -- A stop's zones are every zone of the event (a start's, those of its first moments only).
    zones = CASE WHEN excluded.end_timestamp IS NOT NULL AND excluded.zones IS NOT NULL THEN excluded.zones ELSE ${LONGER_ZONES} END,
    end_timestamp = COALESCE(excluded.end_timestamp, activity_events.end_timestamp),
    end_time_raw = CASE WHEN excluded.end_timestamp IS NULL THEN activity_events.end_time_raw ELSE excluded.end_time_raw END,
    duration_seconds = ${durationOf(
      'COALESCE(excluded.start_timestamp, activity_events.start_timestamp)',
      'COALESCE(excluded.end_timestamp, activity_events.end_timestamp)',
    )}`,
};

const CAMERA_STATE: Shape = {
  table: 'camera_state',
  columns: ['camera_id', 'setting_name', 'setting_value', 'last_updated'],
  key: [0, 1],
  // As the upserts in turn: a later row of the same time or newer replaces the one kept.
  merge: (kept, next) => ((next[3] as number) >= (kept[3] as number) ? next : kept),
  tail: () => ` ON CONFLICT (camera_id, setting_name) DO UPDATE SET
    setting_value = excluded.setting_value, last_updated = excluded.last_updated
    WHERE excluded.last_updated >= camera_state.last_updated`,
};

const SENSORS: Shape = {
  table: 'sensor_readings',
  columns: ['device_id', 'time_ms', 'temperature', 'humidity', 'pressure', 'device_time_raw'],
  key: [0, 1],
  tail: () => ` ON CONFLICT (device_id, time_ms) DO UPDATE SET
    temperature = excluded.temperature, humidity = excluded.humidity, pressure = excluded.pressure,
    device_time_raw = excluded.device_time_raw`,
};

const COMMANDS: Shape = {
  table: 'commands',
  columns: ['request_id', 'device_id', 'action', 'topic', 'mode', 'created_ms'],
  key: [0],
  merge: keepFirst,
  tail: () => ' ON CONFLICT (request_id) DO NOTHING',
};

const STREAM_HEALTH: Shape = {
  table: 'stream_health',
  columns: ['path', 'time_ms', 'online', 'readers', 'inbound_kbps', 'outbound_kbps', 'frames_in_error', 'source_type'],
  key: [0, 1],
  tail: () => ` ON CONFLICT (path, time_ms) DO UPDATE SET online = excluded.online, readers = excluded.readers,
    inbound_kbps = excluded.inbound_kbps, outbound_kbps = excluded.outbound_kbps,
    frames_in_error = excluded.frames_in_error, source_type = excluded.source_type`,
};

const DEAD_LETTERS: Shape = {
  table: 'dead_letters',
  columns: ['received_ms', 'source', 'reason', 'device_id', 'payload', 'payload_bytes'],
  tail: () => '',
};

/** An event's zones as stored (migration 16): a JSON array, or NULL when the camera sent none. */
function zonesText(zones: readonly string[] | undefined): string | null {
  return zones === undefined ? null : JSON.stringify(zones);
}

/** An event's start (or stop) parts of one batch, merged as the upserts in turn would leave them. */
interface EventPart {
  deviceName: string | null;
  activityType: string;
  /** Unix seconds */
  time: number;
  timeRaw: string | null;
  zones: string | null;
  confidence: number | null;
  region: string | null;
  label: string | null;
  score: number | null;
  box: string | null;
}

interface EventParts {
  eventId: string;
  deviceId: string;
  start?: EventPart;
  stop?: EventPart;
}

/** What a start or a stop says of its event; what the camera only tells at the start (confidence, region, detection) is empty for a stop. */
function eventPart(r: ActivityRecord, at: 'start' | 'stop'): EventPart {
  const start = at === 'start';
  return {
    deviceName: v(r.deviceName),
    activityType: r.activityType,
    time: sec(r.timeMs),
    timeRaw: v(r.deviceTimeRaw),
    zones: zonesText(r.zones),
    confidence: start ? v(r.confidence) : null,
    region: start ? v(r.region) : null,
    label: start ? v(r.detection?.label) : null,
    score: start ? v(r.detection?.score) : null,
    box: start ? v(r.detection && JSON.stringify(r.detection.box)) : null,
  };
}

const longer = (a: string | null, b: string | null): string | null => (b === null ? a : a === null || b.length > a.length ? b : a);

/** A start again: its time and type replace, what it leaves out stays, zones only grow. */
function laterStart(kept: EventPart, next: EventPart): EventPart {
  return {
    ...next,
    deviceName: next.deviceName ?? kept.deviceName,
    confidence: next.confidence ?? kept.confidence,
    region: next.region ?? kept.region,
    label: next.label ?? kept.label,
    score: next.score ?? kept.score,
    box: next.box ?? kept.box,
    zones: longer(kept.zones, next.zones),
  };
}

/** A stop again: its time replaces; name and type stay the first's (a stop never changes them); zones if it has some. */
function laterStop(kept: EventPart, next: EventPart): EventPart {
  return { ...kept, time: next.time, timeRaw: next.timeRaw, zones: next.zones ?? kept.zones };
}

/** One row of ACTIVITY for an event's parts. */
function activityRow(e: EventParts, now: number): SqlValue[] {
  const { start, stop } = e;
  const first = (start ?? stop)!;
  return [
    e.eventId,
    e.deviceId,
    first.deviceName,
    first.activityType,
    start?.time ?? null,
    stop?.time ?? null,
    start && stop ? Math.max(stop.time - start.time, 0) : null,
    start?.confidence ?? null,
    start?.region ?? null,
    now,
    0,
    start?.timeRaw ?? null,
    stop?.timeRaw ?? null,
    // The stop's zones are the event's; without any, the start's.
    stop?.zones ?? start?.zones ?? null,
    start?.label ?? null,
    start?.score ?? null,
    start?.box ?? null,
  ];
}

/**
 * The statements that store `records` in one transaction. Each table gets one multi-row
 * statement, its rows merged per key (PostgreSQL refuses to upsert one row twice in a
 * statement) and sorted by it: two runtimes writing batches that share rows then lock them in
 * the same order and do not deadlock each other (issue 21: unsorted, 177 of 3,000 events
 * stayed unpaired). Tables come in a fixed order for the same reason.
 */
export function batchStatements(
  records: readonly StoreRecord[],
  nowMs: number,
  sql: SqlDialect = sqlOf({ dialect: 'sqlite' }),
  touches?: RegistryTouches,
): Statement[] {
  return batchTables(records, nowMs, touches).flatMap((t) => multiRow(sql, t));
}

/** The tables a batch writes, in the order it writes them (see batchStatements). */
const BATCH_TABLES: readonly Shape[] = [REGISTRY, STATUS_EVENTS, ACTIVITY, CAMERA_STATE, SENSORS, COMMANDS, STREAM_HEALTH, DEAD_LETTERS];

/**
 * SQLite: a view to insert a whole batch into, one column per table holding that table's rows
 * (or NULL), whose trigger runs batchStatements' statements in their order. A TEMP view and
 * trigger live on the connection that creates them (the store's writer), so nothing of them is
 * in the file and they always match this version's tables. Why: every statement is a trip to
 * SQLite's thread whose end the event loop must hear before the next one starts; under load the
 * loop answers after milliseconds, and a batch of five statements and its BEGIN and COMMIT spent
 * more time waiting for it than writing. One statement on its own is its own transaction.
 */
export function recordBatchView(): string {
  const sql = sqlOf({ dialect: 'sqlite' });
  const inserts = BATCH_TABLES.map(
    (t) => `  INSERT INTO ${t.table} (${t.columns.join(', ')}) ${sql.rowsSource(t.table, t.columns, `NEW.${t.table}`)}${t.tail(sql)};`,
  );
  return `CREATE TEMP VIEW IF NOT EXISTS record_batch AS SELECT ${BATCH_TABLES.map((t) => `NULL AS ${t.table}`).join(', ')};
CREATE TEMP TRIGGER IF NOT EXISTS record_batch_insert INSTEAD OF INSERT ON record_batch BEGIN
${inserts.join('\n')}
END;`;
}

const RECORD_BATCH_INSERT = `INSERT INTO record_batch (${BATCH_TABLES.map((t) => t.table).join(', ')}) VALUES (${BATCH_TABLES.map(() => '?').join(', ')})`;

/** SQLite: `records` as one statement into recordBatchView's view (which must exist on the connection). */
export function recordBatchStatement(records: readonly StoreRecord[], nowMs: number, touches?: RegistryTouches): Statement {
  const sql = sqlOf({ dialect: 'sqlite' });
  const byTable = new Map(batchTables(records, nowMs, touches).map((t) => [t.table, t]));
  return {
    sql: RECORD_BATCH_INSERT,
    params: BATCH_TABLES.map((shape) => {
      const t = byTable.get(shape.table);
      return t ? rowsParam(sql, t) : null;
    }),
  };
}

/**
 * The tables `records` write to (none without rows), in BATCH_TABLES' order. With `touches`, a
 * registry row that would only say "heard again" is left out while the stored one says as much.
 */
function batchTables(records: readonly StoreRecord[], nowMs: number, touches?: RegistryTouches): TableRows[] {
  const registry = new Map<string, RegistryPatch>();
  const events = new Map<string, EventParts>();
  const event = (r: ActivityRecord): EventParts => {
    const k = `${r.deviceId}\u0000${r.eventId}`;
    let e = events.get(k);
    if (!e) events.set(k, (e = { eventId: r.eventId, deviceId: r.deviceId }));
    return e;
  };
  const tables = {
    status: { ...STATUS_EVENTS, rows: [] as SqlValue[][] },
    state: { ...CAMERA_STATE, rows: [] as SqlValue[][] },
    sensors: { ...SENSORS, rows: [] as SqlValue[][] },
    commands: { ...COMMANDS, rows: [] as SqlValue[][] },
    health: { ...STREAM_HEALTH, rows: [] as SqlValue[][] },
    dead: { ...DEAD_LETTERS, rows: [] as SqlValue[][] },
  };
  const now = sec(nowMs);

  /** `timeMs` undefined: a message without a time of its own (an untimed connection) says nothing of last_seen. */
  const patch = (deviceId: string, deviceType: string, timeMs: number | undefined, heard = true): RegistryPatch => {
    let p = registry.get(deviceId);
    if (!p) {
      p = { deviceType };
      registry.set(deviceId, p);
    }
    p.deviceType = deviceType;
    if (heard) p.heardMs = nowMs;
    // A device clock ahead of ours must not pin last_seen in the future.
    if (timeMs !== undefined) p.lastSeenMs = Math.min(Math.max(p.lastSeenMs ?? timeMs, timeMs), nowMs);
    return p;
  };

  for (const r of records) {
    switch (r.kind) {
      case 'connection': {
        const p = patch(r.deviceId, r.deviceType, r.untimed ? undefined : r.timeMs);
        connectionAt(p, r.status, r.untimed ? undefined : r.timeMs);
        p.name = r.name ?? p.name;
        // The address a camera reports on connect stays in its status row: the registry's
        // comes from the heartbeat's ethernet.ipAddress (vbc01-protocol.md §5.1, §5.2).
        p.firmware = r.firmwareVersion ?? p.firmware;
        p.hardware = r.hardwareVersion ?? p.hardware;
        p.serial = r.serialNumber ?? p.serial;
        p.alert = r.announced ?? p.alert;
        tables.status.rows.push([
          r.deviceId,
          'connection',
          r.status,
          sec(r.timeMs),
          v(r.name),
          r.clientId ?? r.deviceId,
          v(r.ipAddress),
          v(r.firmwareVersion),
          null,
          null,
          null,
          r.raw,
          now,
          null,
          null,
          v(r.deviceTimeRaw),
        ]);
        break;
      }
      case 'connection-alert':
        // Not a message of the device: it says nothing of when the device was last seen or heard.
        patch(r.deviceId, r.deviceType, undefined, false).alert = r.announced;
        break;
      case 'heartbeat':
        tables.status.rows.push(health(patch(r.deviceId, r.deviceType, r.timeMs), r, 'heartbeat', now));
        break;
      case 'activity-start': {
        patch(r.deviceId, r.deviceType, r.timeMs);
        const e = event(r);
        e.start = e.start ? laterStart(e.start, eventPart(r, 'start')) : eventPart(r, 'start');
        break;
      }
      case 'activity-stop': {
        patch(r.deviceId, r.deviceType, r.timeMs);
        const e = event(r);
        e.stop = e.stop ? laterStop(e.stop, eventPart(r, 'stop')) : eventPart(r, 'stop');
        break;
      }
      case 'camera-state': {
        // Handled as a heartbeat, as the real processor does (vbc01-protocol.md §5.4).
        const p = patch(r.deviceId, r.deviceType, r.timeMs);
        tables.status.rows.push(health(p, r, 'status', now));
        if (r.mode) {
          p.mode = r.mode;
          tables.state.rows.push([r.deviceId, 'mode', r.mode, sec(r.timeMs)]);
        }
        break;
      }
      case 'sensor':
        patch(r.deviceId, r.deviceType, r.timeMs);
        tables.sensors.rows.push([r.deviceId, r.timeMs, v(r.temperature), v(r.humidity), v(r.pressure), v(r.deviceTimeRaw)]);
        break;
      case 'command':
        // The requested mode is what a reconnecting camera gets back (seed 004's restore).
        if (r.mode) tables.state.rows.push([r.deviceId, 'mode', r.mode, sec(r.timeMs)]);
        // So are its masks and zones (issue 20), and the dashboard draws them from here.
        if (r.zones) tables.state.rows.push([r.deviceId, 'zones', JSON.stringify(r.zones), sec(r.timeMs)]);
        tables.commands.rows.push([r.requestId, r.deviceId, r.action, r.topic, v(r.mode), r.timeMs]);
        break;
      case 'stream-health':
        // A MediaMTX path is not a camera: no registry row.
        tables.health.rows.push([
          r.deviceId,
          r.timeMs,
          r.online ? 1 : 0,
          r.readers,
          v(r.inboundKbps),
          v(r.outboundKbps),
          v(r.framesInError),
          v(r.sourceType),
        ]);
        break;
      case 'dead-letter':
        tables.dead.rows.push([r.timeMs, r.source, r.reason, v(r.deviceId), r.payload, r.payloadBytes]);
        break;
    }
  }

  const registryRows: SqlValue[][] = [];
  for (const [id, p] of registry) {
    const touch = {
      deviceId: id,
      deviceType: p.deviceType,
      lastSeenSec: p.lastSeenMs === undefined ? null : sec(p.lastSeenMs),
      heardMs: p.heardMs ?? null,
    };
    if (touches && onlyHeard(p) && touches.covers(touch)) continue;
    touches?.writing(touch);
    registryRows.push([
      id,
      p.deviceType,
      v(p.name),
      v(p.ip),
      v(p.firmware),
      v(p.hardware),
      v(p.serial),
      v(p.mode),
      v(p.connection),
      v(p.battery),
      v(p.signal),
      p.lastSeenMs === undefined ? null : sec(p.lastSeenMs),
      now,
      now,
      v(p.alert),
      v(p.connection === undefined ? undefined : p.connectionMs),
      v(p.connection === undefined ? undefined : nowMs),
      v(p.heardMs),
    ]);
  }

  const activityRows = [...events.values()].map((e) => activityRow(e, now));

  // Registry first, so a query joined on it never sees an event of an unknown camera.
  return [
    { ...REGISTRY, rows: registryRows },
    tables.status,
    { ...ACTIVITY, rows: activityRows },
    tables.state,
    tables.sensors,
    tables.commands,
    tables.health,
    tables.dead,
  ].filter((t) => t.rows.length > 0);
}

/** A registry patch that says nothing but that the device was heard (and when). */
function onlyHeard(p: RegistryPatch): boolean {
  return (
    p.name === undefined &&
    p.ip === undefined &&
    p.firmware === undefined &&
    p.hardware === undefined &&
    p.serial === undefined &&
    p.mode === undefined &&
    p.connection === undefined &&
    p.battery === undefined &&
    p.signal === undefined &&
    p.alert === undefined
  );
}

/**
 * A connection status of the batch: the latest by the device's time is kept (as the stored row
 * keeps it). An untimed one (`timeMs` undefined, a Will) comes after the device's messages before
 * it in the batch; a timed one after it wins only when it is newer than those.
 */
function connectionAt(p: RegistryPatch, status: string, timeMs: number | undefined): void {
  if (timeMs === undefined) {
    p.connection = status;
    p.connectionMs = undefined;
    p.untimedAfterMs = p.lastSeenMs ?? 0;
    return;
  }
  if (p.connection !== undefined && timeMs < (p.connectionMs ?? p.untimedAfterMs! + 1)) return;
  p.connection = status;
  p.connectionMs = timeMs;
}

/** A heartbeat's or camera/state's status row, and what it tells the registry. */
function health(p: RegistryPatch, r: HeartbeatRecord | CameraStateRecord, eventType: string, now: number): SqlValue[] {
  p.battery = r.batteryLevel ?? p.battery;
  p.signal = r.signalStrength ?? p.signal;
  p.ip = r.ipAddress ?? p.ip;
  // "online" or "active" is connected; another status says nothing about the link.
  if (r.online) connectionAt(p, 'connected', r.timeMs);
  return [
    r.deviceId,
    eventType,
    // The Pi's stream state, else the status a camera reported: part of migration 6's key.
    v(r.streamState ?? r.status),
    sec(r.timeMs),
    null,
    r.deviceId,
    v(r.ipAddress),
    null,
    v(r.batteryLevel),
    v(r.temperature),
    v(r.uptime),
    r.raw,
    now,
    v(r.signalStrength),
    v(r.streamState),
    v(r.deviceTimeRaw),
  ];
}

/**
 * One statement per table and batch, with the rows as ONE bound JSON parameter
 * that the database unpacks itself (dialect.ts `rowsSource`). Binding thousands of
 * separate values instead runs on the event loop and cost 11 % of ingest CPU (SQLite).
 */
const sqlCache = new Map<string, string>();

function multiRow(sql: SqlDialect, t: TableRows): Statement[] {
  const cacheKey = `${sql.name}:${t.table}`;
  let text = sqlCache.get(cacheKey);
  if (!text) {
    text = `INSERT INTO ${t.table} (${t.columns.join(', ')}) ${sql.rowsSource(t.table, t.columns)}${t.tail(sql)}`;
    sqlCache.set(cacheKey, text);
  }
  return [{ sql: text, params: [rowsParam(sql, t)] }];
}

/** A table's rows of a batch as the one parameter its statement binds. */
function rowsParam(sql: SqlDialect, t: TableRows): string {
  return sql.rowsParam(t.columns, t.key ? mergedByKey(t.rows, t.key, t.merge) : t.rows);
}

/** One row per key (`merge` says which; the later by default), sorted by key. */
function mergedByKey(
  rows: readonly SqlValue[][],
  key: readonly number[],
  merge = (_kept: SqlValue[], next: SqlValue[]) => next,
): SqlValue[][] {
  const byKey = new Map<string, SqlValue[]>();
  for (const row of rows) {
    // The unique index of status events compares a NULL status as '' (migration 6).
    const k = JSON.stringify(key.map((i) => row[i] ?? ''));
    const kept = byKey.get(k);
    byKey.set(k, kept ? merge(kept, row) : row);
  }
  return [...byKey.values()].sort((a, b) => compareKeys(a, b, key));
}

function compareKeys(a: SqlValue[], b: SqlValue[], key: readonly number[]): number {
  for (const i of key) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}
