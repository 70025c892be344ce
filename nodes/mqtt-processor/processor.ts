/**
 * The camera/Pi event pipeline without Node-RED: MQTT messages in, typed
 * records, alerts and commands out. The node file only wires this to outputs.
 */
import { randomBytes } from 'node:crypto';
import type {
  ActivityRecord,
  Alert,
  AlertSnapshot,
  CameraMode,
  CommandAction,
  CommandRecord,
  CommandRequest,
  DeadLetterRecord,
  MqttCommandMessage,
  StoreRecord,
} from '../lib/types';
import { DEVICE_ID_PATTERN } from '../lib/types';
import { ConnectionAlerts, type ConnectionAlertKind } from './connection-alerts';
import { decodePayload, InvalidPayload, jpegBytes, parseMode, toRecord } from './payloads';
import { fingerprint, RecentMap } from './recent';
import { SensorWatch, type Crossing, type SensorLimits } from './sensor-limits';
import { commandTopic, parseDeviceTopic, type TopicConfig } from './topics';

export interface ProcessorOptions extends TopicConfig {
  maxPayloadBytes: number;
  /** how long a camera must stay offline before the offline alert */
  debounceMs: number;
  /** dead letters keep this many bytes of the raw payload */
  deadLetterBytes: number;
  /** readings outside these raise sensor-out-of-range alerts */
  sensorLimits?: SensorLimits;
  now?: () => number;
}

export interface ProcessorOutput {
  /** what to store: the device's record, or a dead letter */
  record?: StoreRecord;
  /** alerts, and thumbnails for alerts already raised (a Pi's motion snapshot) */
  alerts: Array<Alert | AlertSnapshot>;
  commands: MqttCommandMessage[];
  /** why the input was rejected (also present as a dead-letter record) */
  rejected?: string;
  duplicate?: boolean;
}

export type CommandResult =
  { ok: true; command: MqttCommandMessage; record: CommandRecord } | { ok: false; statusCode: 400 | 404; error: string };

/** What the processor remembers about a device between messages. */
export interface KnownDevice {
  deviceType: string;
  name?: string;
  mode?: CameraMode;
}

/** A device as the database remembers it at start. */
export interface RememberedDevice extends KnownDevice {
  /** its last stored connection status, so a restart does not re-announce every camera */
  connected?: boolean;
}

export interface ProcessorCounters {
  received: number;
  records: number;
  rejected: number;
  duplicates: number;
  alerts: number;
  commands: number;
}

/** Shared empty output list; outputs are never appended to after they are returned. */
const NONE: never[] = [];

const REDELIVERY_WINDOW_MS = 10 * 60_000;
const PAIRING_WINDOW_MS = 24 * 3600_000;

export class Processor {
  readonly counters: ProcessorCounters = { received: 0, records: 0, rejected: 0, duplicates: 0, alerts: 0, commands: 0 };
  private readonly devices = new Map<string, KnownDevice>();
  private readonly seen = new RecentMap<number, true>(20_000, REDELIVERY_WINDOW_MS);
  private readonly openActivities = new RecentMap<string, number>(20_000, PAIRING_WINDOW_MS);
  private readonly connectionAlerts: ConnectionAlerts;
  private readonly sensors: SensorWatch;
  private readonly now: () => number;

  constructor(
    private readonly opts: ProcessorOptions,
    /** receives output produced later than the input (debounced offline alerts) */
    private readonly emitLater: (out: ProcessorOutput) => void,
  ) {
    this.now = opts.now ?? Date.now;
    this.sensors = new SensorWatch(opts.sensorLimits ?? {});
    this.connectionAlerts = new ConnectionAlerts(opts.debounceMs, (id, kind, atMs) => {
      this.counters.alerts++;
      this.emitLater({ alerts: [this.connectionAlert(id, kind, atMs)], commands: NONE });
    });
  }

  /** Devices known from the database at start, so names and modes survive restarts. */
  remember(deviceId: string, { connected, ...known }: RememberedDevice): void {
    this.devices.set(deviceId, { ...this.devices.get(deviceId), ...known });
    if (connected !== undefined) this.connectionAlerts.assume(deviceId, connected ? 'online' : 'offline');
  }

