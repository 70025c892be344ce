/**
 * One camera's live stream, whatever the number of viewers: a bridge stream opened, the source
 * started by its driver (a VBC01 asked over MQTT: vbc01-driver.ts; an RTSP stream copied by
 * ffmpeg: rtsp-driver.ts), and stopped when the last viewer has been gone for the grace time
 * (a page reload does not restart the camera), when the source does not answer, or when its
 * video stops for the idle time-out. States, as the dashboard shows them:
 *
 *   asking   the stream is opened and the source asked (stream/play handed to the command sender)
 *   waiting  the source took it (the broker took stream/play; the copy runs): waiting for video
 *   playing  the source's packets arrive
 *   stalled  they stopped arriving (for longer than the bridge's stall time)
 *   failed   it ended on its own: `reason` says why ("the camera did not answer: ...")
 *   stopped  it ended because nobody watches, or the node closed
 */
import { BadOfferError } from '../lib/live/whep-viewer';
import { EventEmitter } from 'node:events';
import type { LiveStateName } from '../lib/contract/live';
import type { LiveStream, LiveStreamOptions, LiveStreamStats } from '../lib/live/bridge-types';
import type { DriverFactory, StreamDriver } from './stream-driver';
import { newStreamId } from './vbc01-signalling';

/** Why a viewer was not let in, with the HTTP status that says it (400: the offer; 503: the camera). */
export class ViewerRefused extends Error {
  constructor(
    readonly status: 400 | 404 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** The states a running or ended stream can be in (the contract adds `idle`: none ran yet). */
export type LiveState = Exclude<LiveStateName, 'idle'>;

/** The timings of a camera stream, in ms (node properties in seconds; tests use short ones). */
export interface SessionTimings {
  keepaliveMs: number;
  /** no viewer left for this long: stream/stop */
  graceMs: number;
  /** no packet this long after stream/play: "the camera did not answer" */
  answerMs: number;
  /** no packet for this long while playing: stream/stop, "the camera stopped sending" */
  idleMs: number;
  /** the bridge's own stall detection (LiveStreamOptions.stallAfterMs) */
  stallMs: number;
}

export interface SessionDeps {
  rembStartBps: number;
  rembFloorBps: number;
  timings: SessionTimings;
  open(opts: LiveStreamOptions): Promise<LiveStream>;
  /** the camera's kind of source: a VBC01 over MQTT, or an RTSP copy */
  driver: DriverFactory;
}

export interface SessionSnapshot {
  cameraId: string;
  state: LiveState;
  /** why it failed or stopped */
  reason?: string;
  streamId: string;
  /** Unix ms of the last state change */
  sinceMs: number;
  /** a VBC01's keepalives so far */
  keepalivesSent?: number;
  stats?: LiveStreamStats;
}

/** Events: 'state' (snapshot) on each change; 'ended' once, when the stream is over. */
export class CameraSession extends EventEmitter {
  readonly streamId = newStreamId();
  private state: LiveState = 'asking';
  private reason?: string;
  private sinceMs = Date.now();
  private stream?: LiveStream;
  private lastStats?: LiveStreamStats;
  private readonly driver: StreamDriver;
  /** viewers whose join waits for video: the grace timer must not stop the camera under them */
  private joining = 0;
  private viewers = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private graceTimer?: NodeJS.Timeout;
  private answerTimer?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  private started?: Promise<void>;
  private ending?: Promise<void>;

  constructor(
    readonly cameraId: string,
    private readonly deps: SessionDeps,
  ) {
    super();
    this.driver = deps.driver(cameraId, this.streamId);
    // Each viewer waiting for video listens for the state until it comes: as many as join at once.
    this.setMaxListeners(0);
  }

  get ended(): boolean {
    return this.state === 'failed' || this.state === 'stopped';
  }

  snapshot(): SessionSnapshot {
    const stats = this.stream ? this.stream.stats() : this.lastStats;
    return {
      cameraId: this.cameraId,
      state: this.state,
      ...(this.reason !== undefined && { reason: this.reason }),
      streamId: this.streamId,
      sinceMs: this.sinceMs,
      ...(this.driver.keepalivesSent !== undefined && { keepalivesSent: this.driver.keepalivesSent }),
      ...(stats && { stats }),
    };
  }

  /** Opens the bridge's stream and asks the camera to send to it (once). */
  start(): Promise<void> {
    return (this.started ??= this.begin());
  }

  private async begin(): Promise<void> {
    const { timings } = this.deps;
    let stream: LiveStream;
    try {
      stream = await this.deps.open({
        cameraId: this.cameraId,
        ...this.driver.checks,
        rembStartBps: this.deps.rembStartBps,
        rembFloorBps: this.deps.rembFloorBps,
        stallAfterMs: timings.stallMs,
      });
    } catch (err) {
      await this.end('failed', `the video bridge could not open a stream: ${(err as Error).message}`);
      return;
    }
    if (this.ending) {
      await stream.close();
      return;
    }
    this.stream = stream;
    stream.on('first-packet', () => this.playing());
    stream.on('resume', () => this.playing());
    stream.on('stall', () => this.stalled());
    stream.on('viewers', (count: number) => this.viewersChanged(count));
    stream.on('closed', () => void this.end('failed', 'the video bridge closed the stream'));

    this.driver.begin(stream, {
      asked: () => {
        if (this.state === 'asking') this.set('waiting');
      },
      failed: (reason) => void this.end('failed', reason),
    });
    this.answerTimer = this.after(timings.answerMs, () => this.end('failed', this.driver.noAnswer(timings.answerMs / 1000)));
  }

  /** What command-sender reported for one of our commands (its output 2). */
  commandOutcome(requestId: string, outcome: string, why?: string): void {
    if (!this.ended) this.driver.commandOutcome?.(requestId, outcome, why);
  }

  /** Resolves when the camera streams; rejects with the reason when the stream ended instead. */
  whenPlaying(): Promise<void> {
    if (this.state === 'playing' || this.state === 'stalled') return Promise.resolve();
    if (this.ended) return Promise.reject(new Error(this.reason ?? 'the stream ended'));
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.state === 'playing' || this.state === 'stalled') resolve();
        else if (this.ended) reject(new Error(this.reason ?? 'the stream ended'));
        else return;
        this.off('state', check);
      };
      this.on('state', check);
    });
  }

  /** A viewer joins: waits for video, then the bridge answers the browser's offer. */
  async addViewer(offerSdp: string): Promise<{ viewerId: string; sdp: string }> {
    this.joining++;
    this.cancelGrace();
    try {
      await this.start();
      await this.whenPlaying().catch((err: Error) => {
        throw new ViewerRefused(503, err.message);
      });
      const stream = this.stream;
      if (!stream) throw new ViewerRefused(503, this.reason ?? 'the stream ended');
      // The bridge throws for an offer it cannot answer (LiveStream.addViewer's contract).
      return await stream.addViewer(offerSdp).catch((err: Error) => {
        if (err instanceof BadOfferError) throw new ViewerRefused(400, `the offer cannot be answered: ${err.message}`);
        throw new ViewerRefused(503, `the video bridge could not add this viewer: ${err.message}`);
      });
    } finally {
      this.joining--;
      this.maybeGrace();
    }
  }

  removeViewer(viewerId: string): void {
    this.stream?.removeViewer(viewerId);
  }

  /** Sends stream/stop (when the camera was asked to play) and closes the bridge's stream. Safe twice. */
  stop(reason = 'nobody is watching'): Promise<void> {
    return this.end('stopped', reason);
  }

  private playing(): void {
    if (this.ended) return;
    this.clear(this.answerTimer);
    this.clear(this.idleTimer);
    this.set('playing');
  }

  private stalled(): void {
    if (this.ended) return;
    this.set('stalled');
    const idleS = this.deps.timings.idleMs / 1000;
    this.clear(this.idleTimer);
    this.idleTimer = this.after(this.deps.timings.idleMs, () => this.end('failed', this.driver.stoppedSending(idleS)));
  }

  private viewersChanged(count: number): void {
    this.viewers = count;
    if (count > 0) this.cancelGrace();
    this.maybeGrace();
    this.emit('state', this.snapshot());
  }

  /** The last viewer left: the camera is stopped after the grace time unless someone comes back. */
  private maybeGrace(): void {
    if (this.ended || this.viewers > 0 || this.joining > 0 || this.graceTimer) return;
    if (this.state !== 'playing' && this.state !== 'stalled') return;
    this.graceTimer = this.after(this.deps.timings.graceMs, () => this.end('stopped', 'nobody is watching'));
  }

  private cancelGrace(): void {
    this.clear(this.graceTimer);
    this.graceTimer = undefined;
  }

  private end(state: 'failed' | 'stopped', reason: string): Promise<void> {
    return (this.ending ??= (async () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      const stream = this.stream;
      let stopping: Promise<void> | undefined;
      if (stream) {
        stopping = this.driver.end();
        this.lastStats = stream.stats();
        this.stream = undefined;
        stream.removeAllListeners();
      }
      if (!this.ended) this.set(state, reason);
      this.emit('ended');
      // The source first (the copy's ffmpeg gone), then the stream's ports are given back.
      await stopping;
      await stream?.close();
    })());
  }

  private set(state: LiveState, reason?: string): void {
    if (this.state === state && this.reason === reason) return;
    this.state = state;
    this.reason = reason;
    this.sinceMs = Date.now();
    this.emit('state', this.snapshot());
  }

  private after(ms: number, fn: () => unknown): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private clear(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }
}
