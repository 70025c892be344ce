/**
 * Decode and validate device payloads into store records. Every rejection names
 * the field and what was wrong, because the reason is what a user reads in the
 * dead-letter table.
 */
import { ZONE_LIMITS, ZONE_NAME_PATTERN } from '../lib/contract/zones';
import {
  CAMERA_MODES,
  EVENT_ID_PATTERN,
  type ActivityRecord,
  type CameraMode,
  type CameraStateRecord,
  type ConnectionRecord,
  type DeviceHealth,
  type HeartbeatRecord,
  type SensorRecord,
  type StoreRecord,
} from '../lib/types';
import { readDetection } from '../lib/detect/payload';
import type { Detection } from '../lib/detect/types';
import { deviceTime, type ClockWindow } from './device-time';
import { readPicture } from '../lib/uploads/picture';
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

/** `name` is the field's path in the payload, for the dead letter's reason. */
function optNumber(obj: Json, field: string, min?: number, max?: number, name = field): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidPayload(`field "${name}" must be a number`);
  if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
    throw new InvalidPayload(`field "${name}" out of range ${min}..${max}: ${v}`);
  }
  return v;
}

function optString(obj: Json, field: string, maxLength = 256, name = field): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidPayload(`field "${name}" must be a string`);
  if (v.length > maxLength) throw new InvalidPayload(`field "${name}" longer than ${maxLength} characters`);
  return v;
}

export function parseMode(value: unknown, field = 'mode'): CameraMode {
  const mode = typeof value === 'string' ? value.toUpperCase() : undefined;
  if (!mode || !(CAMERA_MODES as readonly string[]).includes(mode)) {
    throw new InvalidPayload(`field "${field}" must be one of ${CAMERA_MODES.join(', ')}`);
  }
  return mode as CameraMode;
}

/**
 * `status` "connected" in any case is connected; any other value, or none, is
 * disconnected: that is how the real processor reads a Last Will such as
 * `{"eventType":"DISCONNECT"}` (vbc01-protocol.md §5.1). `device` that is not an
 * object is ignored like the heartbeat's parts.
 */
function connection(t: DeviceTopic, obj: Json, text: string, timeMs: number): ConnectionRecord {
  const status = typeof obj.status === 'string' && obj.status.toLowerCase() === 'connected' ? 'connected' : 'disconnected';
  const device = part(obj, 'device');
  return {
    kind: 'connection',
    ...base(t, timeMs),
    status,
    name: optString(obj, 'name') ?? optString(device, 'name'),
    clientId: optString(obj, 'clientId', 128),
    ipAddress: optString(obj, 'ipAddress', 64),
    firmwareVersion: optString(device, 'softwareVersion'),
    hardwareVersion: optString(device, 'hardwareVersion'),
    serialNumber: optString(device, 'serialNumber'),
    raw: text,
  };
}

/**
 * A bare `DISCONNECT` on the connection topic (not JSON): the real platform drops it,
 * which would leave the camera online; a Will can only mean the camera went away.
 */
export function isBareDisconnect(t: DeviceTopic, text: string): boolean {
  return t.kind === 'connection' && text.trim().toUpperCase() === 'DISCONNECT';
}

