/**
 * A real RTSP server for the relay to publish to: ffmpeg in listen mode
 * (`-rtsp_flags listen`), copying what it receives into an MPEG-TS file that
 * ffprobe can inspect. ffmpeg accepts one publisher and ends with it, so the
 * receiver listens again after every session, as MediaMTX would, until it is
 * killed (the server "goes away") or stopped.
 */
import { spawnChild, type Child } from '../../nodes/lib/child-process';
import { ProgressParser } from '../../nodes/lib/camera/progress';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './wait';

export interface RtspReceiverOptions {
  port: number;
  path?: string;
  /** where the received files go */
  dir: string;
  ffmpegPath?: string;
}

export class RtspReceiver {
  readonly url: string;
  /** one MPEG-TS file per publisher session */
  readonly files: string[] = [];
  /** frames received in the current (or last) session */
  frames = 0;
  /** frames received since the receiver was created */
  totalFrames = 0;
  private child?: Child;
  private listening = false;
  private relisten?: NodeJS.Timeout;

  constructor(private readonly opts: RtspReceiverOptions) {
    this.url = `rtsp://127.0.0.1:${opts.port}/${opts.path ?? 'cam'}`;
  }

  /** Listens (again after each session) until kill() or stop(). */
  start(): void {
    this.listening = true;
    if (!this.child) this.spawn();
  }

  /** The server dies: SIGKILL, and nobody listens any more. */
  async kill(): Promise<void> {
    await this.end(0);
  }

  /** SIGTERM (ffmpeg closes its file properly), and nobody listens any more. */
  async stop(): Promise<void> {
    await this.end(5000);
  }

  /** Resolves once the port is in LISTEN state (from /proc/net/tcp: connecting would use up ffmpeg's one accept). */
  async waitListening(timeoutMs = 10_000): Promise<void> {
    const port = this.opts.port.toString(16).toUpperCase().padStart(4, '0');
    const listening = (): boolean =>
      readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .some((row) => {
          const [, local, , state] = row.trim().split(/\s+/);
          return local?.endsWith(`:${port}`) === true && state === '0A';
        });
    await waitFor(`the RTSP receiver to listen on ${this.opts.port}`, async () => (listening() ? true : undefined), timeoutMs);
  }

  async waitForFrames(n: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${n} frames at the RTSP receiver`, async () => (this.frames >= n ? true : undefined), timeoutMs);
  }

  private async end(graceMs: number): Promise<void> {
    this.listening = false;
    clearTimeout(this.relisten);
    const child = this.child;
    this.child = undefined;
    await child?.stop(graceMs);
  }

  private spawn(): void {
    const file = join(this.opts.dir, `received-${this.files.length + 1}.ts`);
    this.files.push(file);
    this.frames = 0;
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-rtsp_flags', 'listen', '-analyzeduration', '1', '-i', this.url];
    // -analyzeduration 1: frames are counted from the first one, not after 5 s of probing;
    // -flush_packets: the file holds what was counted, for ffprobe to read while it grows.
    args.push('-c', 'copy', '-flush_packets', '1', '-f', 'mpegts', '-y', file, '-progress', 'pipe:1');
    const child = spawnChild(this.opts.ffmpegPath ?? 'ffmpeg', args, { stdio: ['ignore', 'pipe'] });
    this.child = child;
    const parser = new ProgressParser((p) => {
      this.totalFrames += Math.max(0, p.frame - this.frames);
      this.frames = Math.max(this.frames, p.frame);
    });
    child.process.stdout?.on('data', (d: Buffer) => parser.push(d));
    void child.exited.then(() => {
      if (this.child !== child) return;
      this.child = undefined;
      // The publisher left: listen for the next one (after a pause, in case the port is taken).
      if (this.listening) this.relisten = setTimeout(() => this.listening && !this.child && this.spawn(), 100);
    });
  }
}
