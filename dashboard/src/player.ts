/**
 * Live video for one camera: WebRTC from MediaMTX over WHEP (POST an SDP offer
 * to {webrtcUrl}/{cameraId}/whep, get the answer, play the track), reconnected
 * with backoff when the stream drops; or the camera's MJPEG preview (an <img>)
 * when there is no MediaMTX for the browser or it cannot be reached. A VBC01
 * camera is started on demand through the runtime's own WHEP endpoint (the
 * vbc01-live node), and its state is shown while it starts (live-state.ts).
 */
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-paths';
import { DASHBOARD_CLIENT_HEADER, DASHBOARD_CLIENT_VALUE } from '../../nodes/lib/contract/dashboard-api';
import { h, clear } from './dom';
import { LiveStateWatch } from './live-state';
import { HostedRelay, isHostedCamera, RELAY_RETRY_MS } from './hosted-live';

/** `relay`: a camera hosted by a Pi, relayed only while asked (hosted-live.ts). */
export type VideoSource =
  | { kind: 'whep'; url: string; fallbackMjpeg?: string; relay?: string }
  /**
   * WHEP to the runtime itself (the vbc01-live node), which starts the camera's stream on demand:
   * a VBC01 (asked over MQTT) or an RTSP source it copies where no MediaMTX runs; state at stateUrl
   */
  | { kind: 'vbc01'; url: string; stateUrl: string }
  | { kind: 'mjpeg'; url: string }
  | { kind: 'none' };

/** Where an IP camera's MJPEG is served (the ipcam node's API, same origin, behind the dashboard login). */
export const ipcamMjpegUrl = (cameraId: string): string => apiUrl(API_PATHS.ipcamMjpeg, { id: cameraId });

export function videoSourceFor(
  cameraId: string,
  webrtcUrl: string,
  mjpeg: Record<string, string>,
  deviceType?: string,
  runtimeLive: readonly string[] = [],
): VideoSource {
  // VBC01 cameras stream only when asked (stream/play): never through MediaMTX. An RTSP source of
  // the runtime's live node (the demo's Pi camera without MediaMTX) takes the same path.
  if (deviceType === 'hive-cam' || runtimeLive.includes(cameraId))
    return { kind: 'vbc01', url: apiUrl(API_PATHS.liveWhep, { cameraId }), stateUrl: apiUrl(API_PATHS.liveCamera, { cameraId }) };
  // A Pi's hosted camera has no MJPEG in the cloud: only what its Pi relays to MediaMTX.
  if (isHostedCamera(cameraId))
    return webrtcUrl ? { kind: 'whep', url: `${webrtcUrl}/${encodeURIComponent(cameraId)}/whep`, relay: cameraId } : { kind: 'none' };
  const preview = mjpeg[cameraId] ?? (deviceType === 'ipcam' ? ipcamMjpegUrl(cameraId) : undefined);
  if (webrtcUrl) return { kind: 'whep', url: `${webrtcUrl}/${encodeURIComponent(cameraId)}/whep`, fallbackMjpeg: preview };
  if (preview) return { kind: 'mjpeg', url: preview };
  return { kind: 'none' };
}

const MAX_RETRY_MS = 30_000;

/** Plays a source into `box`, writing what happens into `status` (an aria-live region). */
export class LivePlayer {
  private pc?: RTCPeerConnection;
  private session?: string;
  private timer?: number;
  private retryMs = 2000;
  private stopped = false;
  private watch?: LiveStateWatch;
  /** the WHEP request in flight: a VBC01's waits for the camera, and is cancelled when the user closes the view */
  private request?: AbortController;
  private relay?: HostedRelay;

  constructor(
    private readonly box: HTMLElement,
    private readonly status: HTMLElement,
    private readonly source: VideoSource,
    private readonly label: string,
  ) {}

  start(): void {
    this.stopped = false;
    if (this.source.kind === 'whep' && this.source.relay) void this.relayed(this.source.relay, this.source.url);
    else if (this.source.kind === 'whep' || this.source.kind === 'vbc01') void this.whep(this.source.url);
    else if (this.source.kind === 'mjpeg') this.mjpeg(this.source.url);
    else this.say('No live view for this camera: the server has no WebRTC (PICAM_WEBRTC_URL) or MJPEG preview for it.');
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    this.relay?.stop();
    clearTimeout(this.timer);
    this.closePeer();
    clear(this.box);
    this.say('');
  }

  /** Asks the Pi to relay (and keeps asking while playing), then plays what it relays. */
  private async relayed(deviceId: string, url: string): Promise<void> {
    this.relay = new HostedRelay(deviceId, (text, state) => this.say(text, state));
    if ((await this.relay.start()) && !this.stopped) void this.whep(url);
  }

  private say(text: string, state: 'ok' | 'down' | 'busy' = 'busy'): void {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }

