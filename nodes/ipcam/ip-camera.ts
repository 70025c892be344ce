/**
 * One IP camera: checked (check.ts), then its sub stream pulled through the
 * same Camera as the Pi's (nodes/lib/camera/camera.ts: supervised ffmpeg, one
 * analyser for snapshots, MJPEG and motion), and reported to the cloud as a
 * device of type `ipcam` (device-messages.ts).
 *
 * - At each start the pull starts while the check runs (the check takes about
 *   a second; waiting for it made the first frame 4–5 s late). The camera is
 *   announced `connected` only once the check passed; a check that fails
 *   stops the pull again.
 * - A check that fails (camera off, wrong password) is retried with backoff,
 *   check first; the reason is one line, on the state and in the heartbeat.
 * - Once running, the pipeline restarts ffmpeg by itself with backoff; a
 *   camera that stops delivering is reported `disconnected` (the cloud's
 *   processor turns that into a `camera-offline` alert after its grace
 *   period), and `connected` again when frames flow: nothing else restarts.
 * - PRIVACY stops pulling the camera (and so the MJPEG and motion).
 * - Motion comes from our analyser, the camera's own ONVIF events
 *   (onvif-events.ts, a PullPoint subscription), or both, merged into one
 *   event stream (motion-merge.ts) in the same format.
 */
import type { ZonePolygon } from '../lib/contract/zones';
import { backoffMs } from '../lib/backoff';
import type { CameraMode } from '../lib/types';
import { Camera } from '../lib/camera/camera';
import type { CameraDetectOptions } from '../lib/camera/camera-detection';
import { redactText } from '../lib/redact';
import { rtspFailure } from '../lib/rtsp/rtsp-input';
import type { RtspInput } from '../lib/rtsp/rtsp-input';
import type { PipelineStats, StreamConfig } from '../lib/camera/types';
import { checkCamera, type CameraCheck, type CheckOptions } from './check';
import type { MotionSource } from './camera-spec';
import { DeviceTopics, type DeviceMessage } from './device-messages';
import { MotionMerge } from './motion-merge';
import type { OnvifTarget } from './onvif';
import { OnvifEvents, type OnvifEventsState } from './onvif-events';

export interface IpCameraConfig {
  id: string;
  name: string;
  /** the main stream (live video); optional: some cameras have one stream */
  main?: RtspInput;
  /** the sub stream: analysed for snapshots, MJPEG and motion */
  sub: RtspInput;
  mode: CameraMode;
  motion: { on: boolean; sensitivity?: number; minDurationMs?: number; quietMs?: number; zones?: readonly ZonePolygon[] };
  /** the person detector on the analysed frames (issue 20); off when undefined */
  detect?: CameraDetectOptions;
  /** where motion events come from (default analyser); `onvif` and `both` need `onvif` */
  motionSource?: MotionSource;
  /** the camera's ONVIF address and login, when known */
  onvif?: OnvifTarget;
  /** a snapshot every this many ms while streaming; 0 = only on request */
  snapshotEveryMs: number;
  /** MJPEG and snapshot frames per second, and their width */
  jpegFps: number;
  jpegWidth: number;
  /** MQTT topic prefix (default prod) */
  prefix: string;
  /**
   * The device that hosts this camera (a Pi for a camera on its LAN): its messages go under
   * the host's id and it is `{host}.{id}` in the cloud (nodes/lib/hosted-devices.ts).
   */
  host?: string;
  heartbeatMs: number;
  ffmpegPath: string;
  ffprobePath: string;
  /** check retries and pipeline restarts */
  backoff: { baseMs: number; maxMs: number };
  stallTimeoutMs: number;
  maxViewers?: number;
}

export type IpCameraStateName = 'checking' | 'streaming' | 'reconnecting' | 'offline' | 'privacy' | 'stopped';

export interface IpCameraState {
  id: string;
  state: IpCameraStateName;
  mode: CameraMode;
  /** one line: why it is not streaming */
  error?: string;
  warnings: string[];
  check?: CameraCheck;
  fps: number;
  frames: number;
  restarts: number;
  /** the camera's ONVIF motion events, when they are a motion source: subscribed, or why not (one line) */
  onvifEvents?: OnvifEventsState;
}

