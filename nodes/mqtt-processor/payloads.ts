/**
 * Decode and validate device payloads into store records. Every rejection names
 * the field and what was wrong, because the reason is what a user reads in the
 * dead-letter table.
 */
import {
  CAMERA_MODES,
  EVENT_ID_PATTERN,
  type ActivityRecord,
  type CameraMode,
  type CameraStateRecord,
  type ConnectionRecord,
  type HeartbeatRecord,
  type SensorRecord,
  type StoreRecord,
} from '../lib/types';
import { deviceTime, type ClockWindow } from './device-time';
import type { DeviceTopic } from './topics';

export class InvalidPayload extends Error {}

type Json = Record<string, unknown>;

export function parseJsonObject(text: string, value?: unknown): Json {
  let parsed = value;
  if (parsed === undefined) {
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new InvalidPayload(`invalid JSON: ${(err as Error).message}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidPayload('payload must be a JSON object');
  }
  return parsed as Json;
}

function optNumber(obj: Json, field: string, min?: number, max?: number): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidPayload(`field "${field}" must be a number`);
  if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
    throw new InvalidPayload(`field "${field}" out of range ${min}..${max}: ${v}`);
  }
  return v;
}

function optString(obj: Json, field: string, maxLength = 256): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidPayload(`field "${field}" must be a string`);
  if (v.length > maxLength) throw new InvalidPayload(`field "${field}" longer than ${maxLength} characters`);
  return v;
}

function optObject(obj: Json, field: string): Json | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidPayload(`field "${field}" must be an object`);
  return v as Json;
}

export function parseMode(value: unknown, field = 'mode'): CameraMode {
  const mode = typeof value === 'string' ? value.toUpperCase() : undefined;
  if (!mode || !(CAMERA_MODES as readonly string[]).includes(mode)) {
    throw new InvalidPayload(`field "${field}" must be one of ${CAMERA_MODES.join(', ')}`);
  }
  return mode as CameraMode;
}

const CONNECTION_STATUS: Record<string, 'connected' | 'disconnected'> = {
  connected: 'connected',
  online: 'connected',
  disconnected: 'disconnected',
  offline: 'disconnected',
};

function connection(t: DeviceTopic, obj: Json, text: string, timeMs: number): ConnectionRecord {
  const raw = typeof obj.status === 'string' ? obj.status.toLowerCase() : undefined;
  const status = raw ? CONNECTION_STATUS[raw] : undefined;
  if (!status) throw new InvalidPayload('field "status" must be "connected" or "disconnected"');
  const device = optObject(obj, 'device') ?? {};
  return {
    kind: 'connection',
    ...base(t, timeMs),
    status,
    name: optString(obj, 'name') ?? optString(device, 'name'),
    ipAddress: optString(obj, 'ipAddress', 64),
    firmwareVersion: optString(device, 'softwareVersion'),
    hardwareVersion: optString(device, 'hardwareVersion'),
    serialNumber: optString(device, 'serialNumber'),
    raw: text,
  };
}

function heartbeat(t: DeviceTopic, obj: Json, text: string, timeMs: number): HeartbeatRecord {
  return {
    kind: 'heartbeat',
    ...base(t, timeMs),
    batteryLevel: optNumber(obj, 'battery', 0, 100) ?? optNumber(obj, 'batteryLevel', 0, 100),
    // dBm (about -120..0) or a percentage: beyond ±200 is no signal reading.
    signalStrength: optNumber(obj, 'signal', -200, 200) ?? optNumber(obj, 'signalStrength', -200, 200),
    // seconds; 10^10 s is 300 years: anything more is a counter gone wrong, not an uptime
    uptime: optNumber(obj, 'uptime', 0, 1e10),
    temperature: optNumber(obj, 'temperature', -60, 150),
    streamState: optString(obj, 'streamState', 64),
    raw: text,
  };
}

function activity(t: DeviceTopic, obj: Json, timeMs: number): ActivityRecord {
  const eventId = optString(obj, 'eventId', 128);
  if (!eventId) throw new InvalidPayload('field "eventId" is required');
  if (!EVENT_ID_PATTERN.test(eventId)) throw new InvalidPayload(`field "eventId" must match ${EVENT_ID_PATTERN.source}`);
  const region = obj.region === undefined || obj.region === null ? undefined : JSON.stringify(obj.region);
  if (region !== undefined && region.length > 4096) throw new InvalidPayload('field "region" larger than 4096 bytes');
  return {
    kind: t.kind === 'activity-start' ? 'activity-start' : 'activity-stop',
    ...base(t, timeMs),
    eventId,
    activityType: (optString(obj, 'activityType', 64) ?? 'MOTION').toUpperCase(),
    confidence: optNumber(obj, 'confidence', 0, 1),
    region,
  };
}

const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

function cameraState(t: DeviceTopic, obj: Json, timeMs: number): CameraStateRecord {
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(obj)) {
    if (name === 'mode' || name === 'timestamp') continue;
    if (name.length > 64) throw new InvalidPayload(`setting name longer than 64 characters`);
    // Stored as camera_state rows and read back into objects: a name that is an
    // object's own machinery ("__proto__") would rewrite that object's prototype.
    if (RESERVED_NAMES.has(name)) throw new InvalidPayload(`setting name "${name}" is not allowed`);
    settings[name] = JSON.stringify(value);
  }
  return {
    kind: 'camera-state',
    ...base(t, timeMs),
    mode: obj.mode === undefined ? undefined : parseMode(obj.mode),
    settings,
  };
}

/** Ranges are the Sense HAT chips' measuring ranges (HTS221, LPS25H). */
function sensor(t: DeviceTopic, obj: Json, timeMs: number): SensorRecord {
  const rec: SensorRecord = {
    kind: 'sensor',
    ...base(t, timeMs),
    temperature: optNumber(obj, 'temperature', -40, 120),
    humidity: optNumber(obj, 'humidity', 0, 100),
    pressure: optNumber(obj, 'pressure', 260, 1260),
  };
  if (rec.temperature === undefined && rec.humidity === undefined && rec.pressure === undefined) {
    throw new InvalidPayload('no reading: expected temperature, humidity or pressure');
  }
  return rec;
}

function base(t: DeviceTopic, timeMs: number) {
  return { deviceId: t.deviceId, deviceType: t.deviceType, timeMs };
}

export interface ParsedRecord {
  record: StoreRecord;
  /** why the device's timestamp was replaced by the receive time (record.deviceTimeRaw keeps it) */
  timeProblem?: string;
}

/** Topic already parsed; payload already checked for size and depth. Throws InvalidPayload. */
export function toRecord(t: DeviceTopic, text: string, value: unknown, nowMs: number, clock: ClockWindow): ParsedRecord {
  const obj = parseJsonObject(text, value);
  const time = deviceTime(obj.timestamp, nowMs, clock);
  const record = fromObject(t, obj, text, time.timeMs);
  if (time.raw === undefined) return { record };
  record.deviceTimeRaw = time.raw;
  return { record, timeProblem: time.problem };
}

function fromObject(t: DeviceTopic, obj: Json, text: string, timeMs: number): Exclude<StoreRecord, { kind: 'dead-letter' }> {
  switch (t.kind) {
    case 'connection':
      return connection(t, obj, text, timeMs);
    case 'heartbeat':
      return heartbeat(t, obj, text, timeMs);
    case 'activity-start':
    case 'activity-stop':
      return activity(t, obj, timeMs);
    case 'camera-state':
      return cameraState(t, obj, timeMs);
    case 'sensor':
      return sensor(t, obj, timeMs);
    case 'thumbnail':
      // Binary: the processor handles it before anything parses JSON.
      throw new InvalidPayload('a thumbnail is not a JSON record');
  }
}

/** A thumbnail's payload: the JPEG's bytes. */
export function jpegBytes(payload: unknown, maxBytes: number): Buffer {
  const bytes = Buffer.isBuffer(payload) ? payload : payload instanceof Uint8Array ? Buffer.from(payload) : undefined;
  if (!bytes) throw new InvalidPayload('a thumbnail must be the JPEG bytes (MQTT binary payload)');
  if (bytes.length > maxBytes) throw new InvalidPayload(`payload of ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`);
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new InvalidPayload('thumbnail is not a JPEG (no FF D8 start)');
  return bytes;
}
