/**
 * The rows the API answers (`EventStore.query()` builds them, one type per SELECT in
 * nodes/lib/store/queries.ts, whose column lists change with these types; the dashboard page
 * reads them). Browser-safe: types only. Times named
 * `*_timestamp`, `last_seen`, `created_at` are Unix seconds; `*_ms` are Unix ms.
 */
import type { ZonePolygon } from './zones';
import type { Detection } from './detection';

/** One row of GET /api/cameras (CameraList); times in Unix seconds */
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
  created_at: number | null;
  updated_at: number | null;
  /**
   * The device's latest activity event (by start time), so the dashboard draws every card from
   * this one answer: its id, type and start (Unix seconds). All null when it has none.
   */
  last_event_id: string | null;
  last_event_type: string | null;
  last_event_time: number | null;
  /** the masks and zones last sent to it from the dashboard or the API (issue 20); null: never */
  zones: ZonePolygon[] | null;
}

/**
 * GET /api/cameras[?limit=&offset=]: devices by name (then id), `total` of them; with `limit`,
 * a page of them (and the `limit` and `offset` it answers). A login limited to some cameras
 * gets those only, in the rows and in `total`.
 */
export interface CameraList {
  cameras: CameraRow[];
  total: number;
  limit?: number;
  offset?: number;
}

/**
 * One bucket of GET /api/sensors/{id}: averages over bucketMs, `samples` readings in it, and
 * the lowest and highest reading of each metric in the bucket (equal to the value for a raw
 * reading). A reading replaced by a later one with the same device and time leaves its value
 * in the min/max of a roll-up (never in the mean).
 */
export interface SensorPoint {
  time_ms: number;
  temperature: number | null;
  humidity: number | null;
  pressure: number | null;
  samples: number;
  temperature_min: number | null;
  temperature_max: number | null;
  humidity_min: number | null;
  humidity_max: number | null;
  pressure_min: number | null;
  pressure_max: number | null;
}

/** Where GET /api/sensors/{id} took its points: raw readings, or the minute or hour roll-ups. */
export type SensorResolution = 'raw' | 'minute' | 'hour';

/** GET /api/events */
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
  /** /api/media/thumbnail/{event_id}?camera= has a picture for it */
  has_thumbnail: boolean;
  /** /api/media/playlist/{event_id}.m3u8?camera= has (or is preparing) a recording */
  has_recording: boolean;
  /** the recorder's clip of the event (/api/recordings/{camera_id}/clips/{event_id}) once it records or is ready; null: none (issue 19) */
  clip: string | null;
  /** the zones the motion touched (issue 20): [] outside every zone; null when the camera sent none (VBC01) */
  zones: string[] | null;
  /** what the camera's object detector saw at the start (issue 20, migration 17); null: nothing, or no detector */
  detection: Detection | null;
  upload_status: string | null;
  telegram_notified: number | null;
  created_at: number | null;
}

/** GET /api/dead-letters */
export interface DeadLetterRow {
  id: number;
  received_ms: number;
  source: string;
  reason: string;
  device_id: string | null;
  payload: string | null;
  payload_bytes: number | null;
}

/** GET /api/alerts: the delivery log, without images */
export interface AlertLogRow {
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
  message_id: number | null;
}

/** GET /api/commands: `payload` is the JSON command, or text another flow queued */
export interface CommandRow {
  id: string;
  deviceId: string;
  action: string;
  topic: string;
  state: string;
  reason: string | null;
  attempts: number;
  createdMs: number;
  expiresMs: number;
  sentMs: number | null;
  payload: unknown;
}

/** GET /api/streams: each path's latest poll */
export interface StreamRow {
  path: string;
  time_ms: number;
  online: number;
  readers: number;
  inbound_kbps: number | null;
  outbound_kbps: number | null;
  frames_in_error: number | null;
  source_type: string | null;
}

/** GET /api/streams?path=…: one path's history */
export type StreamPoint = Omit<StreamRow, 'path' | 'source_type'>;

export interface Page {
  total: number;
  limit: number;
  offset: number;
}

/**
 * GET /api/events and /api/dead-letters (issue 18): keyset paging and a total
 * that never scans the table.
 */
export interface CursorPage extends Page {
  /** true when there are more than `total` (10,000) matching rows: say "10,000 or more" */
  totalCapped: boolean;
  /** pass as `cursor=` for the page after this one; null on the last page */
  next: string | null;
}
