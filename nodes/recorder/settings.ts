/**
 * The recorder node's properties, checked: a bad value stops the node with a message naming
 * the property. Cameras come as the live node takes its RTSP sources (`cameraId=rtsp://…` or
 * an absolute `.sdp` file, comma-separated, parsed by lib/rtsp/rtsp-sources.ts), with the
 * node's credentials for sources without a login in their URL; modes as `cameraId=mode`.
 */
import { isAbsolute, resolve } from 'node:path';
import type { NodeDef } from 'node-red';
import { RECORDING_MODES, type RecordingMode } from '../lib/contract/recordings';
import type { RecordedCamera, RecorderOptions } from '../lib/recording/recorder-service';
import { parseBoolean, parseList, parseNumber, SETTINGS, type SettingName } from '../lib/settings';
import { DEVICE_ID_PATTERN } from '../lib/types';
import { hiddenInputArgs, concatScript, rtspFailure } from '../lib/rtsp/rtsp-input';
import { parseRtspSources, sourceWhere, type RtspSourceSpec } from '../lib/rtsp/rtsp-sources';

type Raw = string | number | undefined;

export interface RecorderDef extends NodeDef {
  database?: string;
  /** the recordings folder (the cloud flow: ${PICAM_RECORD_DIR}) */
  dir?: string;
  /** "cameraId=rtsp://host/path, cameraId=/abs/file.sdp" */
  sources?: string;
  /** "cameraId=continuous, cameraId=off": a camera not named takes `mode` */
  modes?: string;
  mode?: string;
  preRollSeconds?: Raw;
  postRollSeconds?: Raw;
  maxClipSeconds?: Raw;
  segmentSeconds?: Raw;
  retainClipDays?: Raw;
  retainSegmentDays?: Raw;
  freePercent?: Raw;
  freeGB?: Raw;
  ffmpegPath?: string;
  /** a Pi's recorder: the cloud runtime's URL its clips are sent to ('' = kept here only) */
  uploadUrl?: string;
  /** whether this recorder serves /api/recordings and MediaMTX's segments (a Pi's does not) */
  serve?: boolean | string;
}

export interface RecorderCredentials {
  rtspUser?: string;
  rtspPassword?: string;
  /** the cloud's API token the clips are sent with */
  uploadToken?: string;
}

/** What the node's properties and environment configure of the service's options. */
export interface RecorderConfig extends Pick<
  RecorderOptions,
  'root' | 'defaultMode' | 'preRollMs' | 'postRollMs' | 'maxClipMs' | 'segmentSeconds' | 'rules' | 'ffmpegPath'
> {
  cameras: RecordedCamera[];
  /** where clips are sent, with the token (a Pi's recorder) */
  upload?: { url: string; token?: string };
  serve: boolean;
  /** the passwords of the sources, to scrub from anything that leaves the node */
  secrets: string[];
}

function setting(def: RecorderDef, name: SettingName): number {
  const s = SETTINGS[name];
  const property = s.property[1] as keyof RecorderDef;
  return parseNumber(property, def[property] as Raw, s.value, s);
}

function mode(raw: string | undefined, what: string): RecordingMode {
  const m = (raw ?? '').trim().toLowerCase() || 'events';
  if (!RECORDING_MODES.includes(m as RecordingMode)) throw new Error(`${what} must be one of ${RECORDING_MODES.join(', ')} (got "${raw}")`);
  return m as RecordingMode;
}

/** "cam=mode, …" → map; the camera ids checked. */
export function parseModes(raw: string | undefined): Map<string, RecordingMode> {
  const modes = new Map<string, RecordingMode>();
  parseList(raw).forEach((entry, i) => {
    const [id = '', m] = entry.split('=').map((s) => s.trim());
    if (!DEVICE_ID_PATTERN.test(id) || m === undefined) throw new Error(`modes entry ${i + 1} must be cameraId=off|events|continuous`);
    modes.set(id, mode(m, `modes entry ${i + 1} (${id})`));
  });
  return modes;
}

/** How ffmpeg reads a source: an RTSP login only ever in the script on stdin. */
function inputOf(spec: RtspSourceSpec): RecordedCamera['input'] {
  if (spec.kind === 'rtsp') return { args: hiddenInputArgs(), stdin: concatScript(spec.input) };
  return { args: ['-nostdin', '-protocol_whitelist', 'file,udp,rtp', '-i', spec.file] };
}

