/**
 * Live video of a camera hosted by a Pi (docs/ipcam.md "On the Pi"): the cloud
 * cannot reach a camera on the Pi's LAN, so on a viewer's request (command
 * `live`, nodes/lib/contract/live-relay.ts) the Pi copies the camera's main
 * stream (the sub stream when it has no main), without re-encoding, to the
 * cloud's MediaMTX at the path `{pi}.{camera}`, as the Pi publishes its own
 * camera.
 *
 * - One supervised ffmpeg, restarted with backoff while the relay is wanted.
 * - Wanted until `seconds` after the last request: the viewer asks again while
 *   watching, so a closed player (or a lost cloud) ends the relay by itself.
 * - The camera's login goes to ffmpeg through stdin (rtsp-input.ts), never on its
 *   command line. The publish login is in the output URL on the command line, as
 *   for the Pi's own camera (nodes/lib/camera/commands.ts publishUrl): ffmpeg takes an
 *   output's login no other way.
 * - Only video is copied: a camera's AAC audio cannot go to a browser over WebRTC.
 */
import { backoffMs, type BackoffOptions } from '../lib/backoff';
import { describeExit, spawnChild, type Child } from '../lib/child-process';
import { publishUrl } from '../lib/camera/commands';
import { redactText } from '../lib/redact';
import type { Command } from '../lib/camera/commands';
import { ProgressParser } from '../lib/camera/progress';
import { concatScript, hiddenInputArgs } from '../lib/rtsp/rtsp-input';
import type { RtspInput } from '../lib/rtsp/rtsp-input';
import type { Readable } from 'node:stream';
import { LIVE_RELAY_TOPIC_TAIL, liveSeconds } from '../lib/contract/live-relay';

export interface RelayTarget {
  /** rtsp://server:8554/{pi}.{camera}, without a login */
  url: string;
  username?: string;
  password?: string;
}

export interface LiveRelayConfig {
  /** the stream copied: the camera's main stream, or its sub stream when it has none */
  input: RtspInput;
  target: RelayTarget;
  ffmpegPath: string;
  backoff: BackoffOptions;
}

export type LiveRelayStateName = 'idle' | 'starting' | 'relaying' | 'retrying';

export interface LiveRelayState {
  state: LiveRelayStateName;
  /** why it is retrying, one line, no login */
  error?: string;
  /** when the relay stops unless asked again, Unix ms (while wanted) */
  untilMs?: number;
}

export interface LiveRelayEvents {
  state(state: LiveRelayState): void;
}

/** The publish URL of a hosted camera: the Pi's own publish URL with its last path segment replaced by `{pi}.{camera}`. */
export function relayUrl(piPublishUrl: string, path: string): string {
  let url: URL;
  try {
    url = new URL(piPublishUrl);
  } catch {
    throw new Error('the relay URL is not a URL (expected rtsp://server:8554/path)');
  }
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') throw new Error(`the relay URL must start with rtsp:// (got ${url.protocol})`);
  if (url.username || url.password) throw new Error('give the relay login as the node credentials, not in the relay URL');
  url.pathname = url.pathname.replace(/[^/]*$/, path);
  return url.toString();
}

export type LiveInput = { seconds: number } | { invalid: string };

/**
 * A request to relay: the cloud's command (topic `…/stream/play`, payload `{seconds, requestId, …}`)
 * or `msg.topic` "live" (`msg.payload.seconds` optional); undefined for any other input.
 */
export function readLiveInput(msg: { topic?: unknown; payload?: unknown }): LiveInput | undefined {
  const topic = typeof msg.topic === 'string' ? msg.topic : '';
  if (topic !== 'live' && !topic.endsWith(`/${LIVE_RELAY_TOPIC_TAIL}`)) return undefined;
  const p = msg.payload;
  const seconds = liveSeconds(p && typeof p === 'object' && !Array.isArray(p) ? (p as { seconds?: unknown }).seconds : undefined);
  return typeof seconds === 'string' ? { invalid: seconds } : { seconds };
}