/** What one camera counts, for the node's /metrics counters (see CameraSet.counters). */
export interface IpCameraCounters {
  /** frames the analyser's ffmpeg decoded, over every run */
  framesAnalysed: number;
  motionEvents: number;
  /** times a running pull broke off and was started again */
  reconnects: number;
  /** connection checks that failed (at start and each retry) */
  failedChecks: number;
}

export interface IpCameraEvents {
  message(msg: DeviceMessage): void;
  snapshot(jpeg: Buffer, requestId?: string): void;
  state(state: IpCameraState): void;
  problem(text: string): void;
}

export class IpCamera {
  private camera?: Camera;
  private mode: CameraMode;
  private current: IpCameraState;
  /** what the cloud was last told: each change is sent once */
  private announced?: 'connected' | 'disconnected';
  private checkAttempts = 0;
  /** the check of the current start passed: frames may be announced */
  private checked = false;
  /** the pull's own state: it may be streaming before the check has passed */
  private pullState?: PipelineStats['state'];
  private retryTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private readonly startedMs = Date.now();
  private readonly topics: DeviceTopics;
  private generation = 0;
  private closed = false;
  /** closed because the camera is deleted: nothing more is sent */
  private silent = false;
  private readonly merge: MotionMerge;
  private onvifEvents?: OnvifEvents;
  private counts = { reconnects: 0, failedChecks: 0 };
  /** frames of the pipeline runs before the current one, and the current run's count last seen (it restarts from 0) */
  private framesBefore = 0;
  private framesSeen = 0;

  constructor(
    readonly cfg: IpCameraConfig,
    private readonly events: IpCameraEvents,
  ) {
    this.mode = cfg.mode;
    this.topics = new DeviceTopics(cfg.prefix, cfg.id, cfg.host);
    this.current = { id: cfg.id, state: 'stopped', mode: this.mode, warnings: [], fps: 0, frames: 0, restarts: 0 };
    this.merge = new MotionMerge(
      {
        activity: (kind, payload) => this.emit(this.topics.activity(kind, payload)),
        thumbnail: (eventId, jpeg) => this.emit(this.topics.thumbnail(eventId, jpeg)),
      },
      () => this.camera?.preview.lastFrame,
    );
  }

  get counters(): IpCameraCounters {
    this.noteFrames(this.camera?.stats?.frames);
    return { framesAnalysed: this.framesBefore + this.framesSeen, motionEvents: this.merge.opened, ...this.counts };
  }

  /** MJPEG viewers connected now. */
  get viewers(): number {
    return this.camera?.preview.viewers ?? 0;
  }

  /** Whether the cloud was last told this camera is connected (frames flow). */
  get connected(): boolean {
    return this.announced === 'connected';
  }

  private noteFrames(frames: number | undefined): void {
    if (frames === undefined) return;
    if (frames < this.framesSeen) this.framesBefore += this.framesSeen; // a new ffmpeg run counts from 0
    this.framesSeen = frames;
  }

  get state(): IpCameraState {
    return { ...this.current, mode: this.mode };
  }

  /** The MJPEG broadcaster of the running camera (undefined while checking, offline or in PRIVACY). */
  get preview(): Camera['preview'] | undefined {
    return this.camera?.preview;
  }

  /** Checks the camera, then pulls it; in PRIVACY only reports. */
  start(): void {
    if (this.closed) return;
    this.heartbeatTimer ??= setInterval(() => this.heartbeat(), this.cfg.heartbeatMs);
    this.emit(this.topics.mode(this.mode, this.announced === 'connected'));
    if (this.mode === 'PRIVACY') {
      this.set({ state: 'privacy', error: undefined });
      this.heartbeat();
      return;
    }
    this.startOnvifEvents();
    void this.checkThenRun(++this.generation, true);
  }

