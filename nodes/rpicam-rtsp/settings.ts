/**
 * rpicam-rtsp's editor properties as a typed stream configuration, checked:
 * a value that cannot work is refused at deploy with a message saying which
 * and why, rather than found out by ffmpeg later.
 */
import type { NodeDef } from 'node-red';
import { numberSetting } from '../lib/node-config';
import { CAMERA_MODES, type CameraMode } from '../lib/types';
import type { CameraOptions } from '../lib/camera/camera';
import type { SourceKind, StreamConfig } from '../lib/camera/types';
import { parseBoolean } from '../lib/settings';
import { readZones } from '../lib/contract/zones';
import { detectSettings, type DetectDef } from '../lib/detect/settings';
import { inRange, motionSettings, stallTimeoutMs, type MotionDef } from '../lib/camera/settings';

export interface RpicamRtspDef extends NodeDef, DetectDef, MotionDef {
  source: string;
  url: string;
  width: string | number;
  height: string | number;
  framerate: string | number;
  bitrateKbps: string | number;
  keyframeSeconds: string | number;
  rotation: string | number;
  hflip: boolean | string;
  vflip: boolean | string;
  lowLatency: boolean | string;
  rpicamPath: string;
  ffmpegPath: string;
  v4l2Device: string;
  v4l2Encoder: string;
  stallSeconds: string | number;
  analysis: boolean | string;
  motion: boolean | string;
  /** masks and zones, JSON (nodes/lib/contract/zones.ts) */
  zones?: string;
  snapshotSeconds: string | number;
  previewPath: string;
  mode: string;
  autoStart: boolean | string;
  pattern?: string;
  /** udp://127.0.0.1:port: a copy of the video for the Pi's own recorder ('' = none) */
  recordTo?: string;
}

export interface CameraSettings {
  camera: CameraOptions;
  /** where the MJPEG preview is served; '' = not served */
  previewPath: string;
  statsEveryMs: number;
  autoStart: boolean;
}

const SOURCES: readonly SourceKind[] = ['rpicam', 'v4l2', 'testsrc', 'scene'];

/** The local tap's address: a UDP port of this host only (the recorder beside it listens there). */
function recordTo(raw: string | undefined): string | undefined {
  const text = (raw ?? '').trim();
  if (!text) return undefined;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const local = url?.hostname === '127.0.0.1' || url?.hostname === 'localhost';
  if (!url || url.protocol !== 'udp:' || !local || !url.port || url.pathname.replace('/', '') || url.search || url.username)
    throw new Error(`local recording must be udp://127.0.0.1:port (got "${text.slice(0, 80)}")`);
  return `udp://${url.host}`;
}

/** `sceneDir`: where the scene source's pictures are (the node's scene/ folder). */
export function streamConfig(def: RpicamRtspDef, credentials: { user?: string; password?: string }, sceneDir?: string): CameraSettings {
  const source = (def.source || 'rpicam') as SourceKind;
  if (!SOURCES.includes(source)) throw new Error(`source must be one of ${SOURCES.join(', ')} (got "${def.source}")`);
  let url: URL;
  try {
    url = new URL(def.url);
  } catch {
    throw new Error(`RTSP URL "${def.url}" is not a URL (expected rtsp://host:8554/path)`);
  }
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') throw new Error(`RTSP URL must start with rtsp:// (got ${url.protocol})`);
  if (url.username || url.password) throw new Error('put the RTSP user and password in the credentials, not in the URL');
  const framerate = inRange('frame rate', numberSetting(def.framerate, 15), 1, 120);
  const mode = (def.mode || 'ARMED').toUpperCase() as CameraMode;
  if (!CAMERA_MODES.includes(mode)) throw new Error(`mode must be one of ${CAMERA_MODES.join(', ')}`);
  const rotation = numberSetting(def.rotation, 0);
  if (rotation !== 0 && rotation !== 180) throw new Error('rotation must be 0 or 180 (the camera can flip, not turn by 90°)');
  const analysis = parseBoolean('analysis', def.analysis, true);
  const stream: StreamConfig = {
    source,
    rtspUrl: url.toString(),
    username: credentials.user || undefined,
    password: credentials.password || undefined,
    width: inRange('width', numberSetting(def.width, 1280), 64, 4056),
    height: inRange('height', numberSetting(def.height, 720), 64, 3040),
    framerate,
    bitrate: inRange('bitrate', numberSetting(def.bitrateKbps, 2000), 100, 50_000) * 1000,
    keyframeInterval: Math.max(1, Math.round(inRange('key-frame interval', numberSetting(def.keyframeSeconds, 2), 0.1, 60) * framerate)),
    rotation,
    hflip: parseBoolean('hflip', def.hflip, false),
    vflip: parseBoolean('vflip', def.vflip, false),
    lowLatency: parseBoolean('lowLatency', def.lowLatency, true),
    rpicamPath: def.rpicamPath || 'rpicam-vid',
    ffmpegPath: def.ffmpegPath || 'ffmpeg',
    v4l2Device: def.v4l2Device || '/dev/video0',
    v4l2Encoder: def.v4l2Encoder || 'h264_v4l2m2m',
    pattern: def.pattern === 'static' ? 'static' : 'moving',
    ...(source === 'scene' ? { sceneDir } : {}),
    analysis: analysis ? { jpegFps: 2, jpegWidth: 640, motionFps: 5, motionWidth: 64, motionHeight: 48 } : undefined,
    recordTo: recordTo(def.recordTo),
    stallTimeoutMs: stallTimeoutMs(def),
    backoff: { baseMs: 1000, maxMs: 60_000 },
  };
  return {
    camera: {
      stream,
      mode,
      snapshotEveryMs: analysis ? numberSetting(def.snapshotSeconds, 0) * 1000 : 0,
      motion: {
        on: analysis && parseBoolean('motion', def.motion, true),
        ...motionSettings(def),
        zones: readZones(def.zones),
      },
      detect: detectSettings(def),
    },
    previewPath: analysis ? (def.previewPath ?? '').trim() : '',
    statsEveryMs: 10_000,
    autoStart: parseBoolean('autoStart', def.autoStart, true),
  };
}
