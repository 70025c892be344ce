/**
 * The MQTT API's public topics (docs/mqtt-api.md), spelled once: the mqtt-api node publishes
 * and reads them, the ha-discovery node points Home Assistant's entities at them, the broker's
 * integration rule and cloud/mosquitto/acl grant them. `{p}` is the API prefix (default `picam`),
 * kept apart from the device tree (`prod/...`), which only devices and the runtime may use.
 *
 * Browser-safe data, like everything in nodes/lib/contract/.
 */
import { CAMERA_MODES, type CameraMode } from './camera-mode';

export const DEFAULT_API_PREFIX = 'picam';
export const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';
/** The device types the cloud takes in (mqtt-processor), and the MQTT API and discovery announce, unless a node says otherwise. */
export const CLOUD_DEVICE_TYPES: readonly string[] = ['hive-cam', 'picam', 'ipcam'];

/** Retained per-device state topics: `{p}/devices/{id}/{state}`. */
export const STATE_TOPICS = ['mode', 'connection', 'event', 'motion', 'person', 'sensors', 'health', 'snapshot'] as const;
export type StateTopic = (typeof STATE_TOPICS)[number];

/** Payloads of the plain-text state topics. */
export const ONLINE = 'online';
export const OFFLINE = 'offline';
export const ON = 'ON';
export const OFF = 'OFF';
export const PRESS = 'PRESS';

/** Set topics (`{p}/devices/{id}/{what}/set`): Home Assistant's select and button publish there, no answer expected. */
export const SET_TOPICS = ['mode', 'reboot'] as const;
export type SetTopic = (typeof SET_TOPICS)[number];

/** Request/response commands: `{p}/request/{command}`. */
export const API_COMMANDS = ['setmode', 'reboot', 'snapshot'] as const;
export type ApiCommand = (typeof API_COMMANDS)[number];

/** What a request carries (JSON). MQTT 5 clients may give `id`/`replyTo` as correlation data and response topic instead. */
export interface ApiRequestBody {
  /** the correlation id, echoed in the answer (MQTT 3.1.1 clients; MQTT 5: correlation data) */
  id?: string;
  /** where the answer goes, under `{p}/response/` (MQTT 5: the response topic) */
  replyTo?: string;
  deviceId: string;
  /** setmode only */
  mode?: CameraMode;
}

/** Every answer: the HTTP API's envelope, plus the correlation id and the HTTP-like code. */
export interface ApiAnswer<T = unknown> {
  /** the request's correlation id; null when the request had none it could be read from */
  id: string | null;
  status: 'ok' | 'error';
  /** what the HTTP API would answer: 202 queued, 400 bad request, 404 unknown device, 409 refused, 503 not queued */
  code: number;
  data?: T;
  error?: string;
}

/** One event as published on `{p}/events/{id}` (and retained as the device's last, `{p}/devices/{id}/event`). */
export interface ApiEvent {
  deviceId: string;
  deviceType: string;
  /** activity-start, activity-stop, connection */
  kind: string;
  timeMs: number;
  eventId?: string;
  activityType?: string;
  /** connection events: online / offline */
  status?: string;
}

export function apiTopics(prefix: string) {
  const p = prefix.replace(/\/+$/, '');
  return {
    state: (id: string, what: StateTopic) => `${p}/devices/${id}/${what}`,
    set: (id: string, what: SetTopic) => `${p}/devices/${id}/${what}/set`,
    /** subscription for every set topic */
    setFilter: `${p}/devices/+/+/set`,
    events: (id: string) => `${p}/events/${id}`,
    request: (command: ApiCommand) => `${p}/request/${command}`,
    requestFilter: `${p}/request/+`,
    /** answers go under here; `{p}/response` itself when the request named no place */
    responseRoot: `${p}/response`,
    /** Where answers may go: a requester cannot make the runtime publish anywhere else (a device's command topic). */
    isResponseTopic: (topic: string) =>
      (topic === `${p}/response` || topic.startsWith(`${p}/response/`)) && !/[#+\u0000]/.test(topic) && topic.length <= 512,
  };
}

export type ApiTopics = ReturnType<typeof apiTopics>;

export const isCameraMode = (v: unknown): v is CameraMode => typeof v === 'string' && (CAMERA_MODES as readonly string[]).includes(v);
