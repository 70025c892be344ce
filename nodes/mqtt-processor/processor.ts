/**
 * The camera/Pi event pipeline without Node-RED: MQTT messages in, typed
 * records, alerts and commands out. The node file only wires this to outputs.
 */
import type { ZonePolygon } from '../lib/contract/zones';
import { commandRefusal } from '../lib/contract/device-commands';
import { randomUUID } from 'node:crypto';
import type {
  ActivityRecord,
  Alert,
  AlertSnapshot,
  CameraMode,
  CommandAction,
  CommandRecord,
  CommandRequest,
  ConnectionAlertRecord,
  ConnectionRecord,
  DeadLetterRecord,
  MqttCommandMessage,
  StoreRecord,
} from '../lib/types';
import { COMMAND_ACTIONS } from '../lib/types';
import { commandFields, setModeFields } from './command-fields';
import { ConnectionAlerts, type ConnectionAlertKind } from './connection-alerts';
import { HostedCameras } from './hosted-cameras';
import { DEFAULT_CLOCK_WINDOW, type ClockWindow } from './device-time';
import { decodePayload } from './payload-limits';
import { InvalidPayload, jpegBytes, toRecord, type ParsedRecord } from './payloads';
import { fingerprint, RecentMap } from '../lib/recent';
import { SensorWatch, type Crossing, type SensorLimits } from './sensor-limits';
import type { LimitMemory } from '../lib/store/sensor-limit-states';
import { commandTopic, parseDeviceTopic, type TopicConfig } from './topics';
import { ReceiveClock } from './receive-clock';
import { ANY_DEVICE_ID_PATTERN, HOSTED_DEVICE_TYPE, splitHostedId } from '../lib/hosted-devices';
import { creationTimestamp } from '../lib/vbc01';
import type { SweptDevice } from '../lib/store/connection-sweep';

export interface ProcessorOptions extends TopicConfig {
  maxPayloadBytes: number;
  /** how long a camera must stay offline before the offline alert */
  debounceMs: number;
  /** dead letters keep this many bytes of the raw payload */
  deadLetterBytes: number;
  /** readings outside these raise sensor-out-of-range alerts */
  sensorLimits?: SensorLimits;
  /** device times outside this window around `now` are replaced by the receive time */
  clockWindow?: ClockWindow;
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
  /** the record is stored with the receive time because the device's timestamp was unusable: why */
  clockWarning?: string;
  /** alerts decided once the store answered (a sensor limit's crossing claimed there); never rejects */
  later?: Promise<Alert[]>;
}

/** What the leader's sweep makes: records to store (one batch) and alerts. */
export interface SweepOutput {
  records: ConnectionRecord[];
  alerts: Alert[];
}

export type CommandResult =
  { ok: true; command: MqttCommandMessage; record: CommandRecord } | { ok: false; statusCode: 400 | 404 | 409; error: string };

/** What the processor remembers about a device between messages. */
export interface KnownDevice {
  deviceType: string;
  name?: string;
  mode?: CameraMode;
  /** the masks and zones last asked for (a zones command): sent again when it connects, as its mode */
  zones?: ZonePolygon[];
}

/** A device as the database remembers it at start. */
export interface RememberedDevice extends KnownDevice {
  /** its last stored connection status, so a restart does not re-announce every camera */
  connected?: boolean;
  /** the last connection alert the user got: null when none is recorded, undefined when unknown (assume `connected`) */
  announced?: 'online' | 'offline' | null;
  /** when the runtime received its last disconnection, Unix ms */
  disconnectedMs?: number;
}

export interface ProcessorCounters {
  received: number;
  records: number;
  rejected: number;
  duplicates: number;
  /** records stored with the receive time because the device's timestamp was unusable */
  clockWarnings: number;
  alerts: number;
  commands: number;
}

/** Shared empty output list; outputs are never appended to after they are returned. */
const NONE: never[] = [];

const REDELIVERY_WINDOW_MS = 10 * 60_000;
const PAIRING_WINDOW_MS = 24 * 3600_000;

