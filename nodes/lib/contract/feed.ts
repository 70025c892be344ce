/**
 * The dashboard's live feed: what the runtime pushes to browsers over the
 * WebSocket at /api/ws. Store records (mqtt-processor output 1, mediamtx-health
 * output 3) are translated (feed-translate.ts) rather than forwarded as they are, so the
 * browser contract stays small and stable when the store's records grow
 * (raw payloads, settings JSON and dead letters never reach a browser).
 *
 * Browser code imports these types too (dashboard/src): like everything in nodes/lib/contract/,
 * this file imports nothing but its neighbours there; the translation from records is in
 * nodes/dashboard-feed/feed-translate.ts.
 */
import type { CameraMode } from './camera-mode';

interface DeviceMessage {
  deviceId: string;
  deviceType: string;
  /** Unix milliseconds */
  timeMs: number;
}

export interface HelloMessage {
  type: 'hello';
  /** the logged-in user; null in the demo, which has no logins */
  user: string | null;
  timeMs: number;
}
export interface SensorMessage extends DeviceMessage {
  type: 'sensor';
  temperature?: number;
  humidity?: number;
  pressure?: number;
}
export interface EventStartMessage extends DeviceMessage {
  type: 'event-start';
  eventId: string;
  activityType: string;
  deviceName?: string;
  confidence?: number;
}
export interface EventEndMessage extends DeviceMessage {
  type: 'event-end';
  eventId: string;
  activityType: string;
  deviceName?: string;
  /** when the start was seen */
  startMs?: number;
  durationSeconds?: number;
}
export interface CameraStateMessage extends DeviceMessage {
  type: 'camera-state';
  /** the mode the camera reports it is in: the confirmation of a setmode */
  mode?: CameraMode;
}
export interface ConnectionMessage extends DeviceMessage {
  type: 'connection';
  status: 'connected' | 'disconnected';
  name?: string;
}
export interface HeartbeatMessage extends DeviceMessage {
  type: 'heartbeat';
  batteryLevel?: number;
  signalStrength?: number;
  streamState?: string;
}
export interface CommandMessage extends DeviceMessage {
  type: 'command';
  action: string;
  requestId: string;
  mode?: CameraMode;
}
export interface StreamHealthMessage {
  type: 'stream-health';
  /** the MediaMTX path, which is the device id */
  path: string;
  timeMs: number;
  online: boolean;
  readers: number;
  inboundKbps?: number;
  outboundKbps?: number;
}

export type FeedMessage =
  | HelloMessage
  | SensorMessage
  | EventStartMessage
  | EventEndMessage
  | CameraStateMessage
  | ConnectionMessage
  | HeartbeatMessage
  | CommandMessage
  | StreamHealthMessage;

/**
 * What the runtime gives the dashboard-feed node through Node-RED's settings
 * (`picamDashboard`): the WebSocket hub. The runtime owns the sockets; the node
 * only hands it messages.
 */
export interface DashboardHub {
  broadcast(message: FeedMessage): void;
  /** browsers connected right now */
  clientCount(): number;
}
