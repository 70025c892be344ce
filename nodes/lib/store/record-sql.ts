/**
 * Turns a batch of store records into a few multi-row, parameterised
 * statements. Multi-row statements matter: with sqlite3 every statement is a
 * round trip to the worker thread, and one statement per row caps ingest at a
 * few thousand rows per second.
 */
import type { CameraStateRecord, HeartbeatRecord, StoreRecord } from '../types';
import type { SqlValue } from './connection';

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
  battery?: number;
  signal?: number;
  /** the connection alert the user got with this batch */
  alert?: string;
  lastSeenMs: number;
}

interface TableRows {
  head: string;
  columns: number;
  tail: string;
  rows: SqlValue[][];
}

const REGISTRY: Omit<TableRows, 'rows'> = {
  head: `INSERT INTO camera_registry (camera_id, device_type, camera_name, ip_address, firmware_version,
    hardware_version, serial_number, status, connection_status, battery_level, signal_strength,
    last_seen, created_at, updated_at, connection_alert)`,
  columns: 15,
  tail: ` ON CONFLICT (camera_id) DO UPDATE SET
    device_type = excluded.device_type,
    camera_name = COALESCE(excluded.camera_name, camera_name),
    ip_address = COALESCE(excluded.ip_address, ip_address),
    firmware_version = COALESCE(excluded.firmware_version, firmware_version),
    hardware_version = COALESCE(excluded.hardware_version, hardware_version),
    serial_number = COALESCE(excluded.serial_number, serial_number),
    status = COALESCE(excluded.status, status),
    connection_status = COALESCE(excluded.connection_status, connection_status),
    battery_level = COALESCE(excluded.battery_level, battery_level),
    signal_strength = COALESCE(excluded.signal_strength, signal_strength),
    last_seen = MAX(COALESCE(last_seen, 0), excluded.last_seen),
    updated_at = excluded.updated_at,
    connection_alert = COALESCE(excluded.connection_alert, connection_alert)`,
};

const STATUS_EVENTS: Omit<TableRows, 'rows'> = {
  head: `INSERT INTO status_events (camera_id, event_type, status, timestamp, camera_name, client_id, ip_address,
    firmware_version, battery_level, temperature, uptime, raw_payload, created_at, signal_strength, stream_state,
    device_time_raw)`,
  columns: 16,
  // The same message again (an outbox replay, a QoS 1 redelivery) is already stored: migration 6's key.
  tail: ' ON CONFLICT DO NOTHING',
};

// An event's zone lists only grow (a start sent again with a zone touched later, a stop with
// every zone; each in the order the zones were drawn): the longer list is the later one.
const LONGER_ZONES = `CASE WHEN excluded.zones IS NULL THEN zones WHEN zones IS NULL OR length(excluded.zones) > length(zones)
    THEN excluded.zones ELSE zones END`;

// A stop can arrive before its start (out-of-order delivery or a lost start):
// both statements are upserts, and whichever comes second computes the duration.
// An event is the camera's: two cameras may send the same event id (issue 13).
const ACTIVITY_STARTS: Omit<TableRows, 'rows'> = {
  head: `INSERT INTO activity_events (event_id, camera_id, camera_name, activity_type, start_timestamp,
    confidence, region, created_at, telegram_notified, start_time_raw, zones, detection_label, detection_score, detection_box)`,
  columns: 14,
  tail: ` ON CONFLICT (camera_id, event_id) DO UPDATE SET
    start_timestamp = excluded.start_timestamp,
    start_time_raw = excluded.start_time_raw,
    activity_type = excluded.activity_type,
    camera_name = COALESCE(excluded.camera_name, camera_name),
    confidence = COALESCE(excluded.confidence, confidence),
    region = COALESCE(excluded.region, region),
    zones = ${LONGER_ZONES},
    detection_label = COALESCE(excluded.detection_label, detection_label),
    detection_score = COALESCE(excluded.detection_score, detection_score),
    detection_box = COALESCE(excluded.detection_box, detection_box),
    duration_seconds = CASE WHEN end_timestamp IS NULL THEN NULL ELSE end_timestamp - excluded.start_timestamp END`,
};

const ACTIVITY_STOPS: Omit<TableRows, 'rows'> = {
  head: `INSERT INTO activity_events (event_id, camera_id, camera_name, activity_type, end_timestamp,
    created_at, telegram_notified, end_time_raw, zones)`,
  columns: 9,
  // A stop's zones are every zone of the event (a start's, those of its first moments only).
  tail: ` ON CONFLICT (camera_id, event_id) DO UPDATE SET
    zones = COALESCE(excluded.zones, zones),
    end_timestamp = excluded.end_timestamp,
    end_time_raw = excluded.end_time_raw,
    duration_seconds = CASE WHEN start_timestamp IS NULL THEN NULL ELSE excluded.end_timestamp - start_timestamp END`,
};

const CAMERA_STATE: Omit<TableRows, 'rows'> = {
  head: 'INSERT INTO camera_state (camera_id, setting_name, setting_value, last_updated)',
  columns: 4,
  tail: ` ON CONFLICT (camera_id, setting_name) DO UPDATE SET
    setting_value = excluded.setting_value, last_updated = excluded.last_updated
    WHERE excluded.last_updated >= last_updated`,
};

const SENSORS: Omit<TableRows, 'rows'> = {
  head: 'INSERT INTO sensor_readings (device_id, time_ms, temperature, humidity, pressure, device_time_raw)',
  columns: 6,
  tail: ` ON CONFLICT (device_id, time_ms) DO UPDATE SET
    temperature = excluded.temperature, humidity = excluded.humidity, pressure = excluded.pressure,
    device_time_raw = excluded.device_time_raw`,
};

