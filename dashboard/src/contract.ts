/**
 * JSON shapes between the dashboard page and the runtime, beside the live
 * feed's (nodes/dashboard-feed/feed-messages.ts). Types only: the server
 * (cli/dashboard-server.ts) and the browser bundle both import this file.
 */

/** What the page needs to know about the server's video sources. */
export interface DashboardClientConfig {
  /** MediaMTX's WebRTC server as the browser reaches it, without a trailing slash; '' when none */
  webrtcUrl: string;
  /** device id → MJPEG preview URL, the fallback when there is no WebRTC */
  mjpeg: Record<string, string>;
}

/** GET /api/session (200), POST /api/login (200) */
export interface SessionInfo {
  /** null in the demo, which has no logins */
  user: string | null;
  /** true in the demo: no login, no logout */
  open: boolean;
  /** send in X-CSRF-Token with every POST/PUT/PATCH/DELETE; '' in the demo */
  csrfToken: string;
  /** Unix ms; null in the demo */
  expiresAt: number | null;
  remember: boolean;
  config: DashboardClientConfig;
}

/** POST /api/login body */
export interface LoginRequest {
  username: string;
  password: string;
  remember?: boolean;
}

/** Every error answer */
export interface ApiError {
  error: string;
}

/** The header the page sends so a 401 does not make the browser ask for Basic credentials. */
export const DASHBOARD_CLIENT_HEADER = 'x-requested-with';
export const DASHBOARD_CLIENT_VALUE = 'picam-dashboard';

// ---- API rows the page reads (README's API table; nodes/picam-database/queries.ts builds them)

export type CameraMode = 'ARMED' | 'LIVESTREAMONLY' | 'PRIVACY';
export const CAMERA_MODES: readonly CameraMode[] = ['ARMED', 'LIVESTREAMONLY', 'PRIVACY'];

/** The sounds a VBC01 plays: POST /api/control/sound/{id}/{soundType}, or .../stop */
export const SOUND_TYPES = ['POLICE_SIREN', 'DOG_BARK', 'HOUSE_ALARM', 'LULLABY'] as const;
export type SoundType = (typeof SOUND_TYPES)[number];

/** GET /api/cameras → {cameras: CameraRow[]}; times in Unix seconds */
export interface CameraRow {
  camera_id: string;
  device_type: string | null;
  camera_name: string | null;
  ip_address: string | null;
  firmware_version: string | null;
  /** the mode the camera reported */
  status: string | null;
  /** the mode last asked for */
  desired_mode: string | null;
  connection_status: string | null;
  battery_level: number | null;
  signal_strength: number | null;
  last_seen: number | null;
}

/** GET /api/events → {events, total, limit, offset}; times in Unix seconds */
export interface EventRow {
  event_id: string;
  camera_id: string;
  camera_name: string | null;
  activity_type: string | null;
  start_timestamp: number | null;
  end_timestamp: number | null;
  duration_seconds: number | null;
  confidence: number | null;
  thumbnail_path: string | null;
  recording_path: string | null;
}
export interface EventPage {
  events: EventRow[];
  total: number;
  limit: number;
  offset: number;
}

/** GET /api/sensors/{id} */
export interface SensorHistory {
  deviceId: string;
  from: number;
  to: number;
  bucketMs: number;
  readings: Array<{ time_ms: number; temperature: number | null; humidity: number | null; pressure: number | null; samples: number }>;
}

/** GET /api/streams → {streams: StreamRow[]} */
export interface StreamRow {
  path: string;
  time_ms: number;
  online: number | boolean;
  readers: number;
  inbound_kbps: number | null;
  outbound_kbps: number | null;
}

/** GET /api/alerts → {alerts, total, ...} */
export interface AlertRow {
  id: number;
  channel: string;
  target: string | null;
  item: string | null;
  kind: string | null;
  device_id: string | null;
  device_name: string | null;
  event_id: string | null;
  text: string | null;
  state: string;
  attempts: number;
  reason: string | null;
  created_ms: number;
  sent_ms: number | null;
}

/** POST /api/control/mode/{id}/{mode} → 202 */
export interface CommandAccepted {
  status: 'ok';
  /** `state` is `queued`: the command is committed; GET /api/commands/{requestId} follows it */
  data: { requestId: string; topic: string; state: 'queued' };
}
