/**
 * Every message shape that crosses a wire between PiCam Guardian nodes, and the
 * MQTT payloads they come from. One place, so the public contract is readable in
 * code (DESIGN.md §5).
 */

import type { ZonePolygon } from './contract/zones';
import type { CameraMode } from './contract/camera-mode';
import type { Detection } from './contract/detection';
export { CAMERA_MODES, type CameraMode } from './contract/camera-mode';

/** Device ids reach topics, file paths and SQL: this pattern is checked first. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Event ids reach SQL and (later) upload paths. */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/**
 * A VBC01 camera's id (32 upper-case hex digits) and the device type of its
 * topics: defined once, in vbc01.ts.
 */
export { VBC01_CAMERA_ID as VBC01_CAMERA_ID_PATTERN, VBC01_DEVICE_TYPE } from './vbc01';

// ---------------------------------------------------------------- MQTT payloads

/**
 * `prod/device/connection/{type}/{id}`, also the camera's Last Will. `status`
 * "connected" (any case) means connected; any other value, or none (a Will such as
 * `{"eventType":"DISCONNECT"}`), means disconnected (vbc01-protocol.md §5.1).
 */
export interface ConnectionPayload {
  status?: string;
  eventType?: string;
  timestamp?: number | string;
  clientId?: string;
  ipAddress?: string;
  device?: { softwareVersion?: string; hardwareVersion?: string; serialNumber?: string; deviceType?: string; name?: string };
  /** ours, not the firmware's: the name a simulator or a Pi gives itself */
  name?: string;
}

/**
 * `prod/device/status/{type}/{id}` heartbeat, and `.../camera/state` (handled as one,
 * §5.2, §5.4). `battery`, `radio`, `ethernet` are objects; anything else there is ignored.
 */
export interface HeartbeatPayload {
  timestamp?: number | string;
  /** default "online"; "online" and "active" mean connected */
  status?: string;
  battery?: { level?: number; voltage?: number; chargingStatus?: string; temperature?: number };
  radio?: { signalStrength?: number; networkType?: string; carrier?: string };
  ethernet?: { ipAddress?: string; macAddress?: string; linkStatus?: string };
  temperature?: number;
  uptime?: number;
  /** ours: the Pi's stream */
  streamState?: string;
  /** camera/state only, when the camera reports one of CAMERA_MODES */
  mode?: string;
}

/**
 * `prod/device/message/{type}/{id}/activity/{start|stop|end|…}` (§5.3). Without
 * `eventId` the event is `activity_{cameraId}_{timestamp}`; `eventType` start, stop or
 * end overrides the topic's last level.
 */
export interface ActivityPayload {
  eventId?: string;
  eventType?: 'start' | 'stop' | 'end';
  activityType?: string;
  timestamp?: number | string;
  /** any range, stored as sent (cameras send whole numbers such as 72) */
  confidence?: number;
  region?: unknown;
  /**
   * Our cameras (Pi, IP cameras): the names of the zones the motion touched (issue 20), [] for
   * motion outside every zone. A start lists the zones of its first moments; a stop, every zone
   * of the event. VBC01 cameras send none.
   */
  zones?: string[];
  /** the camera's object detector: label, score 0–1, box in percent (issue 20) */
  detection?: Detection;
}

/** `prod/device/message/picam/{id}/sensors/environment` (°C, %RH, hPa) */
export interface EnvironmentPayload {
  temperature?: number;
  humidity?: number;
  pressure?: number;
  timestamp?: number | string;
}

/** What every command to a device starts with (vbc01-protocol.md §6). */
export interface CommandEnvelope {
  /** a UUID v4 */
  requestId: string;
  /** UTC ISO 8601 with microseconds (dropped when zero) and Z */
  creationTimestamp: string;
  sourceId: string;
  sourceType: string;
}

/** `prod/honeycomb/{id}/system/setmode`: the three "NA" strings are what the real dashboard sends. */
export interface SetModeCommand extends CommandEnvelope {
  mode: CameraMode;
  type: 'NA';
  durationMinutes: 'NA';
  intervalSeconds: 'NA';
}

import type { SoundType } from './contract/sound';
export { SOUND_TYPES, type SoundType } from './contract/sound';

/** `prod/honeycomb/{id}/sound/play` (`sound/stop` is the envelope alone) */
export interface SoundPlayCommand extends CommandEnvelope {
  soundType: SoundType;
}