const COMMANDS: Omit<TableRows, 'rows'> = {
  head: 'INSERT INTO commands (request_id, device_id, action, topic, mode, created_ms)',
  columns: 6,
  tail: ' ON CONFLICT (request_id) DO NOTHING',
};

const STREAM_HEALTH: Omit<TableRows, 'rows'> = {
  head: `INSERT INTO stream_health (path, time_ms, online, readers, inbound_kbps, outbound_kbps, frames_in_error, source_type)`,
  columns: 8,
  tail: ` ON CONFLICT (path, time_ms) DO UPDATE SET online = excluded.online, readers = excluded.readers,
    inbound_kbps = excluded.inbound_kbps, outbound_kbps = excluded.outbound_kbps,
    frames_in_error = excluded.frames_in_error, source_type = excluded.source_type`,
};

const DEAD_LETTERS: Omit<TableRows, 'rows'> = {
  head: 'INSERT INTO dead_letters (received_ms, source, reason, device_id, payload, payload_bytes)',
  columns: 6,
  tail: '',
};

/** An event's zones as stored (migration 16): a JSON array, or NULL when the camera sent none. */
function zonesText(zones: readonly string[] | undefined): string | null {
  return zones === undefined ? null : JSON.stringify(zones);
}

export function batchStatements(records: readonly StoreRecord[], nowMs: number): Statement[] {
  const registry = new Map<string, RegistryPatch>();
  const tables = {
    status: { ...STATUS_EVENTS, rows: [] as SqlValue[][] },
    starts: { ...ACTIVITY_STARTS, rows: [] as SqlValue[][] },
    stops: { ...ACTIVITY_STOPS, rows: [] as SqlValue[][] },
    state: { ...CAMERA_STATE, rows: [] as SqlValue[][] },
    sensors: { ...SENSORS, rows: [] as SqlValue[][] },
    commands: { ...COMMANDS, rows: [] as SqlValue[][] },
    health: { ...STREAM_HEALTH, rows: [] as SqlValue[][] },
    dead: { ...DEAD_LETTERS, rows: [] as SqlValue[][] },
  };
  const now = sec(nowMs);

  const patch = (deviceId: string, deviceType: string, timeMs: number): RegistryPatch => {
    let p = registry.get(deviceId);
    if (!p) {
      p = { deviceType, lastSeenMs: Math.min(timeMs, nowMs) };
      registry.set(deviceId, p);
    }
    p.deviceType = deviceType;
    // A device clock ahead of ours must not pin last_seen in the future.
    p.lastSeenMs = Math.min(Math.max(p.lastSeenMs, timeMs), nowMs);
    return p;
  };

  for (const r of records) {
    switch (r.kind) {
      case 'connection': {
        const p = patch(r.deviceId, r.deviceType, r.timeMs);
        p.connection = r.status;
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
        patch(r.deviceId, r.deviceType, r.timeMs).alert = r.announced;
        break;
      case 'heartbeat':
        tables.status.rows.push(health(patch(r.deviceId, r.deviceType, r.timeMs), r, 'heartbeat', now));
        break;
      case 'activity-start':
        patch(r.deviceId, r.deviceType, r.timeMs);
        tables.starts.rows.push([
          r.eventId,
          r.deviceId,
          v(r.deviceName),
          r.activityType,
          sec(r.timeMs),
          v(r.confidence),
          v(r.region),
          now,
          0,
          v(r.deviceTimeRaw),
          zonesText(r.zones),
          v(r.detection?.label),
          v(r.detection?.score),
          v(r.detection && JSON.stringify(r.detection.box)),
        ]);
        break;
      case 'activity-stop':
        patch(r.deviceId, r.deviceType, r.timeMs);
        tables.stops.rows.push([
          r.eventId,
          r.deviceId,
          v(r.deviceName),
          r.activityType,
          sec(r.timeMs),
          now,
          0,
          v(r.deviceTimeRaw),
          zonesText(r.zones),
        ]);
        break;
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
      sec(p.lastSeenMs),
      now,
      now,
      v(p.alert),
    ]);
  }

  // Registry first, so a query joined on it never sees an event of an unknown camera.
  return [
    ...multiRow({ ...REGISTRY, rows: registryRows }),
    ...multiRow(tables.status),
    ...multiRow(tables.starts),
    ...multiRow(tables.stops),
    ...multiRow(tables.state),
    ...multiRow(tables.sensors),
    ...multiRow(tables.commands),
    ...multiRow(tables.health),
    ...multiRow(tables.dead),
  ];
}

/** A heartbeat's or camera/state's status row, and what it tells the registry. */
function health(p: RegistryPatch, r: HeartbeatRecord | CameraStateRecord, eventType: string, now: number): SqlValue[] {
  p.battery = r.batteryLevel ?? p.battery;
  p.signal = r.signalStrength ?? p.signal;
  p.ip = r.ipAddress ?? p.ip;
  // "online" or "active" is connected; another status says nothing about the link.
  if (r.online) p.connection = 'connected';
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
 * that SQLite unpacks with json_each on its worker thread. Binding thousands of
 * separate values instead runs on the event loop and cost 11 % of ingest CPU.
 * (`WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint.)
 */
const sqlCache = new Map<string, string>();

function multiRow(t: TableRows): Statement[] {
  if (t.rows.length === 0) return [];
  let sql = sqlCache.get(t.head);
  if (!sql) {
    const columns = Array.from({ length: t.columns }, (_, i) => `value ->> ${i}`).join(', ');
    sql = `${t.head} SELECT ${columns} FROM json_each(?) WHERE true${t.tail}`;
    sqlCache.set(t.head, sql);
  }
  return [{ sql, params: [JSON.stringify(t.rows)] }];
}
