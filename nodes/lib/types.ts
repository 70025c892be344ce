/**
 * Every message shape that crosses a wire between PiCam Guardian nodes, and the
 * MQTT payloads they come from. One place, so the public contract is readable in
 * code (DESIGN.md §5).
 */

export const CAMERA_MODES = ['ARMED', 'LIVESTREAMONLY', 'PRIVACY'] as const;
export type CameraMode = (typeof CAMERA_MODES)[number];

/** Device ids reach topics, file paths and SQL: this pattern is checked first. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Event ids reach SQL and (later) upload paths. */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

// ---------------------------------------------------------------- MQTT payloads

/** `prod/device/connection/{type}/{id}` */
export interface ConnectionPayload {
  status: 'connected' | 'disconnected';
  timestamp?: number | string;
  device?: { softwareVersion?: string; hardwareVersion?: string; serialNumber?: string; name?: string };
  ipAddress?: string;
  name?: string;
}

/** `prod/device/status/{type}/{id}` heartbeat */
export interface HeartbeatPayload {
  timestamp?: number | string;
  battery?: number;
  signal?: number;
  uptime?: number;
  temperature?: number;
  streamState?: string;
}

/** `prod/device/message/{type}/{id}/activity/start|stop` */
export interface ActivityPayload {
  eventId: string;
  activityType?: string;
  timestamp?: number | string;
  confidence?: number;
  region?: unknown;
}

/** `prod/device/message/{type}/{id}/camera/state` */
export interface CameraStatePayload {
  mode?: CameraMode;
  [setting: string]: unknown;
}

/** `prod/device/message/picam/{id}/sensors/environment` (°C, %RH, hPa) */
export interface EnvironmentPayload {
  temperature?: number;
  humidity?: number;
  pressure?: number;
  timestamp?: number | string;
}

/** `prod/honeycomb/{id}/system/setmode` */
export interface SetModeCommand {
  requestId: string;
  creationTimestamp: string;
  sourceId: string;
  sourceType: string;
  mode: CameraMode;
}

/** `prod/honeycomb/{id}/system/reboot` and `.../settings/update` */
export interface DeviceCommand {
  requestId: string;
  creationTimestamp: string;
  sourceId: string;
  sourceType: string;
  [field: string]: unknown;
}

// ---------------------------------------------------------------- store records
// mqtt-processor output 1 → sqlite-events. Times are Unix milliseconds.

interface RecordBase {
  deviceId: string;
  deviceType: string;
  timeMs: number;
}

export interface ConnectionRecord extends RecordBase {
  kind: 'connection';
  status: 'connected' | 'disconnected';
  name?: string;
  ipAddress?: string;
  firmwareVersion?: string;
  hardwareVersion?: string;
  serialNumber?: string;
  raw: string;
}

export interface HeartbeatRecord extends RecordBase {
  kind: 'heartbeat';
  batteryLevel?: number;
  signalStrength?: number;
  uptime?: number;
  temperature?: number;
  streamState?: string;
  raw: string;
}

export interface ActivityRecord extends RecordBase {
  kind: 'activity-start' | 'activity-stop';
  eventId: string;
  activityType: string;
  /** the name the processor knows for the device, copied for seed 004's column */
  deviceName?: string;
  confidence?: number;
  region?: string;
  /** set on a stop whose start the processor saw */
  startMs?: number;
}

export interface CameraStateRecord extends RecordBase {
  kind: 'camera-state';
  mode?: CameraMode;
  /** other settings, values JSON-encoded */
  settings: Record<string, string>;
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
  ConnectionRecord | HeartbeatRecord | ActivityRecord | CameraStateRecord | SensorRecord | CommandRecord | DeadLetterRecord;

export type RecordKind = StoreRecord['kind'];

// ---------------------------------------------------------------- alerts
// mqtt-processor output 2 → any alert node (the alert contract).

export type AlertKind = 'activity' | 'camera-online' | 'camera-offline';
export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface Alert {
  kind: AlertKind;
  deviceId: string;
  deviceType: string;
  deviceName: string;
  timeMs: number;
  severity: AlertSeverity;
  text: string;
  eventId?: string;
  activityType?: string;
  /** the camera's last known mode, so alert nodes can honour ARMED-only rules */
  mode?: CameraMode;
}

// ---------------------------------------------------------------- commands

export type CommandAction = 'setmode' | 'reboot' | 'settings-update';

/** mqtt-processor input: a command request (from the API or any flow) */
export interface CommandRequest {
  action: CommandAction;
  deviceId: string;
  mode?: string;
  settings?: Record<string, unknown>;
}

/** mqtt-processor output 3 → `mqtt out` */
export interface MqttCommandMessage {
  topic: string;
  payload: SetModeCommand | DeviceCommand;
  qos: 1;
  retain: false;
}

/** Replies to requests, in one envelope (API output → `http response`). */
export interface Reply<T = unknown> {
  status: 'ok' | 'error';
  data?: T;
  error?: string;
}