/** `prod/honeycomb/{pi}/ipcam/{camera}/stream/play`: relay the camera's live video for `seconds` (nodes/lib/contract/live-relay.ts) */
export interface LiveRelayCommand extends CommandEnvelope {
  seconds: number;
}

/** `prod/honeycomb/{id}/system/reboot`, `.../settings/update` (the settings flat beside the envelope) */
export interface DeviceCommand extends CommandEnvelope {
  [field: string]: unknown;
}

// ---------------------------------------------------------------- store records
// mqtt-processor output 1 → sqlite-events. Times are Unix milliseconds.

interface RecordBase {
  deviceId: string;
  deviceType: string;
  timeMs: number;
  /**
   * The device's `timestamp` as sent, when it was unusable (not an accepted
   * form, or outside the clock window) and `timeMs` is the receive time instead.
   */
  deviceTimeRaw?: string;
}

export interface ConnectionRecord extends RecordBase {
  kind: 'connection';
  status: 'connected' | 'disconnected';
  name?: string;
  /** the MQTT client id the device reports (the status row's client_id) */
  clientId?: string;
  /** the address the device reports on connect: kept in the status row only, as the real platform does */
  ipAddress?: string;
  firmwareVersion?: string;
  hardwareVersion?: string;
  serialNumber?: string;
  raw: string;
  /** set when this record's message raised an online alert: what the user was told */
  announced?: 'online' | 'offline';
  /**
   * The message carried no timestamp (a Last Will's fixed payload): `timeMs` is when it arrived.
   * The store takes it as coming just after everything the device sent so far, so that the
   * device's next message (stamped by its own clock) is newer (record-sql.ts).
   */
  untimed?: true;
}

/**
 * A debounced offline alert went out (or an online one later than its record):
 * stored so a restart neither forgets a pending offline alert nor repeats one.
 */
export interface ConnectionAlertRecord extends RecordBase {
  kind: 'connection-alert';
  announced: 'online' | 'offline';
}

/** What a heartbeat and a camera/state message both carry (vbc01-protocol.md §5.2). */
export interface DeviceHealth {
  /** `status` as reported, lower case */
  status?: string;
  /** `status` is online or active, or absent: the device is connected (unset: the record says nothing about it) */
  online?: boolean;
  batteryLevel?: number;
  signalStrength?: number;
  uptime?: number;
  temperature?: number;
  /** `ethernet.ipAddress`: the camera registry's address comes from here */
  ipAddress?: string;
  streamState?: string;
  raw: string;
}

export interface HeartbeatRecord extends RecordBase, DeviceHealth {
  kind: 'heartbeat';
}

export interface ActivityRecord extends RecordBase {
  kind: 'activity-start' | 'activity-stop';
  eventId: string;
  activityType: string;
  /** the name the processor knows for the device, copied for seed 004's column */
  deviceName?: string;
  confidence?: number;
  region?: string;
  /** the zones the motion touched (ActivityPayload.zones, checked); undefined when the camera sent none */
  zones?: string[];
  /** what the camera's object detector saw (a start only; issue 20) */
  detection?: Detection;
  /** set on a stop whose start the processor saw */
  startMs?: number;
  /**
   * The activity's topic level when it is neither start, stop nor end: stored as a
   * start without an alert, as the real processor does.
   */
  level?: string;
}

/** `camera/state`: a heartbeat (§5.4), and the camera's mode when it reports a known one. */
export interface CameraStateRecord extends RecordBase, DeviceHealth {
  kind: 'camera-state';
  mode?: CameraMode;
}

export interface SensorRecord extends RecordBase {
  kind: 'sensor';
  temperature?: number;
  humidity?: number;
  pressure?: number;
}

/** A command the cloud sent; stored so the mode can be restored on reconnect. */
export interface CommandRecord extends RecordBase {
  kind: 'command';
  action: CommandAction;
  requestId: string;
  topic: string;
  mode?: CameraMode;
  /** a zones command's polygons: what a reconnecting camera gets back, as its mode */
  zones?: ZonePolygon[];
}

/** mediamtx-health: one path's health at one poll (the dashboard's stream history). */
export interface StreamHealthRecord extends RecordBase {
  kind: 'stream-health';
  /** the MediaMTX path is the device id; deviceType is "mediamtx" */
  online: boolean;
  readers: number;
  /** kbit/s, from the byte counters between two polls */
  inboundKbps?: number;
  outboundKbps?: number;
  framesInError?: number;
  sourceType?: string;
}

