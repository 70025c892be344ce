/**
 * Every VBC01 camera's live stream of one node: at most one CameraSession per camera, shared
 * by all its viewers; the last ended state of each camera kept (bounded) so the dashboard can
 * say "the camera did not answer" after the stream is gone.
 */
import type { LiveStreamStats, WhepAnswer } from '../lib/live/bridge-types';
import { CameraSession, ViewerRefused, type SessionDeps, type SessionSnapshot } from './camera-session';

/** Whether a camera may be asked to stream: a known VBC01 camera that is connected. */
export type CameraCheck = { ok: true } | { ok: false; status: 404 | 503; reason: string };

export interface LiveCamerasDeps extends SessionDeps {
  /** is this a camera we can stream from (none: every id the route accepts is) */
  check?(cameraId: string): Promise<CameraCheck>;
  /** each state change, for the node's status and output */
  changed?(snapshot: SessionSnapshot): void;
}

/** What GET /api/live/:cameraId answers when nothing has run yet. */
export type CameraLiveState = SessionSnapshot | { cameraId: string; state: 'idle' };

/** Ended states kept, one per camera: more cameras than this forget the oldest. */
const MAX_REMEMBERED = 500;

export class LiveCameras {
  private readonly sessions = new Map<string, CameraSession>();
  private readonly endedStates = new Map<string, SessionSnapshot>();
  private closing?: Promise<void>;

  constructor(private readonly deps: LiveCamerasDeps) {}

  /** A browser's WHEP offer for a camera: the answer once the camera streams, or a ViewerRefused. */
  async join(cameraId: string, offerSdp: string): Promise<WhepAnswer> {
    if (this.closing) throw new ViewerRefused(503, 'the live view is shutting down (redeploy): try again shortly');
    const check = this.deps.check ? await this.deps.check(cameraId) : ({ ok: true } as const);
    if (!check.ok) throw new ViewerRefused(check.status, check.reason);
    return this.session(cameraId).addViewer(offerSdp);
  }

  /** A viewer leaves (WHEP DELETE): false when the camera has no stream or no such viewer. */
  leave(cameraId: string, viewerId: string): boolean {
    const s = this.sessions.get(cameraId);
    if (!s) return false;
    s.removeViewer(viewerId);
    return true;
  }

  state(cameraId: string): CameraLiveState {
    return this.sessions.get(cameraId)?.snapshot() ?? this.endedStates.get(cameraId) ?? { cameraId, state: 'idle' };
  }

  /** The running streams' states and counters (health view, /metrics). */
  running(): SessionSnapshot[] {
    return [...this.sessions.values()].map((s) => s.snapshot());
  }

  /** Counters of the running streams, summed (for /metrics). */
  totals(): Record<string, number> {
    const sum = { streams: 0, viewers: 0, packets: 0, lost: 0, spoofed: 0, rembSent: 0, bitrateBps: 0 };
    for (const s of this.running()) {
      sum.streams++;
      const st: Partial<LiveStreamStats> = s.stats ?? {};
      sum.viewers += st.viewers ?? 0;
      sum.packets += st.packets ?? 0;
      sum.lost += st.lost ?? 0;
      sum.spoofed += st.spoofed ?? 0;
      sum.rembSent += st.rembSent ?? 0;
      sum.bitrateBps += st.bitrateBps ?? 0;
    }
    return sum;
  }

  /** command-sender's report on a command (its output 2): moves a play from asking to waiting, or fails it. */
  commandOutcome(cameraId: string, requestId: string, outcome: string, reason?: string): void {
    this.sessions.get(cameraId)?.commandOutcome(requestId, outcome, reason);
  }

  /** Stops one camera's stream now (stream/stop), whoever watches. */
  async stopCamera(cameraId: string): Promise<void> {
    await this.sessions.get(cameraId)?.stop('stopped by a message to the node');
  }

  /** Stops every camera (stream/stop) and closes their bridge streams. Safe twice. */
  close(): Promise<void> {
    return (this.closing ??= Promise.all([...this.sessions.values()].map((s) => s.stop('the live view node closed'))).then(
      () => undefined,
    ));
  }

  private session(cameraId: string): CameraSession {
    const existing = this.sessions.get(cameraId);
    if (existing && !existing.ended) return existing;
    const s = new CameraSession(cameraId, this.deps);
    this.sessions.set(cameraId, s);
    this.endedStates.delete(cameraId);
    s.on('state', (snap: SessionSnapshot) => this.deps.changed?.(snap));
    s.once('ended', () => {
      if (this.sessions.get(cameraId) === s) this.sessions.delete(cameraId);
      this.endedStates.set(cameraId, s.snapshot());
      if (this.endedStates.size > MAX_REMEMBERED) this.endedStates.delete(this.endedStates.keys().next().value!);
    });
    return s;
  }
}