/** `battery`, `radio`, `ethernet`, `device`: an object, or (anything else) ignored. */
function part(obj: Json, field: string): Json {
  const v = obj[field];
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

/** The heartbeat's fields (§5.2); `camera/state` carries the same. */
function health(obj: Json, text: string): DeviceHealth {
  const status = optString(obj, 'status', 64)?.toLowerCase();
  const battery = part(obj, 'battery');
  const radio = part(obj, 'radio');
  return {
    status,
    // No status means online (the real processor's default).
    online: status === undefined || status === 'online' || status === 'active',
    batteryLevel: optNumber(battery, 'level', 0, 100, 'battery.level') ?? optNumber(obj, 'batteryLevel', 0, 100),
    // dBm (about -120..0) or a percentage: beyond ±200 is no signal reading.
    signalStrength: optNumber(radio, 'signalStrength', -200, 200, 'radio.signalStrength') ?? optNumber(obj, 'signalStrength', -200, 200),
    // seconds; 10^10 s is 300 years: anything more is a counter gone wrong, not an uptime
    uptime: optNumber(obj, 'uptime', 0, 1e10),
    temperature: optNumber(obj, 'temperature', -60, 150),
    ipAddress: optString(part(obj, 'ethernet'), 'ipAddress', 64, 'ethernet.ipAddress'),
    streamState: optString(obj, 'streamState', 64),
    raw: text,
  };
}

function heartbeat(t: DeviceTopic, obj: Json, text: string, timeMs: number): HeartbeatRecord {
  return { kind: 'heartbeat', ...base(t, timeMs), ...health(obj, text) };
}

type ActivityPhase = 'start' | 'stop' | 'other';

/** `eventType` start, stop or end wins over the topic's level; end is a stop (§5.3). */
function activityPhase(level: string, eventType: unknown): { phase: ActivityPhase; level: string } {
  const given = typeof eventType === 'string' ? eventType.toLowerCase() : undefined;
  const word = given === 'start' || given === 'stop' || given === 'end' ? given : level;
  if (word === 'start') return { phase: 'start', level: word };
  if (word === 'stop' || word === 'end') return { phase: 'stop', level: word };
  return { phase: 'other', level: word };
}

function activity(t: DeviceTopic, obj: Json, timeMs: number): ActivityRecord {
  // Without an id the real processor names the event after the camera and the time.
  const eventId = optString(obj, 'eventId', 128) || `activity_${t.deviceId}_${Math.floor(timeMs / 1000)}`;
  if (!EVENT_ID_PATTERN.test(eventId)) throw new InvalidPayload(`field "eventId" must match ${EVENT_ID_PATTERN.source}`);
  const region = obj.region === undefined || obj.region === null ? undefined : JSON.stringify(obj.region);
  if (region !== undefined && region.length > 4096) throw new InvalidPayload('field "region" larger than 4096 bytes');
  const { phase, level } = activityPhase(t.level ?? 'start', obj.eventType);
  return {
    kind: phase === 'stop' ? 'activity-stop' : 'activity-start',
    ...base(t, timeMs),
    eventId,
    activityType: (optString(obj, 'activityType', 64) || 'MOTION').toUpperCase(),
    // Any range, as sent: VBC01 cameras send whole percentages (72), the Pi 0..1.
    confidence: optNumber(obj, 'confidence'),
    region,
    ...activityZones(obj.zones),
    ...(phase === 'start' ? detectionOf(obj) : {}),
    ...(phase === 'other' ? { level } : {}),
  };
}

/** Our cameras' zone names (issue 20): at most as many as a camera can have, each a zone name. */
function activityZones(zones: unknown): { zones?: string[] } {
  if (zones === undefined || zones === null) return {};
  const ok =
    Array.isArray(zones) && zones.length <= ZONE_LIMITS.polygons && zones.every((z) => typeof z === 'string' && ZONE_NAME_PATTERN.test(z));
  if (!ok) throw new InvalidPayload(`field "zones" must be a list of at most ${ZONE_LIMITS.polygons} zone names`);
  return { zones: zones as string[] };
}

/** What a camera's detector saw (issue 20), checked; only a start carries one. */
function detectionOf(obj: Json): { detection?: Detection } {
  try {
    const detection = readDetection(obj.detection);
    return detection ? { detection } : {};
  } catch (err) {
    throw new InvalidPayload((err as Error).message);
  }
}

/**
 * A heartbeat (§5.4). A mode the camera reports is kept when it is one we know;
 * anything else in it is only in the raw payload, as on the real platform.
 */
function cameraState(t: DeviceTopic, obj: Json, text: string, timeMs: number): CameraStateRecord {
  const mode = typeof obj.mode === 'string' ? obj.mode.toUpperCase() : undefined;
  const known = mode !== undefined && (CAMERA_MODES as readonly string[]).includes(mode);
  return { kind: 'camera-state', ...base(t, timeMs), ...health(obj, text), ...(known ? { mode: mode as CameraMode } : {}) };
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
  /** the record's time is the receive time: it carried no timestamp, or one that could not be used */
  receiveTime: boolean;
  /** why the device's timestamp was replaced by the receive time (record.deviceTimeRaw keeps it) */
  timeProblem?: string;
}

/** Topic already parsed; payload already checked for size and depth. Throws InvalidPayload. */
export function toRecord(t: DeviceTopic, text: string, value: unknown, nowMs: number, clock: ClockWindow): ParsedRecord {
  const obj = value === undefined && isBareDisconnect(t, text) ? {} : parseJsonObject(text, value);
  const time = deviceTime(obj.timestamp, nowMs, clock);
  const record = fromObject(t, obj, text, time.timeMs);
  const untimed = obj.timestamp === undefined || obj.timestamp === null;
  if (record.kind === 'connection' && untimed) record.untimed = true;
  if (time.raw === undefined) return { record, receiveTime: untimed };
  record.deviceTimeRaw = time.raw;
  return { record, receiveTime: true, timeProblem: time.problem };
}

function fromObject(t: DeviceTopic, obj: Json, text: string, timeMs: number): Exclude<StoreRecord, { kind: 'dead-letter' }> {
  switch (t.kind) {
    case 'connection':
      return connection(t, obj, text, timeMs);
    case 'heartbeat':
      return heartbeat(t, obj, text, timeMs);
    case 'activity':
      return activity(t, obj, timeMs);
    case 'camera-state':
      return cameraState(t, obj, text, timeMs);
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
  const picture = readPicture(bytes);
  if (typeof picture === 'string') throw new InvalidPayload(`thumbnail is ${picture}`);
  return bytes;
}
