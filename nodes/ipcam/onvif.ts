/**
 * A small ONVIF client (SOAP 1.2 over HTTP), only the calls that find a
 * camera's streams: the clock (GetSystemDateAndTime, unauthenticated), the
 * media service (GetCapabilities), the profiles with their size and codec
 * (GetProfiles), and each profile's RTSP and snapshot URI. The login is a
 * WS-Security UsernameToken with a password digest, stamped with the camera's
 * own clock so a camera whose time is off still accepts it.
 *
 * Discovery (WS-Discovery multicast) is not done here: it reaches only the same
 * LAN segment; give the camera's address instead.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface OnvifTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

export interface OnvifProfile {
  token: string;
  name: string;
  encoding?: string;
  width?: number;
  height?: number;
  streamUri?: string;
  snapshotUri?: string;
}

export interface OnvifCamera {
  /** the camera's clock minus ours, in seconds */
  clockSkewSeconds: number;
  profiles: OnvifProfile[];
  /** the largest H.264/H.265 profile's stream and the smallest's: main and sub stream */
  mainUrl?: string;
  subUrl?: string;
  warnings: string[];
}

export class OnvifError extends Error {}

const NS =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"';

/** Inner text of every element with this local name (any namespace prefix). */
export function texts(xml: string, local: string): string[] {
  const re = new RegExp(`<(?:[A-Za-z0-9_-]+:)?${local}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[A-Za-z0-9_-]+:)?${local}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1]!.trim());
}
const first = (xml: string, local: string): string | undefined => texts(xml, local)[0];

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** WS-Security UsernameToken, PasswordDigest = base64(sha1(nonce + created + password)). */
export function securityHeader(username: string, password: string, now: Date): string {
  const nonce = randomBytes(16);
  const created = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const digest = createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created + password)]))
    .digest('base64');
  return `<s:Header><Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>${escapeXml(username)}</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${digest}</Password><Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${created}</Created></UsernameToken></Security></s:Header>`;
}

/** "192.168.1.50:80", never a login. */
const where = (t: OnvifTarget) => `${t.host}:${t.port}`;

/** An RTSP URI as the camera gave it, with any login it embedded taken out (ours is kept apart). */
function withoutLogin(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  try {
    const u = new URL(unescapeXml(uri));
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return undefined;
  }
}

export async function onvifCamera(t: OnvifTarget): Promise<OnvifCamera> {
  const deviceUrl = `http://${t.host}:${t.port}/onvif/device_service`;
  let skewMs = 0;
  const call = async (url: string, body: string, auth: boolean): Promise<string> => {
    const header = auth && t.username ? securityHeader(t.username, t.password ?? '', new Date(Date.now() + skewMs)) : '';
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
        body: `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${NS}>${header}<s:Body>${body}</s:Body></s:Envelope>`,
        signal: AbortSignal.timeout(t.timeoutMs ?? 8000),
      });
    } catch (err) {
      const cause = String((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name);
      if (cause === 'ECONNREFUSED')
        throw new OnvifError(
          `nothing answers ONVIF at ${where(t)} (connection refused: is ONVIF enabled on the camera, and is this its ONVIF port?)`,
        );
      if (/Timeout|Abort/.test(cause)) throw new OnvifError(`the camera at ${where(t)} did not answer ONVIF in time`);
      throw new OnvifError(`cannot reach ${where(t)} for ONVIF (${cause})`);
    }
    const text = await res.text();
    if (res.status === 404) throw new OnvifError(`no ONVIF service at ${where(t)} (HTTP 404: is ONVIF enabled on the camera?)`);
    if (res.status === 401 || /NotAuthorized|FailedAuthentication|Sender not Authorized/i.test(text)) {
      const skew = Math.round(skewMs / 1000);
      const clock = Math.abs(skew) > 5 ? `, or the camera's clock is off by ${skew} s` : '';
      throw new OnvifError(`ONVIF refused the login at ${where(t)} (wrong user or password${clock})`);
    }
    if (!res.ok || /<(?:\w+:)?Fault>/.test(text)) {
      throw new OnvifError(`ONVIF error from ${where(t)}: ${first(text, 'Text') ?? `HTTP ${res.status}`}`);
    }
    return text;
  };

  const clock = await call(deviceUrl, '<tds:GetSystemDateAndTime/>', false);
  const utc = first(clock, 'UTCDateTime');
  if (utc) {
    const n = (name: string) => Number(first(utc, name));
    const camera = Date.UTC(n('Year'), n('Month') - 1, n('Day'), n('Hour'), n('Minute'), n('Second'));
    if (Number.isFinite(camera)) skewMs = camera - Date.now();
  }
  const caps = await call(deviceUrl, '<tds:GetCapabilities><tds:Category>Media</tds:Category></tds:GetCapabilities>', true);
  const mediaUrl = unescapeXml(first(first(caps, 'Media') ?? '', 'XAddr') ?? deviceUrl);
  const profilesXml = await call(mediaUrl, '<trt:GetProfiles/>', true);
  const profiles: OnvifProfile[] = [];
  for (const m of profilesXml.matchAll(/<(?:\w+:)?Profiles\b([^>]*)>([\s\S]*?)<\/(?:\w+:)?Profiles>/g)) {
    const token = /token="([^"]+)"/.exec(m[1]!)?.[1];
    if (!token) continue;
    const enc = first(m[2]!, 'VideoEncoderConfiguration') ?? '';
    const res = first(enc, 'Resolution') ?? '';
    profiles.push({
      token,
      name: first(m[2]!, 'Name') ?? token,
      encoding: first(enc, 'Encoding'),
      width: Number(first(res, 'Width')) || undefined,
      height: Number(first(res, 'Height')) || undefined,
    });
  }
  if (profiles.length === 0) throw new OnvifError(`the camera at ${where(t)} lists no media profiles`);
  for (const p of profiles) {
    const stream = await call(
      mediaUrl,
      `<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup><trt:ProfileToken>${escapeXml(p.token)}</trt:ProfileToken></trt:GetStreamUri>`,
      true,
    );
    p.streamUri = withoutLogin(first(stream, 'Uri'));
    const snap = await call(
      mediaUrl,
      `<trt:GetSnapshotUri><trt:ProfileToken>${escapeXml(p.token)}</trt:ProfileToken></trt:GetSnapshotUri>`,
      true,
    ).catch(() => '');
    const snapUri = first(snap, 'Uri');
    if (snapUri) p.snapshotUri = unescapeXml(snapUri);
  }
  const video = profiles.filter((p) => p.streamUri).sort((a, b) => (b.width ?? 0) * (b.height ?? 0) - (a.width ?? 0) * (a.height ?? 0));
  const warnings: string[] = [];
  const skew = Math.round(skewMs / 1000);
  if (Math.abs(skew) > 5)
    warnings.push(`the camera's clock is off by ${skew} s: set its time (NTP), or event times and logins may be wrong`);
  const sub = video.at(-1);
  if (sub?.encoding && sub.encoding.toUpperCase() !== 'H264')
    warnings.push(`the smallest profile (${sub.name}) is ${sub.encoding}: set the camera's sub stream to H.264 for analysis`);
  return {
    clockSkewSeconds: skew,
    profiles,
    mainUrl: video[0]?.streamUri,
    subUrl: video.length > 1 ? sub?.streamUri : video[0]?.streamUri,
    warnings,
  };
}