/** ffmpeg: the camera (from the script on stdin), video only, copied, published over RTSP/TCP; progress on fd 3. */
export function relayCameraCommand(cfg: LiveRelayConfig): Command {
  const args = ['-hide_banner', '-loglevel', 'warning', '-nostats', ...hiddenInputArgs()];
  args.push('-map', '0:v:0', '-c:v', 'copy', '-f', 'rtsp', '-rtsp_transport', 'tcp');
  args.push(publishUrl({ rtspUrl: cfg.target.url, username: cfg.target.username, password: cfg.target.password }));
  args.push('-progress', 'pipe:3');
  return { command: cfg.ffmpegPath, args, stdin: concatScript(cfg.input) };
}

export class LiveRelay {
  private child?: Child;
  private untilMs = 0;
  private stopTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private attempts = 0;
  private current: LiveRelayState = { state: 'idle' };
  private closed = false;

  constructor(
    private readonly cfg: LiveRelayConfig,
    private readonly events: LiveRelayEvents,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): LiveRelayState {
    return { ...this.current };
  }

  /** Someone watches: relay (or keep relaying) for `seconds` more. */
  request(seconds: number): void {
    if (this.closed) return;
    this.untilMs = Math.max(this.untilMs, this.now() + seconds * 1000);
    this.armStop();
    if (!this.child && !this.retryTimer) this.spawn();
    else this.set({ untilMs: this.untilMs });
  }

  /** Stops relaying now (PRIVACY, the camera removed). A later request starts it again. */
  async stop(): Promise<void> {
    this.untilMs = 0;
    clearTimeout(this.stopTimer);
    clearTimeout(this.retryTimer);
    this.stopTimer = this.retryTimer = undefined;
    this.attempts = 0;
    const child = this.child;
    this.child = undefined;
    if (this.current.state !== 'idle') this.set({ state: 'idle', error: undefined, untilMs: undefined });
    await child?.stop();
  }

  /** Stops for good: no ffmpeg is left behind. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
  }

  private get wanted(): boolean {
    return !this.closed && this.now() < this.untilMs;
  }

  /** Stops the relay when the last request's time is up (a new request moves the time on). */
  private armStop(): void {
    clearTimeout(this.stopTimer);
    this.stopTimer = setTimeout(
      () => {
        this.stopTimer = undefined;
        if (this.wanted) this.armStop();
        else void this.stop();
      },
      Math.max(10, this.untilMs - this.now()),
    );
  }

  private spawn(): void {
    this.retryTimer = undefined;
    if (!this.wanted) return;
    const cmd = relayCameraCommand(this.cfg);
    const child = spawnChild(cmd.command, cmd.args, { stdio: ['pipe', 'ignore', 'pipe', 'pipe'], stderrLines: 20 });
    child.process.stdin?.end(cmd.stdin);
    this.child = child;
    this.set({ state: 'starting', untilMs: this.untilMs });
    const progress = new ProgressParser((p) => {
      if (p.frame > 0 && this.child === child && this.current.state !== 'relaying') {
        this.attempts = 0;
        this.set({ state: 'relaying', error: undefined });
      }
    });
    (child.process.stdio[3] as Readable | null)?.on('data', (d: Buffer) => progress.push(d));
    void child.exited.then((info) => {
      if (this.child !== child) return; // stopped on purpose
      this.child = undefined;
      if (!this.wanted) return void this.stop();
      // Not rtspFailure(): the line may be about the camera or about MediaMTX, and it names only the camera.
      const error = redactText(describeExit('the relay', info, child.stderrTail())).slice(0, 200);
      this.set({ state: 'retrying', error });
      this.retryTimer = setTimeout(() => this.spawn(), backoffMs(++this.attempts, this.cfg.backoff));
    });
  }

  private set(change: Partial<LiveRelayState>): void {
    this.current = { ...this.current, ...change };
    this.events.state(this.state);
  }
}