  handleDevice(topic: string, payload: unknown): ProcessorOutput {
    this.counters.received++;
    const nowMs = this.now();
    const decoded = decodePayload(payload);
    if (decoded.bytes > this.opts.maxPayloadBytes) {
      return this.reject(
        topic,
        decoded.text,
        decoded.bytes,
        `payload of ${decoded.bytes} bytes exceeds the ${this.opts.maxPayloadBytes}-byte limit`,
        nowMs,
      );
    }
    const parsedTopic = parseDeviceTopic(topic, this.opts);
    if (!parsedTopic.ok) return this.reject(topic, decoded.text, decoded.bytes, parsedTopic.reason, nowMs);
    const t = parsedTopic.topic;

    if (t.kind === 'thumbnail') return this.thumbnail(topic, payload, decoded, t.deviceId, t.deviceType, t.eventId!, nowMs);

    let record: StoreRecord;
    try {
      record = toRecord(t, decoded.text, decoded.value, nowMs);
    } catch (err) {
      if (!(err instanceof InvalidPayload)) throw err;
      return this.reject(topic, decoded.text, decoded.bytes, err.message, nowMs, t.deviceId);
    }

    // QoS1 redelivery repeats the packet verbatim. Activity is keyed by event id,
    // other kinds only when they carry their own timestamp (else a repeat is news).
    const key =
      record.kind === 'activity-start' || record.kind === 'activity-stop'
        ? fingerprint(`${record.kind}\u0000${t.deviceId}`, record.eventId)
        : decoded.text.includes('"timestamp"')
          ? fingerprint(topic, decoded.text)
          : undefined;
    if (key !== undefined) {
      if (this.seen.has(key, nowMs)) {
        this.counters.duplicates++;
        return { alerts: NONE, commands: NONE, duplicate: true };
      }
      this.seen.set(key, true, nowMs);
    }

    const device = this.track(t.deviceId, t.deviceType);
    const out: ProcessorOutput = { record, alerts: NONE, commands: NONE };
    switch (record.kind) {
      case 'connection':
        if (record.name) device.name = record.name;
        if (record.status === 'connected') {
          this.connectionAlerts.connected(t.deviceId, record.timeMs);
          const restore = device.mode ? this.restoreMode(t.deviceId, device.mode) : undefined;
          if (restore) out.commands = [restore];
        } else {
          this.connectionAlerts.disconnected(t.deviceId, record.timeMs);
        }
        break;
      case 'activity-start':
        record.deviceName = device.name;
        this.openActivities.set(record.eventId, record.timeMs, nowMs);
        out.alerts = [this.activityAlert(record, device)];
        break;
      case 'activity-stop': {
        record.deviceName = device.name;
        const startMs = this.openActivities.get(record.eventId, nowMs);
        if (startMs !== undefined) {
          record.startMs = startMs;
          this.openActivities.delete(record.eventId);
        }
        break;
      }
      case 'camera-state':
        if (record.mode) device.mode = record.mode;
        break;
      case 'sensor':
        if (this.sensors.active) {
          const crossings = this.sensors.check(record);
          if (crossings.length) out.alerts = crossings.map((c) => this.sensorAlert(record.deviceId, device, c, record.timeMs));
        }
        break;
      default:
        break;
    }
    this.count(out);
    return out;
  }

  handleCommand(req: CommandRequest): CommandResult {
    const fail = (statusCode: 400 | 404, error: string): CommandResult => ({ ok: false, statusCode, error });
    const actions: CommandAction[] = ['setmode', 'reboot', 'settings-update'];
    if (!actions.includes(req.action)) return fail(400, `unknown command "${String(req.action)}" (expected ${actions.join(', ')})`);
    if (typeof req.deviceId !== 'string' || !DEVICE_ID_PATTERN.test(req.deviceId)) {
      return fail(400, `invalid device id (must match ${DEVICE_ID_PATTERN.source})`);
    }
    const device = this.devices.get(req.deviceId);
    if (!device) return fail(404, `unknown device "${req.deviceId}"`);
    let mode: CameraMode | undefined;
    const extra: Record<string, unknown> = {};
    if (req.action === 'setmode') {
      try {
        mode = parseMode(req.mode);
      } catch (err) {
        return fail(400, (err as Error).message);
      }
      extra.mode = mode;
      device.mode = mode;
    } else if (req.action === 'settings-update') {
      if (!req.settings || typeof req.settings !== 'object' || Array.isArray(req.settings)) {
        return fail(400, 'settings-update needs a "settings" object');
      }
      extra.settings = req.settings;
    }
    const command = this.command(req.deviceId, device, req.action, extra);
    this.counters.commands++;
    const record: CommandRecord = {
      kind: 'command',
      deviceId: req.deviceId,
      deviceType: device.deviceType,
      timeMs: this.now(),
      action: req.action,
      requestId: command.payload.requestId,
      topic: command.topic,
      mode,
    };
    return { ok: true, command, record };
  }