  /** Subscribes to the camera's ONVIF motion events when they are a motion source. */
  private startOnvifEvents(): void {
    const { motionSource, onvif, motion } = this.cfg;
    if (this.onvifEvents || (motionSource ?? 'analyser') === 'analyser' || !motion.on) return;
    if (!onvif) {
      this.set({ onvifEvents: { subscribed: false, error: "no ONVIF address: the camera's own motion events cannot be read" } });
      return;
    }
    this.onvifEvents = new OnvifEvents(
      { target: onvif, backoff: this.cfg.backoff },
      {
        motion: (active) => {
          // As the analyser: only an ARMED camera raises motion events.
          if (this.mode === 'ARMED' || !active) this.merge.onvif(active);
        },
        state: (s) => {
          // Said once per new reason, not at every retry.
          if (s.error && s.error !== this.current.onvifEvents?.error) this.events.problem(`${this.cfg.name}: ONVIF events: ${s.error}`);
          this.set({ onvifEvents: s });
        },
      },
    );
    this.onvifEvents.start();
  }

  async stop(): Promise<void> {
    this.generation++;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const events = this.onvifEvents;
    this.onvifEvents = undefined;
    await Promise.all([this.stopPull(), events?.close()]);
    this.merge.end();
    // Not subscribed any more: the next start says again how it goes.
    if (events) this.current = { ...this.current, onvifEvents: undefined };
  }

  /** Stops pulling the camera (a failed check does too); its ONVIF events go on. */
  private async stopPull(): Promise<void> {
    this.checked = false;
    this.pullState = undefined;
    const camera = this.camera;
    this.noteFrames(camera?.stats?.frames);
    this.framesBefore += this.framesSeen;
    this.framesSeen = 0;
    this.camera = undefined;
    await camera?.close();
  }

  async restart(): Promise<void> {
    await this.stop();
    this.checkAttempts = 0;
    this.start();
  }

  /** New masks and zones for the analyser's motion detection, kept for its next start too. */
  setZones(zones: readonly ZonePolygon[]): void {
    this.cfg.motion.zones = zones;
    this.camera?.setZones(zones);
  }

  async setMode(mode: CameraMode): Promise<void> {
    const before = this.mode;
    this.mode = mode;
    this.emit(this.topics.mode(mode, this.announced === 'connected'));
    if (mode === 'PRIVACY') {
      await this.stop();
      this.set({ state: 'privacy', error: undefined, fps: 0 });
      this.heartbeat();
    } else if (before === 'PRIVACY') {
      this.start();
    } else {
      if (mode !== 'ARMED') this.merge.end();
      await this.camera?.setMode(mode);
      this.set({});
    }
  }

  /** The latest picture (or the next); undefined when the camera is not streaming. */
  async snapshot(requestId?: string): Promise<Buffer | undefined> {
    return this.camera?.snapshot(requestId);
  }

  /**
   * Stops for good. `removed`: the camera is being deleted, so it says nothing more, not even the
   * end of a motion event in progress: a record committed after the deletion would bring its
   * registry row (and its Home Assistant device) back.
   */
  async close(removed = false): Promise<void> {
    this.closed = true;
    this.silent = removed;
    clearInterval(this.heartbeatTimer);
    await this.stop();
  }

  /** `pullAtOnce`: start pulling while the check runs (a start), or only after it passed (a retry). */
  private async checkThenRun(generation: number, pullAtOnce: boolean): Promise<void> {
    this.set({ state: 'checking' });
    if (pullAtOnce) this.run();
    const opts: CheckOptions = { ffprobePath: this.cfg.ffprobePath };
    const check = await checkCamera({ main: this.cfg.main, sub: this.cfg.sub }, opts);
    if (generation !== this.generation || this.closed) return;
    if (!check.ok || !check.sub) {
      await this.stopPull();
      if (generation !== this.generation || this.closed) return;
      const delay = backoffMs(++this.checkAttempts, this.cfg.backoff);
      this.counts.failedChecks++;
      this.set({ state: 'offline', error: check.error, check, warnings: check.warnings });
      this.disconnected();
      this.retryTimer = setTimeout(() => void this.checkThenRun(generation, false), delay);
      return;
    }
    this.checkAttempts = 0;
    this.checked = true;
    this.set({ check, warnings: check.warnings, error: undefined });
    for (const w of check.warnings) this.events.problem(`${this.cfg.name}: ${w}`);
    if (!this.camera) this.run();
    else if (this.pullState === 'streaming') this.announceConnected();
  }

