/**
 * A VBC01 camera as a live source (vbc01-protocol.md §7): `stream/play` with the SDP of the
 * stream's ports, a keepalive at once and then every 15 s while it runs, `stream/stop` at the
 * end. The bridge accepts only the camera's fixed SSRCs and answers it with RTCP and REMB
 * (it stops after 30 s without REMB).
 */
import type { LiveStream } from '../lib/live/bridge-types';
import type { DriverHost, SourceChecks, StreamDriver } from './stream-driver';
import {
  keepaliveCommand,
  newCname,
  playCommand,
  stopCommand,
  type StreamCommandMessage,
  VBC01_AUDIO_SSRC,
  VBC01_VIDEO_SSRC,
} from './vbc01-signalling';

export interface Vbc01DriverDeps {
  prefix: string;
  /** the IPv4 address the camera sends RTP to */
  cameraAddress: string;
  keepaliveMs: number;
  publish(msg: StreamCommandMessage): void;
}

export class Vbc01Driver implements StreamDriver {
  readonly kind = 'VBC01';
  readonly checks: SourceChecks = { videoSsrc: VBC01_VIDEO_SSRC, audioSsrc: VBC01_AUDIO_SSRC, sendRtcp: true };
  private keepalives = 0;
  private keepaliveTimer?: NodeJS.Timeout;
  private playRequestId?: string;
  private host?: DriverHost;
  private begun = false;

  constructor(
    private readonly cameraId: string,
    private readonly streamId: string,
    private readonly deps: Vbc01DriverDeps,
  ) {}

  get keepalivesSent(): number {
    return this.keepalives;
  }

  begin(stream: LiveStream, host: DriverHost): void {
    this.host = host;
    this.begun = true;
    const play = playCommand(this.deps.prefix, {
      cameraId: this.cameraId,
      streamId: this.streamId,
      address: this.deps.cameraAddress,
      ports: stream.ports,
      cname: newCname(),
    });
    this.playRequestId = play.payload.requestId;
    this.deps.publish(play);
    // §7: the first keepalive at once, then every 15 s for as long as the stream runs.
    this.keepalive();
    this.keepaliveTimer = setInterval(() => this.keepalive(), this.deps.keepaliveMs);
  }

  commandOutcome(requestId: string, outcome: string, why?: string): void {
    if (requestId !== this.playRequestId) return;
    if (outcome === 'sent') this.host?.asked();
    else this.host?.failed(`stream/play was not delivered (${outcome}${why ? `: ${why}` : ''})`);
  }

  end(): Promise<void> {
    clearInterval(this.keepaliveTimer);
    if (this.begun) this.deps.publish(stopCommand(this.deps.prefix, this.cameraId, this.streamId));
    this.begun = false;
    return Promise.resolve();
  }

  noAnswer(seconds: number): string {
    return `the camera did not answer: no video ${seconds} s after stream/play`;
  }

  stoppedSending(seconds: number): string {
    return `the camera stopped sending (no video for ${seconds} s)`;
  }

  private keepalive(): void {
    this.deps.publish(keepaliveCommand(this.deps.prefix, this.cameraId, this.streamId, this.keepalives++));
  }
}