  private async whep(url: string): Promise<void> {
    this.closePeer();
    this.say('Connecting to the live stream…');
    const pc = new RTCPeerConnection();
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const video = h('video', { autoplay: true, muted: true, playsinline: true, 'aria-label': `Live video of ${this.label}` });
    video.muted = true;
    pc.ontrack = (e) => {
      if (!video.srcObject) video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      if (pc.connectionState === 'connected') {
        this.retryMs = 2000;
        this.say('Live', 'ok');
      } else if (pc.connectionState === 'failed' || pc.connectionState === 'disconnected') {
        this.down('the connection to the stream was lost');
      }
    };
    const vbc01 = this.source.kind === 'vbc01' ? this.source : undefined;
    if (vbc01) {
      // The POST waits until the camera streams (or did not answer): meanwhile, say what it is doing.
      this.watch?.stop();
      this.watch = new LiveStateWatch(vbc01.stateUrl, (text) => this.pc === pc && !pc.remoteDescription && this.say(text));
    }
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await iceGathered(pc, 2000);
      const token = await streamToken();
      this.request = new AbortController();
      const res = await fetch(url, {
        signal: this.request.signal,
        method: 'POST',
        headers: { 'content-type': 'application/sdp', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: pc.localDescription!.sdp,
      });
      this.watch?.stop();
      if (vbc01 && !res.ok) {
        const why = await reason(res);
        // The camera did not answer, is offline, is unknown: asking it again at once would not help.
        if (res.status === 503 || res.status === 404) return this.failed(pc, why);
        throw new Error(why);
      }
      if (res.status === 404) throw new Error(this.relay ? 'its stream has not appeared yet' : 'the camera is not streaming');
      if (res.status === 401 || res.status === 403) throw new Error('the video server refused to let this browser watch');
      if (!res.ok) throw new Error(`the video server answered ${res.status}`);
      const location = res.headers.get('location');
      // The WHEP URL may be relative (the runtime's own /api/live): resolve against the page.
      this.session = location ? new URL(location, new URL(url, window.location.href)).href : undefined;
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      if (this.pc !== pc) return;
      clear(this.box, video);
    } catch (err) {
      this.watch?.stop();
      if (this.pc !== pc) return;
      const why = err instanceof TypeError ? 'the video server cannot be reached' : (err as Error).message;
      // The camera's MJPEG preview beats a black box: whatever kept WebRTC from working.
      const fallback = this.source.kind === 'whep' ? this.source.fallbackMjpeg : undefined;
      if (fallback) {
        this.closePeer();
        this.mjpeg(fallback, `No WebRTC (${why}): showing the MJPEG preview. `);
        return;
      }
      this.down(why);
    }
  }

  /** "Stream is down", then another try, each wait longer (2 s … 30 s). */
  private down(why: string): void {
    if (this.stopped) return;
    this.closePeer();
    clear(this.box, h('div', { class: 'video-down' }, 'Stream is down'));
    // A relayed camera's stream appears seconds after the request: look again soon, every time.
    const wait = this.relay ? RELAY_RETRY_MS : this.retryMs;
    if (this.relay) this.say(this.relay.waiting(why), 'busy');
    else {
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      this.say(`Stream is down: ${why}. Retrying in ${Math.round(wait / 1000)} s.`, 'down');
    }
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      if (!this.stopped && (this.source.kind === 'whep' || this.source.kind === 'vbc01')) void this.whep(this.source.url);
    }, wait);
  }

  /** The camera will not stream now (did not answer, offline): say why, and let the user ask again. */
  private failed(pc: RTCPeerConnection, why: string): void {
    if (this.pc !== pc || this.stopped) return;
    this.closePeer();
    const again = h('button', { type: 'button', class: 'retry' }, 'Try again');
    again.addEventListener('click', () => this.start());
    clear(this.box, h('div', { class: 'video-down' }, 'No video'), again);
    this.say(`No live video: ${why}.`, 'down');
  }

  private mjpeg(url: string, note = ''): void {
    const img = h('img', { src: url, alt: `Live preview of ${this.label} (MJPEG)`, class: 'mjpeg' });
    img.addEventListener('load', () => this.say(`${note}Live preview (MJPEG)`, 'ok'), { once: true });
    img.addEventListener('error', () => {
      if (this.stopped) return;
      const wait = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      clear(this.box, h('div', { class: 'video-down' }, 'Stream is down'));
      this.say(`Stream is down: the preview is not available. Retrying in ${Math.round(wait / 1000)} s.`, 'down');
      this.timer = window.setTimeout(() => !this.stopped && this.mjpeg(url, note), wait);
    });
    clear(this.box, img);
    this.say(`${note}Loading the preview…`);
  }

  private closePeer(): void {
    this.request?.abort();
    this.request = undefined;
    const session = this.session;
    this.session = undefined;
    // Tell the server we left (best effort; a fresh token, the first may have expired while we watched):
    // MediaMTX would time the session out anyway, a VBC01 stream stops after its last viewer.
    if (session)
      void streamToken()
        .then((token) => fetch(session, { method: 'DELETE', headers: token ? { authorization: `Bearer ${token}` } : {} }))
        .catch(() => undefined);
    this.pc?.close();
    this.pc = undefined;
  }
}

/** The reason in an error answer ({error}), or its status. */
async function reason(res: Response): Promise<string> {
  const body = (await res.json().catch(() => undefined)) as { error?: unknown } | undefined;
  return typeof body?.error === 'string' ? body.error : `the server answered ${res.status}`;
}

/** WHEP without trickle ICE: wait until the candidates are in the offer (or give up waiting). */
function iceGathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/**
 * MediaMTX asks the runtime whether this browser may watch; the runtime knows it
 * by a token it issued to the logged-in user moments ago (none in the open demo).
 */
async function streamToken(): Promise<string> {
  const res = await fetch(API_PATHS.streamToken, {
    credentials: 'same-origin',
    headers: { [DASHBOARD_CLIENT_HEADER]: DASHBOARD_CLIENT_VALUE },
  });
  if (!res.ok) return '';
  return ((await res.json()) as { token?: string }).token ?? '';
}