/** `cameraId=udp://host:port` entries: MPEG-TS to a port of this host (no login, no path). */
function udpSources(entries: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of entries) {
    const [id = '', raw = ''] = e.split(/=(.*)/s).map((x) => x.trim());
    const url = URL.canParse(raw) ? new URL(raw) : undefined;
    if (!DEVICE_ID_PATTERN.test(id) || !url || !url.port || url.pathname.replace('/', '') || url.username)
      throw new Error(`sources entry ${id || '?'} must be cameraId=udp://host:port (MPEG-TS to this host)`);
    if (out.has(id)) throw new Error(`sources names camera ${id} twice`);
    out.set(id, `udp://${url.host}`);
  }
  return out;
}

/** The cloud URL clips are sent to: http(s), no login in it (the token is a credential). */
function uploadTo(raw: string | undefined, token: string | undefined): RecorderConfig['upload'] {
  const text = (raw ?? '').trim();
  if (!text) return undefined;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password)
    // Not quoted: it may hold a password.
    throw new Error(`upload URL must be the cloud's http(s)://host:port, without a login (the token is a credential)`);
  return { url: url.toString(), ...(token && { token }) };
}

export function recorderConfig(def: RecorderDef, credentials: RecorderCredentials = {}, baseDir = process.cwd()): RecorderConfig {
  const dir = (def.dir ?? '').trim();
  if (!dir) throw new Error('dir (the recordings folder) is required');
  const defaultMode = mode(def.mode, 'mode');
  const modes = parseModes(def.modes);
  const entries = parseList(def.sources);
  const isUdp = (e: string) => /^[^=]*=\s*udp:\/\//.test(e);
  const udp = udpSources(entries.filter(isUdp));
  const sources = parseRtspSources(entries.filter((e) => !isUdp(e)).join(','), {
    user: credentials.rtspUser,
    password: credentials.rtspPassword,
  });
  for (const id of udp.keys()) if (sources.has(id)) throw new Error(`sources names camera ${id} twice`);
  const cameras: RecordedCamera[] = [...sources.values()].map((spec) => ({
    cameraId: spec.cameraId,
    mode: modes.get(spec.cameraId) ?? defaultMode,
    input: inputOf(spec),
    where: sourceWhere(spec),
    ...(spec.kind === 'rtsp' && { explain: (tail: readonly string[]) => rtspFailure(tail, spec.input.url) }),
  }));
  for (const [cameraId, url] of udp)
    cameras.push({
      cameraId,
      mode: modes.get(cameraId) ?? defaultMode,
      input: { args: ['-nostdin', '-f', 'mpegts', '-i', `${url}?overrun_nonfatal=1`] },
      where: url,
    });
  const sourced = new Set(cameras.map((c) => c.cameraId));
  // Cameras named only in modes are recorded elsewhere (MediaMTX's hook): listed with their mode.
  for (const [cameraId, m] of modes) if (!sourced.has(cameraId)) cameras.push({ cameraId, mode: m, where: 'MediaMTX' });
  const secrets = [...sources.values()].flatMap((s) =>
    s.kind === 'rtsp' && s.input.password ? [s.input.password, encodeURIComponent(s.input.password)] : [],
  );
  return {
    root: isAbsolute(dir) ? dir : resolve(baseDir, dir),
    cameras,
    defaultMode,
    preRollMs: setting(def, 'recordPreRollSeconds') * 1000,
    postRollMs: setting(def, 'recordPostRollSeconds') * 1000,
    maxClipMs: setting(def, 'recordMaxClipSeconds') * 1000,
    segmentSeconds: setting(def, 'recordSegmentSeconds'),
    rules: {
      retainClipDays: setting(def, 'recordRetainClipDays'),
      retainSegmentDays: setting(def, 'recordRetainSegmentDays'),
      freePercent: setting(def, 'recordFreePercent'),
      freeGB: setting(def, 'recordFreeGB'),
    },
    ...(def.ffmpegPath?.trim() && { ffmpegPath: def.ffmpegPath.trim() }),
    upload: uploadTo(def.uploadUrl, credentials.uploadToken),
    serve: parseBoolean('serve', def.serve, true),
    secrets: [...new Set([...secrets, ...(credentials.uploadToken ? [credentials.uploadToken] : [])])],
  };
}