  close(): void {
    this.connectionAlerts.close();
  }

  get flapsSuppressed(): number {
    return this.connectionAlerts.suppressed;
  }

  private restoreMode(deviceId: string, mode: CameraMode): MqttCommandMessage {
    return this.command(deviceId, this.devices.get(deviceId)!, 'setmode', { mode });
  }

  private command(deviceId: string, device: KnownDevice, action: CommandAction, extra: Record<string, unknown>): MqttCommandMessage {
    return {
      topic: commandTopic(this.opts.prefix, deviceId, action),
      payload: {
        requestId: `req_${randomBytes(8).toString('hex')}`,
        creationTimestamp: new Date(this.now()).toISOString(),
        sourceId: deviceId,
        sourceType: device.deviceType,
        ...extra,
      },
      qos: 1,
      retain: false,
      deviceId,
      action,
    } as MqttCommandMessage;
  }

  private track(deviceId: string, deviceType: string): KnownDevice {
    let device = this.devices.get(deviceId);
    if (!device) {
      device = { deviceType };
      this.devices.set(deviceId, device);
    }
    device.deviceType = deviceType;
    return device;
  }

  /** A device's picture for one of its events goes to the alert nodes, which add it to the alert. */
  private thumbnail(
    topic: string,
    payload: unknown,
    decoded: { text: string; bytes: number },
    deviceId: string,
    deviceType: string,
    eventId: string,
    nowMs: number,
  ): ProcessorOutput {
    let image: Buffer;
    try {
      image = jpegBytes(payload);
    } catch (err) {
      return this.reject(topic, decoded.text, decoded.bytes, (err as Error).message, nowMs, deviceId);
    }
    const device = this.track(deviceId, deviceType);
    this.counters.alerts++;
    const snapshot: AlertSnapshot = { kind: 'snapshot', deviceId, deviceName: device.name ?? deviceId, eventId, image, timeMs: nowMs };
    return { alerts: [snapshot], commands: NONE };
  }

  private activityAlert(record: ActivityRecord, device: KnownDevice): Alert {
    const name = device.name ?? record.deviceId;
    const what = record.activityType.toLowerCase().replace(/_/g, ' ');
    return {
      kind: 'activity',
      deviceId: record.deviceId,
      deviceType: record.deviceType,
      deviceName: name,
      timeMs: record.timeMs,
      severity: 'warning',
      text: `${what} detected on ${name}`,
      eventId: record.eventId,
      activityType: record.activityType,
      mode: device.mode,
    };
  }

  private sensorAlert(deviceId: string, device: KnownDevice, c: Crossing, timeMs: number): Alert {
    const name = device.name ?? deviceId;
    const limit = c.max !== undefined && c.value > c.max ? `above the ${c.max} ${c.unit} limit` : `below the ${c.min} ${c.unit} limit`;
    return {
      kind: 'sensor-out-of-range',
      deviceId,
      deviceType: device.deviceType,
      deviceName: name,
      timeMs,
      severity: 'warning',
      text: `${c.metric} ${c.value} ${c.unit} at ${name} is ${limit}`,
      sensor: { metric: c.metric, value: c.value, unit: c.unit, min: c.min, max: c.max },
    };
  }

  private connectionAlert(deviceId: string, kind: ConnectionAlertKind, atMs: number): Alert {
    const device = this.devices.get(deviceId);
    const name = device?.name ?? deviceId;
    return {
      kind,
      deviceId,
      deviceType: device?.deviceType ?? this.opts.deviceTypes[0]!,
      deviceName: name,
      timeMs: atMs,
      severity: kind === 'camera-offline' ? 'critical' : 'info',
      text: kind === 'camera-offline' ? `${name} went offline` : `${name} is online`,
      mode: device?.mode,
    };
  }

  private reject(source: string, text: string, bytes: number, reason: string, nowMs: number, deviceId?: string): ProcessorOutput {
    this.counters.rejected++;
    const record: DeadLetterRecord = {
      kind: 'dead-letter',
      timeMs: nowMs,
      source,
      reason,
      payload: truncate(text, this.opts.deadLetterBytes),
      payloadBytes: bytes,
      deviceId,
    };
    return { record, alerts: NONE, commands: NONE, rejected: reason };
  }

  private count(out: ProcessorOutput): void {
    if (out.record) this.counters.records++;
    this.counters.alerts += out.alerts.length;
    this.counters.commands += out.commands.length;
  }
}

/** Cut to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncate(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  return Buffer.from(text)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
