/**
 * An RTSP stream as a live source (issue 17 item 4, where no MediaMTX runs): on the first
 * viewer, one supervised ffmpeg copies the source's video into the bridge stream
 * (rtsp-copy.ts); the session stops it after the last viewer has gone for the grace time,
 * on a redeploy, or when no video comes.
 *
 * - The bridge accepts only this copy's SSRC (random per stream, given to ffmpeg) and sends no
 *   RTCP or REMB back: ffmpeg reads none, and the source is not ours to steer.
 * - The copy failing before any video (a wrong URL or login, nothing listening) ends the
 *   stream at once with ffmpeg's reason in one line, so the viewer learns why. Failing after
 *   video came, it is restarted with backoff; the bridge forgets the old sender (a new ffmpeg
 *   sends from a new port with a new sequence). Should the video not come back within the
 *   idle time, the session ends with the last reason.
 */
import { randomInt } from 'node:crypto';
import { backoffMs, type BackoffOptions } from '../lib/backoff';
import { spawnChild, type Child, type ExitInfo } from '../lib/child-process';
import type { LiveStream } from '../lib/live/bridge-types';
import { copyCommand, copyFailure } from './rtsp-copy';
import { sourceWhere, type RtspSourceSpec } from '../lib/rtsp/rtsp-sources';
import type { DriverHost, SourceChecks, StreamDriver } from './stream-driver';

export interface RtspDriverDeps {
  spec: RtspSourceSpec;
  backoff: BackoffOptions;
  ffmpegPath?: string;
  /** one line per restart, no login in it */
  log?(line: string): void;
}

/** SIGTERM, then SIGKILL after this long: an ffmpeg copy has nothing to flush. */
const STOP_GRACE_MS = 2000;

export class RtspDriver implements StreamDriver {
  readonly kind = 'RTSP';
  /** ffmpeg's rtp muxer takes a signed 32-bit SSRC: a positive one is valid for both. */
  readonly checks: SourceChecks = { videoSsrc: randomInt(1, 0x7fffffff), sendRtcp: false };
  private stream?: LiveStream;
  private host?: DriverHost;
  private child?: Child;
  private retryTimer?: NodeJS.Timeout;
  private attempts = 0;
  private packetsAtSpawn = 0;
  private lastError?: string;
  private ended = false;

  constructor(private readonly deps: RtspDriverDeps) {}

  begin(stream: LiveStream, host: DriverHost): void {
    this.stream = stream;
    this.host = host;
    this.spawn();
    host.asked();
  }

  end(): Promise<void> {
    this.ended = true;
    clearTimeout(this.retryTimer);
    const child = this.child;
    this.child = undefined;
    return child ? child.stop(STOP_GRACE_MS) : Promise.resolve();
  }

  noAnswer(seconds: number): string {
    return `no video from ${sourceWhere(this.deps.spec)} ${seconds} s after the copy started (is the source streaming H.264?)`;
  }

  stoppedSending(seconds: number): string {
    const last = this.lastError ? `: ${this.lastError}` : '';
    return `the RTSP source ${sourceWhere(this.deps.spec)} stopped sending (no video for ${seconds} s)${last}`;
  }

  private spawn(): void {
    this.retryTimer = undefined;
    const stream = this.stream;
    if (this.ended || !stream) return;
    this.packetsAtSpawn = stream.stats().packets;
    const cmd = copyCommand(this.deps.spec, { port: stream.ports.videoRtp, ssrc: this.checks.videoSsrc }, this.deps.ffmpegPath);
    const child = spawnChild(cmd.command, cmd.args, { stdio: [cmd.stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    if (cmd.stdin !== undefined) child.process.stdin?.end(cmd.stdin);
    this.child = child;
    void child.exited.then((info) => this.exited(child, info));
  }

  private exited(child: Child, info: ExitInfo): void {
    if (this.child !== child || this.ended || !this.stream) return; // stopped on purpose
    this.child = undefined;
    const reason = copyFailure(this.deps.spec, info, child.stderrTail());
    this.lastError = reason;
    const packets = this.stream.stats().packets;
    if (packets === 0) return this.host?.failed(reason);
    if (packets > this.packetsAtSpawn) this.attempts = 0; // it had been streaming: start the backoff afresh
    this.stream.forgetSource();
    const wait = backoffMs(++this.attempts, this.deps.backoff);
    this.deps.log?.(`the copy of ${sourceWhere(this.deps.spec)} ended (${reason}): again in ${Math.round(wait / 100) / 10} s`);
    this.retryTimer = setTimeout(() => this.spawn(), wait);
  }
}
