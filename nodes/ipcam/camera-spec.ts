/**
 * A camera as the user describes it (editor, API, database row), checked:
 * what cannot work is refused with a reason (the API answers 400 with it),
 * before anything is started or stored.
 */
import { CAMERA_MODES, DEVICE_ID_PATTERN, type CameraMode } from '../lib/types';
import { parseBoolean } from '../lib/settings';
import { MOTION_SOURCES, type CameraSpec, type MotionSource } from '../lib/contract/ip-cameras';

export { MOTION_SOURCES, type CameraSpec, type MotionSource };

export class SpecError extends Error {}

function rtspUrl(field: string, value: unknown, required: boolean): string {
  if (value === undefined || value === null || value === '') {
    if (required) throw new SpecError(`${field} is required (rtsp://host:554/path)`);
    return '';
  }
  if (typeof value !== 'string' || value.length > 2048) throw new SpecError(`${field} must be an rtsp:// URL`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new SpecError(`${field} is not a URL (expected rtsp://host:554/path)`);
  }
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') throw new SpecError(`${field} must start with rtsp:// (got ${url.protocol})`);
  if (url.username || url.password) throw new SpecError(`${field}: give the user and password as the login, not in the URL`);
  if (!url.hostname) throw new SpecError(`${field} has no host`);
  return url.toString();
}

function text(field: string, value: unknown, max: number, def = ''): string {
  if (value === undefined || value === null) return def;
  if (typeof value !== 'string') throw new SpecError(`${field} must be a string`);
  if (value.length > max) throw new SpecError(`${field} is longer than ${max} characters`);
  return value;
}

/** A true/false field, read as every setting is (nodes/lib/settings.ts); anything else is a SpecError. */
function flag(field: string, value: unknown, def: boolean): boolean {
  if (value !== undefined && typeof value !== 'string' && typeof value !== 'boolean') throw new SpecError(`${field} must be true or false`);
  try {
    return parseBoolean(field, value, def);
  } catch (err) {
    throw new SpecError((err as Error).message);
  }
}

/** Reads and checks a camera from untrusted fields (an API body, a node's properties and credentials). */
export function readCameraSpec(fields: Record<string, unknown>): CameraSpec {
  const id = text('id', fields.id, 64);
  if (!DEVICE_ID_PATTERN.test(id)) throw new SpecError(`id must match ${DEVICE_ID_PATTERN.source} (letters, digits, - and _)`);
  const mode = text('mode', fields.mode, 32, 'ARMED').toUpperCase() || 'ARMED';
  if (!(CAMERA_MODES as readonly string[]).includes(mode)) throw new SpecError(`mode must be one of ${CAMERA_MODES.join(', ')}`);
  const transport = text('transport', fields.transport, 8, 'tcp').toLowerCase() || 'tcp';
  if (transport !== 'tcp' && transport !== 'udp') throw new SpecError('transport must be tcp or udp');
  const motion = flag('motion', fields.motion, true);
  const onvif = onvifAddress(fields.onvif);
  const motionSource = (text('motionSource', fields.motionSource, 16, 'analyser').toLowerCase() || 'analyser') as MotionSource;
  if (!MOTION_SOURCES.includes(motionSource)) throw new SpecError(`motionSource must be one of ${MOTION_SOURCES.join(', ')}`);
  if (motionSource !== 'analyser' && !onvif)
    throw new SpecError(`motionSource ${motionSource} needs the camera's ONVIF address (onvif: host or host:port)`);
  const username = text('username', fields.username, 256);
  // The login travels in the RTSP URL, where a user name ends at its first ":": the camera would be sent the wrong login.
  if (username.includes(':')) throw new SpecError('username cannot hold a ":" (an RTSP login cannot carry one)');
  return {
    id,
    name: text('name', fields.name, 100).trim() || id,
    mainUrl: rtspUrl('mainUrl', fields.mainUrl, false),
    subUrl: rtspUrl('subUrl', fields.subUrl, true),
    transport,
    username,
    password: text('password', fields.password, 256),
    mode: mode as CameraMode,
    motion,
    onvif,
    motionSource,
  };
}

/** `host`, `host:port` or `[v6]:port`; '' when not given. */
function onvifAddress(value: unknown): string {
  const v = text('onvif', value, 260).trim();
  if (v === '') return '';
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?$/.exec(v);
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)))
    throw new SpecError("onvif must be the camera's ONVIF address: host or host:port (such as 192.168.1.50:80)");
  return v;
}

/** The ONVIF address as host and port (port 80 unless given). */
export function onvifHostPort(address: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(address);
  return { host: m?.[1] ?? address, port: m?.[2] ? Number(m[2]) : 80 };
}

/** What may be shown of a camera: never its password. */
export function publicSpec(spec: CameraSpec): Omit<CameraSpec, 'password'> & { hasPassword: boolean } {
  const { password, ...rest } = spec;
  return { ...rest, hasPassword: password !== '' };
}
