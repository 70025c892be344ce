/**
 * The ipcam node's properties: its own camera (optional) and the defaults
 * every camera it runs shares.
 */
import type { NodeDef } from 'node-red';
import { numberSetting } from '../lib/node-config';
import { readCameraSpec, type CameraSpec } from './camera-spec';
import type { CameraDefaults } from './camera-set';
import { IPCAM_ROUTES_ROOT } from '../lib/contract/api-routes';
import { DEVICE_ID_PATTERN } from '../lib/types';
import { relayUrl } from './live-relay';
import { readZones, type ZonePolygon } from '../lib/contract/zones';
import { detectSettings, type DetectDef } from '../lib/detect/settings';
import { inRange, motionSettings, stallTimeoutMs, type MotionDef } from '../lib/camera/settings';

export interface IpcamDef extends NodeDef, DetectDef, MotionDef {
  deviceId: string;
  mainUrl: string;
  subUrl: string;
  transport: string;
  mode: string;
  motion: boolean | string;
  /** the camera's ONVIF address (host:port) */
  onvif?: string;
  /** analyser, onvif or both */
  motionSource?: string;
  /** the node's own camera's masks and zones, JSON (nodes/lib/contract/zones.ts) */
  zones?: string;
  snapshotSeconds: string | number;
  jpegFps: string | number;
  prefix: string;
  heartbeatSeconds: string | number;
  stallSeconds: string | number;
  ffmpegPath: string;
  ffprobePath: string;
  apiPath: string;
  database: string;
  /** a mediamtx-server config node: live video through on-demand paths */
  mediamtx: string;
  /** the hosting device's id (the Pi's, `${PICAM_DEVICE_ID}`): empty for a camera the cloud runs */
  host?: string;
  /**
   * A hosted camera's live video goes to this RTSP server on request, at the path `{host}.{camera}`
   * (this URL's last path segment replaced): the Pi's own publish URL, `${PICAM_RTSP_URL}`. Empty: no relay.
   */
  relayUrl?: string;
}

export interface IpcamCredentials {
  user?: string;
  password?: string;
  /** the login for the relay's RTSP server (the Pi's own: `${PICAM_RTSP_USER}`, `${PICAM_RTSP_PASSWORD}`) */
  relayUser?: string;
  relayPassword?: string;
}

/** Where a hosted camera's live video is relayed: the server URL (any path) and its login; undefined without a relay URL. */
export interface RelaySettings {
  url: string;
  username?: string;
  password?: string;
}

export function relaySettings(def: IpcamDef, credentials: IpcamCredentials): RelaySettings | undefined {
  const url = (def.relayUrl ?? '').trim();
  if (!url) return undefined;
  if (!(def.host ?? '').trim()) throw new Error('a relay URL is for cameras hosted by a Pi: set host too, or empty the relay URL');
  relayUrl(url, 'check'); // a bad URL is refused at deploy, not at the first viewer
  return { url, username: credentials.relayUser || undefined, password: credentials.relayPassword || undefined };
}

export function cameraDefaults(def: IpcamDef): CameraDefaults {
  const host = (def.host ?? '').trim();
  if (host && !DEVICE_ID_PATTERN.test(host))
    throw new Error(`host must be a device id matching ${DEVICE_ID_PATTERN.source} (got "${host}")`);
  return {
    prefix: (def.prefix || 'prod').replace(/\/+$/, ''),
    ...(host ? { host } : {}),
    heartbeatMs: inRange('heartbeat', numberSetting(def.heartbeatSeconds, 30), 1, 3600) * 1000,
    snapshotEveryMs: numberSetting(def.snapshotSeconds, 0) * 1000,
    jpegFps: inRange('MJPEG frame rate', numberSetting(def.jpegFps, 5), 0.2, 30),
    jpegWidth: 640,
    ffmpegPath: def.ffmpegPath || 'ffmpeg',
    ffprobePath: def.ffprobePath || 'ffprobe',
    backoff: { baseMs: 1000, maxMs: 60_000 },
    stallTimeoutMs: stallTimeoutMs(def),
    motion: motionSettings(def),
    detect: detectSettings(def),
  };
}

/** The camera in the node's properties, or undefined when its sub stream URL is empty. */
export function flowCamera(def: IpcamDef, credentials: IpcamCredentials): CameraSpec | undefined {
  if (!def.subUrl) return undefined;
  return readCameraSpec({
    id: def.deviceId,
    name: def.name,
    mainUrl: def.mainUrl,
    subUrl: def.subUrl,
    transport: def.transport,
    username: credentials.user ?? '',
    password: credentials.password ?? '',
    mode: def.mode,
    motion: def.motion,
    onvif: def.onvif,
    motionSource: def.motionSource,
  });
}

/** The node's own camera's masks and zones (a ZonesError with the reason when they cannot work). */
export function flowZones(def: IpcamDef): ZonePolygon[] {
  return readZones(def.zones);
}

/** Where the HTTP API is mounted; undefined for "off" (the Pi flow: its runtime has no API login). */
export function apiPath(def: IpcamDef): string | undefined {
  const p = (def.apiPath ?? '').trim();
  if (p === '') return IPCAM_ROUTES_ROOT;
  if (p.toLowerCase() === 'off') return undefined;
  if (!/^\/[A-Za-z0-9/_-]*$/.test(p)) throw new Error(`API path must look like /api/ipcams (got "${p}")`);
  return p.replace(/\/+$/, '');
}