export interface DeadLetterRecord {
  kind: 'dead-letter';
  timeMs: number;
  source: string;
  reason: string;
  /** raw payload, truncated */
  payload: string;
  payloadBytes: number;
  deviceId?: string;
}

export type StoreRecord =
  | ConnectionRecord
  | ConnectionAlertRecord
  | HeartbeatRecord
  | ActivityRecord
  | CameraStateRecord
  | SensorRecord
  | CommandRecord
  | StreamHealthRecord
  | DeadLetterRecord;

export type RecordKind = StoreRecord['kind'];

// ---------------------------------------------------------------- ingest batches
// The ingest path hands messages on in batches: one Node-RED message per
// event-loop turn instead of one per device message, so the broker → processor →
// store hops, their hooks and the receipts are paid once per batch. Every node on
// the path still takes the single-message shapes too (an `mqtt in` message; a msg
// whose payload is one StoreRecord).

/** One device message as the embedded broker hands it on: the shape `mqtt in` sends. */
export interface DeviceMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** the publishing client's id (its device id) */
  clientId: string;
  /** sent again after it was not stored: the processor must not drop it as a duplicate */
  resent?: boolean;
}

export const DEVICE_BATCH_TOPIC = 'device-batch';

/**
 * picam-broker output (property `maxBatch` above 1) → mqtt-processor: the device messages that
 * arrived in one event-loop turn (at most `maxBatch`), in arrival order, so per device in order.
 * The batch is acknowledged to the devices once everything made of it is committed.
 */
export interface DeviceBatchMessage {
  topic: typeof DEVICE_BATCH_TOPIC;
  payload: DeviceMessage[];
}

export const RECORD_BATCH_TOPIC = 'records';

/**
 * mqtt-processor output 1 for a batch → sqlite-events: the batch's records, dead letters included,
 * in input order; the store commits them in one transaction and completes the message after COMMIT.
 * Also sqlite-events output 1 with `confirmations: batch`: the records of one committed transaction.
 */
export interface RecordBatchMessage {
  topic: typeof RECORD_BATCH_TOPIC;
  payload: StoreRecord[];
}

export const ALERT_BATCH_TOPIC = 'alerts';

/**
 * mqtt-processor output 2 for a batch → alert nodes: the batch's alerts (snapshots excepted,
 * which still leave one message each as `alert/snapshot`), in input order. An alert node takes
 * each as if it had come alone; the message carries the batch's receipt.
 */
export interface AlertBatchMessage {
  topic: typeof ALERT_BATCH_TOPIC;
  payload: Alert[];
}

/** Whether `msg` is a batch of device messages (picam-broker's batch shape). */
export function isDeviceBatch(msg: { topic?: unknown; payload?: unknown }): msg is DeviceBatchMessage {
  return msg.topic === DEVICE_BATCH_TOPIC && Array.isArray(msg.payload);
}

// ---------------------------------------------------------------- alerts
// The alert contract. mqtt-processor (output 2), mediamtx-health and the camera
// nodes emit `Alert`s as msg.payload; every alert node (telegram-alert,
// webhook-alert, yours) consumes them and reports each one as a `DeliveryReport`.
// docs/alerts.md describes the contract for integrators.

