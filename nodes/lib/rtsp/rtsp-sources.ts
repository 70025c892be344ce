/**
 * Which cameras the live node serves from an RTSP stream instead of asking a VBC01 (issue 17
 * item 4): the node property `rtspSources` (the cloud flow: ${PICAM_LIVE_RTSP_SOURCES}), a
 * comma-separated list of cameraId=source:
 *
 *   picam-1=rtsp://cams.example.org:8554/picam-1          pulled over RTSP/TCP and copied
 *   picam-1=rtsp://viewer:s3cret@cams.example.org/picam-1  the login in the URL (from the environment)
 *   picam-1=/var/lib/picam/hls/picam-1.sdp                 an RTP stream an SDP file describes
 *                                                          (the demo's RTSP sink writes one)
 *
 * A source without a login in its URL takes the node's credentials (rtspUser, rtspPassword).
 * Errors name an entry by its number and camera id, never by its URL: it may carry a password.
 */
import { isAbsolute } from 'node:path';
import { DEVICE_ID_PATTERN } from '../types';
import { parseList } from '../settings';
import { safeHost, type RtspInput } from './rtsp-input';

export type RtspSourceSpec =
  /** an RTSP server or camera, pulled over TCP */
  | { kind: 'rtsp'; cameraId: string; input: RtspInput }
  /** plain RTP described by an SDP file (ffmpeg binds the port the file names) */
  | { kind: 'sdp'; cameraId: string; file: string };

export interface RtspLogin {
  user?: string;
  password?: string;
}

/** Where a source is, for status, logs and errors: host:port/path or the SDP file, never a login. */
export function sourceWhere(spec: RtspSourceSpec): string {
  return spec.kind === 'rtsp' ? safeHost(spec.input.url) : spec.file;
}

/** The passwords a source holds (as given and URL-encoded), to scrub from any text that leaves the node. */
export function sourceSecrets(spec: RtspSourceSpec): string[] {
  const p = spec.kind === 'rtsp' ? spec.input.password : undefined;
  return p ? [...new Set([p, encodeURIComponent(p)])] : [];
}

function parseOne(entry: string, n: number, login: RtspLogin): RtspSourceSpec {
  const eq = entry.indexOf('=');
  const cameraId = entry.slice(0, Math.max(eq, 0)).trim();
  const source = entry.slice(eq + 1).trim();
  if (eq < 0 || !DEVICE_ID_PATTERN.test(cameraId))
    throw new Error(`rtspSources entry ${n} must be cameraId=rtsp://host/path (a camera id of letters, digits, _ and -)`);
  if (source.endsWith('.sdp') && isAbsolute(source)) return { kind: 'sdp', cameraId, file: source };
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new Error(
      `rtspSources entry ${n} (${cameraId}) is not a URL: expected rtsp://host:port/path or an absolute path to an .sdp file`,
    );
  }
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:')
    throw new Error(`rtspSources entry ${n} (${cameraId}) must start with rtsp:// or rtsps://`); // its scheme may be a user name
  // The login in the URL wins over the node's; it is kept apart from the URL from here on.
  const username = url.username ? decodeURIComponent(url.username) : login.user || undefined;
  const password = url.username ? decodeURIComponent(url.password) || undefined : login.password || undefined;
  url.username = '';
  url.password = '';
  return { kind: 'rtsp', cameraId, input: { url: url.toString(), username, password, transport: 'tcp' } };
}

/** The sources by camera id; throws a clear Error (no URL in it) for a bad entry or a camera named twice. */
export function parseRtspSources(raw: string | undefined, login: RtspLogin = {}): Map<string, RtspSourceSpec> {
  const sources = new Map<string, RtspSourceSpec>();
  parseList(raw).forEach((entry, i) => {
    const spec = parseOne(entry, i + 1, login);
    if (sources.has(spec.cameraId)) throw new Error(`rtspSources names camera ${spec.cameraId} twice`);
    sources.set(spec.cameraId, spec);
  });
  return sources;
}

/** The camera ids of a source list, for the dashboard (which needs no URL); bad entries left out. */
export function rtspSourceIds(raw: string | undefined): string[] {
  return parseList(raw)
    .map((e) => e.slice(0, Math.max(e.indexOf('='), 0)).trim())
    .filter((id) => DEVICE_ID_PATTERN.test(id));
}
