/**
 * A small ONVIF client (SOAP 1.2 over HTTP), only the calls that find a
 * camera's streams: the clock (GetSystemDateAndTime, unauthenticated), the
 * media service (GetCapabilities), the profiles with their size and codec
 * (GetProfiles), and each profile's RTSP and snapshot URI. The login is a
 * WS-Security UsernameToken with a password digest, stamped with the camera's
 * own clock so a camera whose time is off still accepts it.
 *
 * OnvifSession is the one way this code talks SOAP to a camera (the event
 * subscription, onvif-events.ts, uses it too): answers are bounded in size and
 * refused when they declare entities. Discovery is discovery.ts.
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

export class OnvifError extends Error {
  /** a few words for a node's status, where the whole line does not fit (e.g. "clock off by 3600 s") */
  constructor(
    message: string,
    readonly brief?: string,
  ) {
    super(message);
  }
}

const NS =
  'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"' +
  ' xmlns:tev="http://www.onvif.org/ver10/events/wsdl" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:wsa="http://www.w3.org/2005/08/addressing"';

/** A SOAP answer larger than this is not one of the few calls made here. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** Inner text of every element with this local name (any namespace prefix). */
export function texts(xml: string, local: string): string[] {
  const re = new RegExp(`<(?:[A-Za-z0-9_-]+:)?${local}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[A-Za-z0-9_-]+:)?${local}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1]!.trim());
}
export const first = (xml: string, local: string): string | undefined => texts(xml, local)[0];

export function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The WS-Security header element: UsernameToken, PasswordDigest = base64(sha1(nonce + created + password)). */
export function securityHeader(username: string, password: string, now: Date): string {
  const nonce = randomBytes(16);
  const created = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const digest = createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created + password)]))
    .digest('base64');
  return `<Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>${escapeXml(username)}</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${digest}</Password><Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${created}</Created></UsernameToken></Security>`;
}

/** "192.168.1.50:80", never a login. */
export const where = (t: OnvifTarget) => `${t.host}:${t.port}`;

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

/** The body of an answer, at most MAX_ANSWER_BYTES. */
async function boundedText(res: Response, t: OnvifTarget): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > MAX_ANSWER_BYTES) {
    await res.body?.cancel();
    throw new OnvifError(`the ONVIF answer from ${where(t)} is too large (${declared} bytes)`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  for (;;) {
    const { done, value } = reader ? await reader.read() : { done: true, value: undefined };
    if (done || !value) break;
    size += value.length;
    if (size > MAX_ANSWER_BYTES) {
      await reader?.cancel();
      throw new OnvifError(`the ONVIF answer from ${where(t)} is too large (over ${MAX_ANSWER_BYTES} bytes)`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One camera's SOAP calls: a login stamped with the camera's own clock (learnt
 * from GetSystemDateAndTime, which needs no login), failures as OnvifError
 * with one line that says what to do.
 */
export class OnvifSession {
  readonly deviceUrl: string;
  /** the camera's clock minus ours, ms */
  skewMs = 0;

  constructor(
    readonly target: OnvifTarget,
    /** ends every call of this session at once (the event subscription's close) */
    private readonly signal?: AbortSignal,
  ) {
    this.deviceUrl = `http://${target.host}:${target.port}/onvif/device_service`;
  }

  get skewSeconds(): number {
    return Math.round(this.skewMs / 1000);
  }

  /** Learns the camera's clock; its time is used for every login after. */
  async syncClock(): Promise<void> {
    const clock = await this.call(this.deviceUrl, '<tds:GetSystemDateAndTime/>', { auth: false });
    const utc = first(clock, 'UTCDateTime');
    if (!utc) return;
    const n = (name: string) => Number(first(utc, name));
    const camera = Date.UTC(n('Year'), n('Month') - 1, n('Day'), n('Hour'), n('Minute'), n('Second'));
    if (Number.isFinite(camera)) this.skewMs = camera - Date.now();
  }

  /** A service's address from GetCapabilities (Media, Events…), undefined when the camera does not list it. */
  async capability(category: 'Media' | 'Events'): Promise<string | undefined> {
    const caps = await this.call(this.deviceUrl, `<tds:GetCapabilities><tds:Category>${category}</tds:Category></tds:GetCapabilities>`);
    const xaddr = first(first(caps, category) ?? '', 'XAddr');
    return xaddr ? unescapeXml(xaddr) : undefined;
  }

  async call(
    url: string,
    body: string,
    o: { auth?: boolean; header?: string; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<string> {
    const t = this.target;
    const security = o.auth !== false && t.username ? securityHeader(t.username, t.password ?? '', new Date(Date.now() + this.skewMs)) : '';
    const header = security || o.header ? `<s:Header>${security}${o.header ?? ''}</s:Header>` : '';
    const timeout = AbortSignal.timeout(o.timeoutMs ?? t.timeoutMs ?? 8000);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
        body: `<?xml version="1.0" encoding="UTF-8"?><s:Envelope ${NS}>${header}<s:Body>${body}</s:Body></s:Envelope>`,
        signal: AbortSignal.any([timeout, ...[o.signal ?? this.signal].filter((x): x is AbortSignal => x !== undefined)]),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await boundedText(res, t).catch((err: unknown) => {
      throw err instanceof OnvifError ? err : this.unreachable(err);
    });
    if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new OnvifError(`the ONVIF answer from ${where(t)} declares entities: refused`);
    if (res.status === 404)
      throw new OnvifError(`no ONVIF service at ${where(t)} (HTTP 404: is ONVIF enabled on the camera?)`, 'off (HTTP 404)');
    if (res.status === 401 || /NotAuthorized|FailedAuthentication|Sender not Authorized/i.test(text)) {
      const skew = this.skewSeconds;
      // A digest login carries its time: a camera whose clock is far off ours refuses it, whatever the password.
      if (Math.abs(skew) > 5)
        throw new OnvifError(
          `ONVIF refused the login at ${where(t)}: the camera's clock is off by ${skew} s (set its time, NTP), or the user or password is wrong`,
          `camera clock off by ${skew} s`,
        );
      throw new OnvifError(`ONVIF refused the login at ${where(t)} (wrong user or password)`, 'login refused');
    }
    if (!res.ok || /<(?:\w+:)?Fault>/.test(text)) {
      throw new OnvifError(`ONVIF error from ${where(t)}: ${first(text, 'Text')?.slice(0, 200) ?? `HTTP ${res.status}`}`);
    }
    return text;
  }

  private unreachable(err: unknown): OnvifError {
    const t = this.target;
    const cause = String((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name);
    if (cause === 'ECONNREFUSED')
      return new OnvifError(
        `nothing answers ONVIF at ${where(t)} (connection refused: is ONVIF enabled on the camera, and is this its ONVIF port?)`,
        'off (connection refused)',
      );
    if (/Timeout/.test(cause)) return new OnvifError(`the camera at ${where(t)} did not answer ONVIF in time`, 'no answer');
    if (/Abort/.test(cause)) return new OnvifError(`the ONVIF request to ${where(t)} was stopped`);
    return new OnvifError(`cannot reach ${where(t)} for ONVIF (${cause})`);
  }
}

export async function onvifCamera(t: OnvifTarget): Promise<OnvifCamera> {
  const session = new OnvifSession(t);
  const call = (url: string, body: string, auth = true) => session.call(url, body, { auth });
  await session.syncClock();
  const deviceUrl = session.deviceUrl;
  const skewMs = session.skewMs;
  const mediaUrl = (await session.capability('Media')) ?? deviceUrl;
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
