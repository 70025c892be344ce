/**
 * The camera as the rest of the platform sees it: a supervised stream that
 * obeys the camera mode, and on top of its decoded frames snapshots, an MJPEG
 * preview and motion events in the VBC01's format. Plain code: the node file
 * wires it to Node-RED.
 */
import type { ZonePolygon } from '../contract/zones';
import type { ActivityPayload, CameraMode } from '../types';
import { JpegSplitter } from './jpeg-frames';
import { MjpegBroadcaster } from './mjpeg-preview';
import { CameraDetection, type CameraDetectionResult, type CameraDetectOptions } from './camera-detection';
import { activityPayload, MotionDetector, newEventId, type MotionOptions } from './motion';
import { Pipeline } from './pipeline';
import type { PipelineState, PipelineStats, StreamConfig } from './types';

export interface CameraEvents {
  state(stats: PipelineStats, mode: CameraMode): void;
  /** activity/start or activity/stop, in the VBC01 payload format */
  activity(kind: 'start' | 'stop', payload: ActivityPayload): void;
  /** the picture of a motion event, taken when it started (with the detector: its best frame, box drawn) */
  thumbnail(eventId: string, jpeg: Buffer): void;
  /** what the detector found in a frame taken while motion was seen (only with `detect.on`) */
  detection?(result: CameraDetectionResult): void;
  /** a periodic snapshot (no request id) or the answer to a request */
  snapshot(jpeg: Buffer, requestId?: string): void;
  problem(message: string): void;
}

export interface CameraOptions {
  stream: StreamConfig;
  motion: Partial<MotionOptions> & { on: boolean };
  /** the person detector (issue 20); off when undefined */
  detect?: CameraDetectOptions;
  /** a snapshot every this many ms while streaming; 0 = only on request */
  snapshotEveryMs: number;
  mode: CameraMode;
  maxViewers?: number;
}

/** How long a snapshot request waits for the next frame when there is none yet. */
const SNAPSHOT_WAIT_MS = 10_000;

export class Camera {
  readonly preview: MjpegBroadcaster;
  private pipeline?: Pipeline;
  private mode: CameraMode;
  private readonly motion: MotionDetector;
  private readonly detector?: CameraDetection;
  private eventId?: string;
  private eventStartedMs = 0;
  /** the start sent for the event in progress (without the detector), sent again when its zones grow */
  private startSent?: ActivityPayload;
  private snapshotTimer?: NodeJS.Timeout;
  private waiting: Array<(jpeg: Buffer | undefined) => void> = [];
  private lastStats?: PipelineStats;
  private closed = false;

  constructor(
    private readonly opts: CameraOptions,
    private readonly events: CameraEvents,
  ) {
    this.mode = opts.mode;
    this.preview = new MjpegBroadcaster({ maxViewers: opts.maxViewers });
    this.motion = new MotionDetector(opts.motion);
    if (opts.detect?.on && opts.motion.on) {
      this.detector = new CameraDetection(opts.detect, opts.motion.minDurationMs ?? 1000, events);
    }
  }

  /** The detector's queue: how far behind it is, frames analysed and dropped; undefined when off. */
  get detectorStats(): CameraDetection['stats'] | undefined {
    return this.detector?.stats;
  }

  /** New masks and zones for motion detection (checked by readZones), from the next frame. */
  setZones(zones: readonly ZonePolygon[]): void {
    this.opts.motion.zones = zones;
    this.motion.setZones(zones);
  }

  get currentMode(): CameraMode {
    return this.mode;
  }

  get stats(): PipelineStats | undefined {
    return this.lastStats;
  }

  /** PRIVACY turns the camera off; LIVESTREAMONLY streams without motion events; ARMED streams and raises them. */
  async setMode(mode: CameraMode): Promise<void> {
    const before = this.mode;
    this.mode = mode;
    if (mode !== 'ARMED') this.endMotion(Date.now());
    if (mode === 'PRIVACY') await this.stop();
    else if (before === 'PRIVACY' || !this.pipeline) this.start();
    if (this.lastStats) this.events.state(this.lastStats, mode);
  }