export class Processor {
  readonly counters: ProcessorCounters = {
    received: 0,
    records: 0,
    rejected: 0,
    duplicates: 0,
    clockWarnings: 0,
    alerts: 0,
    commands: 0,
  };
  private readonly devices = new Map<string, KnownDevice>();
  private readonly seen = new RecentMap<number, true>(20_000, REDELIVERY_WINDOW_MS);
  private readonly openActivities = new RecentMap<string, number>(20_000, PAIRING_WINDOW_MS);
  private readonly receiveClock = new ReceiveClock();
  private readonly connectionAlerts: ConnectionAlerts;
  private readonly hosted = new HostedCameras();
  private readonly sensors: SensorWatch;
  private readonly now: () => number;
  /** runtimes share the store: connection alerts come from the leader's sweep, never from this memory */
  private sharedConnections = false;

  constructor(
    private readonly opts: ProcessorOptions,
    /** receives output produced later than the input (debounced offline alerts) */
    private readonly emitLater: (out: ProcessorOutput) => void,
  ) {
    this.now = opts.now ?? Date.now;
    this.sensors = new SensorWatch(opts.sensorLimits ?? {});
    this.connectionAlerts = new ConnectionAlerts(opts.debounceMs, (id, kind, atMs) => {
      this.counters.alerts++;
      const device = this.devices.get(id);
      // The record tells the store the alert went out: a restart must not repeat it.
      const record: ConnectionAlertRecord = {
        kind: 'connection-alert',
        deviceId: id,
        deviceType: device?.deviceType ?? this.opts.deviceTypes[0]!,
        timeMs: atMs,
        announced: kind === 'camera-online' ? 'online' : 'offline',
      };
      this.emitLater({ record, alerts: [this.connectionAlert(id, kind, atMs)], commands: NONE });
    });
  }