export const ALERT_KINDS = [
  'activity',
  'camera-online',
  'camera-offline',
  'stream-down',
  'stream-up',
  'sensor-out-of-range',
  // the recorder's disk (issue 19): below its free-space floor with no continuous footage left, and back above it
  'storage-low',
  'storage-ok',
  'text',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** The sensor readings a Pi reports, and their units. */
export type SensorMetric = 'temperature' | 'humidity' | 'pressure';

export interface Alert {
  kind: AlertKind;
  deviceId: string;
  /** the name a user gave the device; its id when it has none */
  deviceName: string;
  /** `hive-cam`, `picam`, or the MediaMTX server for stream alerts */
  deviceType?: string;
  /** when it happened, Unix milliseconds */
  timeMs: number;
  severity: AlertSeverity;
  /** one plain line that reads on its own; channels that cannot format use it as it is */
  text: string;
  /** the device's event id: pairs a later snapshot with this alert and deduplicates */
  eventId?: string;
  /** activity: MOTION, PERSON, SOUND, … as the device reports it */
  activityType?: string;
  /** the camera's last known mode, so alert nodes can honour ARMED-only rules */
  mode?: CameraMode;
  /** activity: the zones the motion touched, as the camera reported them (issue 20); absent when it reports none */
  zones?: string[];
  /** activity: what the camera's object detector saw, for "only people" rules (issue 20) */
  detection?: Detection;
  /**
   * activity: this event was alerted before (its start came again, with more zones or a label
   * seen later). An alert node sends it only when the event's earlier alert was held back by its
   * zone or label rule and this one satisfies it: at most one alert per event reaches a person.
   */
  update?: boolean;
  /** a JPEG: its bytes, or the path of a file the runtime can read */
  image?: Buffer | string;
  /** stream-down / stream-up: the MediaMTX path, and how long it was down */
  stream?: { path: string; downForMs?: number };
  /** sensor-out-of-range: the reading and the limit it crossed */
  sensor?: { metric: SensorMetric; value: number; unit: string; min?: number; max?: number };
}

/**
 * A picture for an alert already raised (a camera's thumbnail upload, a Pi
 * snapshot), or the answer to a `/snapshot` request (`requestId`, no event).
 */
export interface AlertSnapshot {
  kind: 'snapshot';
  deviceId: string;
  deviceName?: string;
  eventId?: string;
  /** a JPEG: its bytes, or the path of a file the runtime can read */
  image: Buffer | string;
  /** the `requestId` of the snapshot request this answers */
  requestId?: string;
  timeMs?: number;
}

/** An alert node's output 1: what became of each alert or snapshot it was given. */
export interface DeliveryReport {
  /**
   * sent: the channel accepted it. updated: a snapshot or a clip was added to a sent alert.
   * suppressed: noise control held it back (see `reason`). retrying: a transient
   * failure, it stays in the outbox. failed: given up (see `reason`).
   */
  status: 'sent' | 'updated' | 'suppressed' | 'retrying' | 'failed';
  /** `telegram`, `webhook`, … */
  channel: string;
  /** where it went: a chat id, a URL's host */
  target?: string;
  /** `clip`: an event's video from the recorder (issue 19), after its alert */
  kind: AlertKind | 'snapshot' | 'clip';
  deviceId: string;
  eventId?: string;
  reason?: string;
  attempts: number;
  /** the outbox row, for the alert delivery log */
  outboxId?: number;
  /** the channel's id for the message (Telegram's message_id) */
  messageId?: number;
  /** other alerts sent in the same message (a burst digest) */
  digestOf?: number;
  timeMs: number;
}

/** An alert node's request for a picture, for camera nodes (`/snapshot <camera>`). */
export interface SnapshotRequest {
  deviceId: string;
  requestId: string;
}

// ---------------------------------------------------------------- commands

export const COMMAND_ACTIONS = ['setmode', 'reboot', 'settings-update', 'sound-play', 'sound-stop', 'live', 'zones'] as const;
export type CommandAction = (typeof COMMAND_ACTIONS)[number];

/** mqtt-processor input: a command request (from the API or any flow) */
export interface CommandRequest {
  action: CommandAction;
  deviceId: string;
  mode?: string;
  /** settings-update: the fields to change, flat (vbc01-protocol.md §6); the rest get their defaults */
  settings?: Record<string, unknown>;
  /** sound-play: one of SOUND_TYPES */
  soundType?: string;
  /** live (a Pi's hosted camera only): how long the Pi relays without another request (nodes/lib/contract/live-relay.ts) */
  seconds?: unknown;
  /** zones (a Pi's or an IP camera's): its masks and zones, checked by readZones (nodes/lib/contract/zones.ts) */
  zones?: unknown;
}

/** mqtt-processor output 3 → `command-sender` (which queues it, then publishes it) */
export interface MqttCommandMessage {
  topic: string;
  payload: SetModeCommand | SoundPlayCommand | LiveRelayCommand | DeviceCommand;
  qos: 1;
  retain: false;
  /** the device and the kind of command: the queue's columns and the time-to-live it gets */
  deviceId: string;
  action: CommandAction;
}

/** Replies to requests, in one envelope (API output → `http response`). */
export interface Reply<T = unknown> {
  status: 'ok' | 'error';
  data?: T;
  error?: string;
}
