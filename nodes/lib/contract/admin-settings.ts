/**
 * Settings the admin pages keep in the store (issue 23, migration 24): per alert channel
 * (on/off, modes, cooldown, quiet hours, which cameras alert) and the store's retention days.
 * What the node's settings and the environment say stays the default; an override names only
 * the fields it changes, and an empty one means "the defaults again". Checked here, so the
 * page and the server refuse the same things with the same reasons. Browser-safe.
 */
import { CAMERA_MODES, type CameraMode } from './camera-mode';

/** The alert nodes whose settings the admin page changes (each node's channel name). */
export const ALERT_CHANNELS = ['telegram', 'webhook', 'ntfy', 'pushover', 'webpush'] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];
export const isAlertChannel = (v: unknown): v is AlertChannel => ALERT_CHANNELS.includes(v as AlertChannel);

export interface AlertOverrides {
  /** false: the channel sends nothing (each alert gets a "suppressed" report saying so) */
  enabled?: boolean;
  /** activity alerts only in these camera modes */
  modes?: CameraMode[];
  cooldownSeconds?: number;
  /** "HH:MM"; both or neither; equal: no quiet hours */
  quietStart?: string;
  quietEnd?: string;
  quietAction?: 'silent' | 'drop';
  /** only these cameras alert; absent: every camera */
  cameras?: string[];
}

export interface RetentionOverrides {
  /** activity events, days (0 keeps forever) */
  eventsDays?: number;
  /** sensor readings, days */
  readingsDays?: number;
  /** recordings, days */
  recordingsDays?: number;
}

/** One running alert node as the page lists it: never its token or its URL's secrets. */
export interface AlertChannelInfo {
  channel: AlertChannel;
  /** where it sends, as its status badge says it ("3 chats", "ntfy.sh") */
  sendsTo: string;
}

/** One connection field on the page (alert-connection.ts): set there or not; a plain field's value, a secret's hint only. */
export interface ConnectionFieldView {
  set: boolean;
  value?: string;
  hint?: string;
}
export type ConnectionView = Record<string, ConnectionFieldView>;

/** GET /api/settings/alerts */
export interface AlertSettingsPage {
  channels: { channel: AlertChannel; running: AlertChannelInfo[]; overrides: AlertOverrides; connection: ConnectionView }[];
}

/** GET /api/settings/retention */
export interface RetentionSettingsPage {
  /** what the environment and node settings say */
  defaults: Required<RetentionOverrides>;
  overrides: RetentionOverrides;
}

/** The store's key for each override */
export const alertScope = (channel: AlertChannel) => `alerts.${channel}`;
export const RETENTION_SCOPE = 'retention';

const MAX_COOLDOWN_S = 7 * 24 * 3600;
const MAX_DAYS = 36_500;
const MAX_CAMERAS = 500;
const CLOCK = /^([01]?\d|2[0-3]):[0-5]\d$/;
const CAMERA_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class SettingsProblem extends Error {}

const bad = (m: string) => new SettingsProblem(m);

function objectFrom(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('send a JSON object');
  return value as Record<string, unknown>;
}

function unknownFields(o: Record<string, unknown>, known: readonly string[]): void {
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  if (extra.length) throw bad(`unknown setting ${extra.map((k) => JSON.stringify(k)).join(', ')} (known: ${known.join(', ')})`);
}

function wholeNumber(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw bad(`${what} must be a whole number from 0 to ${max}`);
  return v;
}

/** Checks an alert override; throws SettingsProblem with the reason. */
export function parseAlertOverrides(value: unknown): AlertOverrides {
  const o = objectFrom(value);
  unknownFields(o, ['enabled', 'modes', 'cooldownSeconds', 'quietStart', 'quietEnd', 'quietAction', 'cameras']);
  const out: AlertOverrides = {};
  if (o.enabled !== undefined) {
    if (typeof o.enabled !== 'boolean') throw bad('enabled must be true or false');
    out.enabled = o.enabled;
  }
  if (o.modes !== undefined) {
    if (!Array.isArray(o.modes) || o.modes.length === 0 || !o.modes.every((m) => CAMERA_MODES.includes(m as CameraMode)))
      throw bad(`modes must be a list of one or more of ${CAMERA_MODES.join(', ')}`);
    out.modes = [...new Set(o.modes as CameraMode[])];
  }
  if (o.cooldownSeconds !== undefined) out.cooldownSeconds = wholeNumber(o.cooldownSeconds, 'cooldownSeconds', MAX_COOLDOWN_S);
  if ((o.quietStart === undefined) !== (o.quietEnd === undefined)) throw bad('quiet hours need both quietStart and quietEnd');
  if (o.quietStart !== undefined) {
    if (typeof o.quietStart !== 'string' || !CLOCK.test(o.quietStart) || typeof o.quietEnd !== 'string' || !CLOCK.test(o.quietEnd))
      throw bad('quietStart and quietEnd must be times as HH:MM (00:00 to 23:59)');
    out.quietStart = o.quietStart;
    out.quietEnd = o.quietEnd;
  }
  if (o.quietAction !== undefined) {
    if (o.quietAction !== 'silent' && o.quietAction !== 'drop') throw bad('quietAction must be "silent" or "drop"');
    out.quietAction = o.quietAction;
  }
  if (o.cameras !== undefined) {
    if (!Array.isArray(o.cameras) || o.cameras.length > MAX_CAMERAS || !o.cameras.every((c) => typeof c === 'string' && CAMERA_ID.test(c)))
      throw bad(`cameras must be a list of up to ${MAX_CAMERAS} camera ids (letters, digits, _ and -)`);
    out.cameras = [...new Set(o.cameras as string[])];
  }
  return out;
}

/** Checks a retention override; throws SettingsProblem with the reason. */
export function parseRetentionOverrides(value: unknown): RetentionOverrides {
  const o = objectFrom(value);
  const keys = ['eventsDays', 'readingsDays', 'recordingsDays'] as const;
  unknownFields(o, keys);
  const out: RetentionOverrides = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = wholeNumber(o[k], k, MAX_DAYS);
  return out;
}

/** "cooldown 30 s, cameras porch" — how a change reads in the audit (no secrets: there are none here). */
export function describeOverrides(o: object): string {
  const parts = Object.entries(o).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') || '(none)' : String(v)}`);
  return parts.length ? parts.join('; ') : 'back to the defaults';
}