  /** Pulls the sub stream; its frame rate and size need not be known (the analyser stamps frames as they come). */
  private run(): void {
    // One pull per camera: a start while one runs (or its check is pending) keeps the running one.
    if (this.camera) return;
    const stream: StreamConfig = {
      source: 'rtsp',
      input: this.cfg.sub,
      width: 0,
      height: 0,
      framerate: 0,
      bitrate: 0,
      keyframeInterval: 0,
      rotation: 0,
      hflip: false,
      vflip: false,
      lowLatency: true,
      rpicamPath: '',
      ffmpegPath: this.cfg.ffmpegPath,
      v4l2Device: '',
      v4l2Encoder: '',
      analysis: {
        jpegFps: this.cfg.jpegFps,
        jpegWidth: this.cfg.jpegWidth,
        motionFps: 5,
        motionWidth: 64,
        motionHeight: 48,
      },
      stallTimeoutMs: this.cfg.stallTimeoutMs,
      backoff: this.cfg.backoff,
    };
    const camera = new Camera(
      {
        stream,
        mode: this.mode,
        snapshotEveryMs: this.cfg.snapshotEveryMs,
        // With motion from the camera's ONVIF events only, our analyser raises none.
        motion: { ...this.cfg.motion, on: this.cfg.motion.on && this.cfg.motionSource !== 'onvif' },
        detect: this.cfg.detect,
        maxViewers: this.cfg.maxViewers,
      },
      {
        state: (stats) => this.onStats(stats),
        activity: (kind, payload) => this.merge.analyser(kind, payload),
        thumbnail: (eventId, jpeg) => this.merge.analyserThumbnail(eventId, jpeg),
        snapshot: (jpeg, requestId) => this.events.snapshot(jpeg, requestId),
        problem: (text) => this.events.problem(`${this.cfg.name}: ${redactText(text)}`),
      },
    );
    this.camera = camera;
    camera.start();
  }

  private onStats(stats: PipelineStats): void {
    this.pullState = stats.state;
    this.noteFrames(stats.frames);
    const base = { fps: stats.fps, frames: stats.frames, restarts: stats.restarts };
    if (stats.state === 'streaming') {
      this.set({ ...base, state: this.checked ? 'streaming' : 'checking', error: undefined });
      if (this.checked) this.announceConnected();
    } else if (stats.state === 'backing-off' || stats.state === 'stalled') {
      const raw = redactText(stats.lastError ?? stats.state);
      const error = rtspFailure([raw, ...stats.stderrTail.map(redactText)], this.cfg.sub.url) ?? raw;
      if (this.current.state !== 'reconnecting') this.counts.reconnects++;
      this.set({ ...base, state: 'reconnecting', error });
      this.disconnected();
    } else if (stats.state === 'starting' && this.current.state !== 'reconnecting') {
      this.set({ ...base, state: 'checking' });
    }
  }

  private announceConnected(): void {
    if (this.current.state !== 'streaming') this.set({ state: 'streaming' });
    if (this.announced === 'connected') return;
    this.announced = 'connected';
    this.emit(this.topics.connection('connected', this.cfg.name, hostOf(this.cfg.sub.url)));
    this.heartbeat();
  }

  /** Told once per outage; a camera never seen yet is reported too, so it shows (offline) in the registry. */
  private disconnected(): void {
    if (this.announced === 'disconnected') return;
    this.announced = 'disconnected';
    this.emit(this.topics.connection('disconnected', this.cfg.name, hostOf(this.cfg.sub.url)));
    this.heartbeat();
  }

  private heartbeat(): void {
    const s = this.current;
    this.emit(
      this.topics.heartbeat({
        // A heartbeat without a status counts as online (vbc01-protocol.md §5.2): say whether frames come.
        status: this.announced === 'connected' ? 'online' : 'not-streaming',
        timestamp: Date.now(),
        uptime: Math.round((Date.now() - this.startedMs) / 1000),
        streamState: this.mode === 'PRIVACY' ? 'privacy' : s.state,
      }),
    );
  }

  private set(change: Partial<IpCameraState>): void {
    this.current = { ...this.current, ...change, mode: this.mode };
    this.events.state(this.state);
  }

  private emit(msg: DeviceMessage): void {
    if (!this.silent) this.events.message(msg);
  }
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}