  /**
   * Devices known from the database at start, so names, modes and pending
   * offline alerts survive restarts.
   */
  /** Whether a device was seen (or remembered) since start. */
  knows(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  remember(deviceId: string, { connected, announced, disconnectedMs, ...known }: RememberedDevice): void {
    this.devices.set(deviceId, { ...this.devices.get(deviceId), ...known });
    if (this.sharedConnections) return;
    const told = announced === undefined ? (connected === undefined ? undefined : connected ? 'online' : 'offline') : announced;
    if (told) this.connectionAlerts.assume(deviceId, told);
    if (connected === false && told !== 'offline') {
      // Went offline before the restart, nobody told yet: the rest of the debounce, then the alert.
      const sinceMs = disconnectedMs ?? this.now();
      this.connectionAlerts.pending(deviceId, sinceMs, sinceMs + this.opts.debounceMs - this.now());
    }
  }

  /** Never throws: whatever cannot be processed becomes a dead letter that says why. */
  /** `resent`: the ingest sends it again because the store could not take it; never dropped as a duplicate. */
  handleDevice(topic: string, payload: unknown, resent = false): ProcessorOutput {
    this.counters.received++;
    const nowMs = this.now();
    try {
      return this.device(topic, payload, nowMs, resent);
    } catch (err) {
      // A defect of ours must not lose the device's message: keep it and say so.
      const bytes = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : Buffer.alloc(0);
      const text = bytes.subarray(0, this.opts.deadLetterBytes).toString('utf8');
      return this.reject(topic, text, bytes.length, `could not be processed: ${(err as Error).message}`, nowMs);
    }
  }

  private device(topic: string, payload: unknown, nowMs: number, resent: boolean): ProcessorOutput {
    const parsedTopic = parseDeviceTopic(topic, this.opts);
    if (parsedTopic.ok && parsedTopic.topic.kind === 'thumbnail') {
      const t = parsedTopic.topic;
      return this.thumbnail(topic, payload, t.deviceId, t.deviceType, t.eventId!, nowMs);
    }
    // Size, UTF-8 and nesting depth are checked before anything parses the payload.
    const decoded = decodePayload(payload, { maxBytes: this.opts.maxPayloadBytes, keepBytes: this.opts.deadLetterBytes });
    if (!parsedTopic.ok) return this.reject(topic, decoded.text, decoded.bytes, parsedTopic.reason, nowMs);
    const t = parsedTopic.topic;
    if (!decoded.ok) return this.reject(topic, decoded.text, decoded.bytes, decoded.reason, nowMs, t.deviceId);

    let parsed: ParsedRecord;
    try {
      parsed = toRecord(t, decoded.text, decoded.value, nowMs, this.opts.clockWindow ?? DEFAULT_CLOCK_WINDOW);
    } catch (err) {
      if (!(err instanceof InvalidPayload)) throw err;
      return this.reject(topic, decoded.text, decoded.bytes, err.message, nowMs, t.deviceId);
    }
    const record = parsed.record;
    if (parsed.receiveTime) record.timeMs = this.receiveClock.next(t.deviceId, record.kind, nowMs);

    // QoS1 redelivery repeats the packet verbatim. A start or stop is keyed by its event and
    // content, since one that comes again changed is an update of its event (vbc01-protocol.md
    // §5.3: a later zone or label, issue 20; an event id used again); other kinds only when they
    // carry a timestamp of their own that could be used: without one (none, or `0` where the
    // device has no time), a repeat is news, a camera set to PRIVACY and back to ARMED.
    const key =
      record.kind === 'activity-stop' || record.kind === 'activity-start'
        ? fingerprint(`${record.kind}\u0000${t.deviceId}\u0000${record.eventId}`, decoded.text)
        : !parsed.receiveTime
          ? fingerprint(topic, decoded.text)
          : undefined;
    if (key !== undefined) {
      // A resend was seen once, but never stored: it must reach the store this time.
      if (!resent && this.seen.has(key, nowMs)) {
        this.counters.duplicates++;
        return { alerts: NONE, commands: NONE, duplicate: true };
      }
      this.seen.set(key, true, nowMs);
    }

    const device = this.track(t.deviceId, t.deviceType);
    const out: ProcessorOutput = { record, alerts: NONE, commands: NONE };
    if (parsed.timeProblem) {
      this.counters.clockWarnings++;
      out.clockWarning = parsed.timeProblem;
    }
    switch (record.kind) {
      case 'connection': {
        if (record.name) device.name = record.name;
        this.connectionChanged(record);
        this.hosted.camera(t.deviceId, record.status === 'connected');
        this.followHost(t.deviceId, record);
        if (record.status === 'connected') {
          const restore = device.mode ? this.restoreMode(t.deviceId, device.mode) : undefined;
          const zones = device.zones ? this.command(t.deviceId, device, 'zones', { zones: device.zones }) : undefined;
          out.commands = [restore, zones].filter((c) => c !== undefined);
        }
        break;
      }
      case 'activity-start': {
        record.deviceName = device.name;
        // Two cameras may use the same event id: the pair is the camera's event.
        const update = this.openActivities.get(activityKey(record), nowMs) !== undefined;
        this.openActivities.set(activityKey(record), record.timeMs, nowMs);
        // Another topic level (not start, stop or end) is stored as a start without an alert (§5.3).
        if (record.level === undefined) out.alerts = [this.activityAlert(record, device, update)];
        break;
      }
      case 'activity-stop': {
        record.deviceName = device.name;
        const startMs = this.openActivities.get(activityKey(record), nowMs);
        if (startMs !== undefined) {
          record.startMs = startMs;
          this.openActivities.delete(activityKey(record));
        }
        break;
      }
      case 'camera-state':
        if (record.mode) device.mode = record.mode;
        break;
      case 'sensor':
        if (this.sensors.active) {
          const { crossings, later } = this.sensors.check(record);
          if (crossings.length) out.alerts = crossings.map((c) => this.sensorAlert(record.deviceId, device, c, record.timeMs));
          if (later)
            out.later = later.then((cs) => {
              this.counters.alerts += cs.length;
              return cs.map((c) => this.sensorAlert(record.deviceId, device, c, record.timeMs));
            });
        }
        break;
      default:
        break;
    }
    this.count(out);
    return out;
  }

  /**
   * Runtimes share the store (the cluster role): another runtime may see the rest of a device's
   * messages, so online/offline alerts are the leader's sweep's (`swept`), and what this memory
   * held of them is dropped.
   */
  shareConnections(): void {
    this.sharedConnections = true;
    this.connectionAlerts.close();
  }

  /**
   * What the shared store says of a device (the cluster role, before its messages or a command
   * are handled): its mode, set through any runtime, is the one obeyed; what the store leaves
   * empty stays as known here.
   */
  refresh(deviceId: string, stored: Partial<KnownDevice> & { deviceType: string }): void {
    const known = this.devices.get(deviceId);
    const defined = Object.fromEntries(Object.entries(stored).filter(([, v]) => v !== undefined));
    this.devices.set(deviceId, { ...known, ...defined, deviceType: known?.deviceType ?? stored.deviceType });
  }

  /** The devices of these topics whose stored state matters to their handling (a reconnection's mode, an alert's mode). */
  devicesToRefresh(topics: readonly string[]): string[] {
    const ids = new Set<string>();
    for (const topic of topics) {
      const t = parseDeviceTopic(topic, this.opts);
      if (t.ok && (t.topic.kind === 'connection' || t.topic.kind === 'activity')) ids.add(t.topic.deviceId);
    }
    return [...ids];
  }

  /**
   * The leader's sweep, claimed in the store (connection-sweep.ts): the alerts it made due, and
   * for a device marked offline because nothing was heard of it, its disconnection record.
   */
  swept(devices: readonly SweptDevice[]): SweepOutput {
    const records: ConnectionRecord[] = [];
    const alerts: Alert[] = [];
    for (const d of devices) {
      this.refresh(d.deviceId, { deviceType: d.deviceType ?? this.opts.deviceTypes[0]!, name: d.name ?? undefined });
      const device = this.devices.get(d.deviceId)!;
      if (d.reason === 'silent') {
        const silentFor = d.heardMs === undefined ? undefined : Math.round((this.now() - d.heardMs) / 1000);
        records.push({
          kind: 'connection',
          deviceId: d.deviceId,
          deviceType: device.deviceType,
          timeMs: d.atMs,
          status: 'disconnected',
          name: device.name,
          raw: JSON.stringify({ status: 'disconnected', reason: `nothing heard for ${silentFor ?? '?'} s: marked offline by the cloud` }),
        });
      }
      if (d.announce) alerts.push(this.connectionAlert(d.deviceId, d.announce === 'online' ? 'camera-online' : 'camera-offline', d.atMs));
    }
    this.counters.records += records.length;
    this.counters.alerts += alerts.length;
    return { records, alerts };
  }

  /** The online/offline alert a connection record makes due, if any. */
  private connectionChanged(record: ConnectionRecord): void {
    if (this.sharedConnections) return;
    const due =
      record.status === 'connected'
        ? this.connectionAlerts.connected(record.deviceId)
        : this.connectionAlerts.disconnected(record.deviceId, record.timeMs);
    if (!due) return;
    // Stored with the record, so a restart knows what the user was told.
    record.announced = due === 'camera-online' ? 'online' : 'offline';
    this.counters.alerts++;
    this.emitLater({ alerts: [this.connectionAlert(record.deviceId, due, record.timeMs)], commands: NONE });
  }

  /** A host's connection carries its hosted cameras with it (hosted-cameras.ts): one stored record each. */
  private followHost(hostId: string, host: ConnectionRecord): void {
    const ids = host.status === 'connected' ? this.hosted.hostUp(hostId) : this.hosted.hostDown(hostId);
    for (const id of ids) {
      const device = this.devices.get(id);
      const why = host.status === 'connected' ? `its host ${hostId} is back` : `its host ${hostId} is offline`;
      const record: ConnectionRecord = {
        kind: 'connection',
        deviceId: id,
        deviceType: device?.deviceType ?? HOSTED_DEVICE_TYPE,
        timeMs: host.timeMs,
        status: host.status,
        name: device?.name,
        raw: JSON.stringify({ status: host.status, reason: why }),
        ...(host.untimed ? { untimed: true as const } : {}),
      };
      this.connectionChanged(record);
      this.counters.records++;
      this.emitLater({ record, alerts: NONE, commands: NONE });
    }
  }

  handleCommand(req: CommandRequest): CommandResult {
    const fail = (statusCode: 400 | 404 | 409, error: string): CommandResult => ({ ok: false, statusCode, error });
    if (!(COMMAND_ACTIONS as readonly string[]).includes(req.action)) {
      return fail(400, `unknown command "${String(req.action)}" (expected ${COMMAND_ACTIONS.join(', ')})`);
    }
    if (typeof req.deviceId !== 'string' || !ANY_DEVICE_ID_PATTERN.test(req.deviceId)) {
      return fail(400, `invalid device id (must match ${ANY_DEVICE_ID_PATTERN.source})`);
    }
    // Only a Pi relays on request: every other camera streams to MediaMTX by itself (or MediaMTX pulls it).
    if (req.action === 'live' && !splitHostedId(req.deviceId)) {
      return fail(400, `live is for a camera hosted by a Pi ({pi}.{camera}); "${req.deviceId}" streams without being asked`);
    }
    const device = this.devices.get(req.deviceId);
    if (!device) return fail(404, `unknown device "${req.deviceId}"`);
    // Refused here, not queued: the device would never obey it (an IP camera cannot play sounds).
    const refusal = commandRefusal(device.deviceType, req.action);
    if (refusal) return fail(409, `${req.deviceId}: ${refusal}`);
    const fields = commandFields(req);
    if ('error' in fields) return fail(400, fields.error);
    if (fields.mode) device.mode = fields.mode;
    if (fields.zones) device.zones = fields.zones;
    const command = this.command(req.deviceId, device, req.action, fields.extra);
    this.counters.commands++;
    const record: CommandRecord = {
      kind: 'command',
      deviceId: req.deviceId,
      deviceType: device.deviceType,
      timeMs: this.now(),
      action: req.action,
      requestId: command.payload.requestId,
      topic: command.topic,
      mode: fields.mode,
      ...(fields.zones ? { zones: fields.zones } : {}),
    };
    return { ok: true, command, record };
  }

  /** Sensor limits keep their state in `memory` from now on (the store's, once it is open). */
  keepSensorLimitsIn(memory: LimitMemory, warn: (message: string) => void): void {
    this.sensors.keepIn(memory, warn);
  }

  close(): void {
    this.connectionAlerts.close();
  }

  get flapsSuppressed(): number {
    return this.connectionAlerts.suppressed;
  }

  /** The same setmode the API sends (the real platform re-sends nothing: ours restores the mode). */
  private restoreMode(deviceId: string, mode: CameraMode): MqttCommandMessage {
    return this.command(deviceId, this.devices.get(deviceId)!, 'setmode', setModeFields(mode));
  }

  private command(deviceId: string, device: KnownDevice, action: CommandAction, extra: Record<string, unknown>): MqttCommandMessage {
    return {
      topic: commandTopic(this.opts.prefix, deviceId, action),
      payload: {
        requestId: randomUUID(),
        creationTimestamp: creationTimestamp(this.now()),
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
    deviceId: string,
    deviceType: string,
    eventId: string,
    nowMs: number,
  ): ProcessorOutput {
    let image: Buffer;
    try {
      image = jpegBytes(payload, this.opts.maxPayloadBytes);
    } catch (err) {
      const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : '');
      return this.reject(
        topic,
        bytes.subarray(0, this.opts.deadLetterBytes).toString('utf8'),
        bytes.length,
        (err as Error).message,
        nowMs,
        deviceId,
      );
    }
    const device = this.track(deviceId, deviceType);
    this.counters.alerts++;
    const snapshot: AlertSnapshot = { kind: 'snapshot', deviceId, deviceName: device.name ?? deviceId, eventId, image, timeMs: nowMs };
    return { alerts: [snapshot], commands: NONE };
  }

  /** `update`: the event's start came before; this one repeats it with what changed (more zones, a label). */
  private activityAlert(record: ActivityRecord, device: KnownDevice, update = false): Alert {
    const name = device.name ?? record.deviceId;
    const what = record.activityType.toLowerCase().replace(/_/g, ' ');
    return {
      kind: 'activity',
      deviceId: record.deviceId,
      deviceType: record.deviceType,
      deviceName: name,
      timeMs: record.timeMs,
      severity: 'warning',
      text: `${what} detected on ${name}${record.zones?.length ? ` in ${record.zones.join(', ')}` : ''}`,
      eventId: record.eventId,
      activityType: record.activityType,
      mode: device.mode,
      ...(record.zones ? { zones: record.zones } : {}),
      ...(record.detection ? { detection: record.detection } : {}),
      ...(update ? { update: true } : {}),
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

/** Activities are the camera's: two cameras may send the same event id. */
function activityKey(r: ActivityRecord): string {
  return `${r.deviceId}\u0000${r.eventId}`;
}

/** Cut to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncate(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  return Buffer.from(text)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