  /** Starts streaming unless the mode is PRIVACY. */
  start(): void {
    if (this.closed || this.pipeline || this.mode === 'PRIVACY') return;
    const pipeline = new Pipeline(this.opts.stream);
    const splitter = new JpegSplitter();
    pipeline.on('state', (state: PipelineState) => {
      if (state !== 'streaming') splitter.reset();
      this.lastStats = pipeline.stats;
      this.events.state(this.lastStats, this.mode);
    });
    pipeline.on('stats', (stats: PipelineStats) => {
      this.lastStats = stats;
    });
    pipeline.on('warning', (message: string) => this.events.problem(message));
    pipeline.on('mjpegChunk', (chunk: Buffer) => {
      for (const jpeg of splitter.push(chunk)) this.frame(jpeg);
    });
    pipeline.on('grey', (frame) => {
      if (this.mode !== 'ARMED' || !this.opts.motion.on) return;
      const e = this.motion.push(frame);
      if (e?.type === 'start') {
        this.eventId = newEventId();
        this.eventStartedMs = e.atMs;
        const picture = this.preview.lastFrame;
        if (this.detector) {
          this.detector.start(this.eventId, activityPayload(this.eventId, e), e.atMs, picture);
          return;
        }
        this.startSent = activityPayload(this.eventId, e);
        this.events.activity('start', this.startSent);
        if (picture) this.events.thumbnail(this.eventId, picture);
      } else if (e?.type === 'zones' && this.eventId) {
        this.moreZones(this.eventId, e.zones);
      } else if (e?.type === 'stop' && this.eventId) {
        this.sendStop(activityPayload(this.eventId, e));
        this.eventId = undefined;
      }
    });
    this.pipeline = pipeline;
    pipeline.start();
    if (this.opts.snapshotEveryMs > 0) {
      this.snapshotTimer = setInterval(() => {
        const picture = this.preview.lastFrame;
        if (picture && this.lastStats?.state === 'streaming') this.events.snapshot(picture);
      }, this.opts.snapshotEveryMs);
    }
  }

  /** Stops streaming and ends both processes. */
  async stop(): Promise<void> {
    clearInterval(this.snapshotTimer);
    this.snapshotTimer = undefined;
    const pipeline = this.pipeline;
    this.pipeline = undefined;
    this.endMotion(Date.now());
    if (pipeline) await pipeline.stop();
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  /** The latest picture, or the next one; undefined when none comes (camera off, no decoder). */
  async snapshot(requestId?: string): Promise<Buffer | undefined> {
    const now = this.preview.lastFrame;
    const picture =
      now ??
      (await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.waiting = this.waiting.filter((w) => w !== done);
          resolve(undefined);
        }, SNAPSHOT_WAIT_MS);
        const done = (jpeg: Buffer | undefined) => {
          clearTimeout(timer);
          resolve(jpeg);
        };
        this.waiting.push(done);
      }));
    if (picture) this.events.snapshot(picture, requestId);
    return picture;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    for (const w of this.waiting.splice(0)) w(undefined);
    this.preview.close();
    this.detector?.close();
  }

  private frame(jpeg: Buffer): void {
    this.preview.push(jpeg);
    for (const w of this.waiting.splice(0)) w(jpeg);
    if (this.mode === 'ARMED') this.detector?.frame(jpeg, this.motion.moving);
  }

  /**
   * The event touched a zone after its start: the start again (same id and time) with every
   * zone so far, and the picture now, so the cloud can alert for a zone an alert requires.
   */
  private moreZones(eventId: string, zones: string[]): void {
    const picture = this.preview.lastFrame;
    if (this.detector) return this.detector.zones(eventId, zones, picture);
    if (!this.startSent) return;
    this.startSent = { ...this.startSent, zones };
    this.events.activity('start', this.startSent);
    if (picture) this.events.thumbnail(eventId, picture);
  }

  private sendStop(payload: ActivityPayload): void {
    this.startSent = undefined;
    if (this.detector) this.detector.stop(payload);
    else this.events.activity('stop', payload);
  }

  /** An event still open when the camera stops or is disarmed gets its stop, so the cloud's event has an end. */
  private endMotion(atMs: number): void {
    if (!this.eventId) return;
    const startedMs = this.eventStartedMs;
    this.sendStop(activityPayload(this.eventId, { type: 'stop', atMs, startedMs, durationMs: atMs - startedMs }));
    this.eventId = undefined;
    this.motion.reset();
  }
}
