/**
 * The livestream side of a simulated VBC01 camera (vbc01-protocol.md §6, §7;
 * docs/live-video.md "Simulated VBC01 streamer").
 *
 * On `stream/play` it checks the answer it is given (simulator-sdp.ts), then
 * sends H.264 RTP (SSRC 1607797317, the answer's payload type, 90 kHz clock)
 * to the answer's address and video port, and RTCP sender reports to its
 * `a=rtcp` port, all from one UDP socket: the server answers with RTCP to
 * wherever the packets come from, and reads back on that same socket.
 * It adapts its bitrate to the REMB it receives (never above it, never above
 * its start of 2,000 kbit/s), answers PLI/FIR with a keyframe, and stops
 * after `rtcpTimeoutMs` without RTCP, on `stream/stop`, or when closed.
 * One stream at a time: a `stream/play` with a new streamId replaces the old.
 *
 * Events: 'rejected' (reason), 'streaming' (streamId: the first packet went
 * out), 'remb' (bps), 'bitrate' (bps: the encoder now sending),
 * 'keyframe-request' (kind), 'encoder' (pid of an ffmpeg it started),
 * 'stopped' ({ streamId, reason }: its encoders have exited), 'frame'
 * (rtpTimestamp, sentAtMs: a picture went out, for latency benchmarks).
 */
import { EventEmitter } from 'node:events';
import { checkCameraAnswer } from './simulator-sdp';
import {
  emptyStats,
  StreamSession,
  type SessionOptions,
  type SessionStats,
  type StopReason,
  type StreamerOptions,
} from './simulator-stream-session';

export type { StopReason, StreamerOptions } from './simulator-stream-session';

export type StreamCommand = 'play' | 'keepalive' | 'stop';

export interface StreamerStats extends SessionStats {
  keepalives: number;
  /** why the last stream/play was refused; cleared by an accepted one */
  rejectedReason?: string;
  /** why the last stream ended */
  stopReason?: StopReason;
}

/** The topic's command, when it is one of the camera's `stream/*` topics. */
export function streamCommandOf(topic: string): StreamCommand | undefined {
  const m = /\/stream\/(play|keepalive|stop)$/.exec(topic);
  return m?.[1] as StreamCommand | undefined;
}

/** A simulated VBC01 camera's livestream: one per camera, at most one stream at a time. */
export class SimulatedVbcStreamer extends EventEmitter {
  private readonly opts: SessionOptions;
  private session?: StreamSession;
  /** the stream that ended last: its counters stay readable */
  private lastSession?: StreamSession;
  private readonly closing = new Set<Promise<void>>();
  private readonly counters = {
    keepalives: 0,
    rejectedReason: undefined as string | undefined,
    stopReason: undefined as StopReason | undefined,
  };
  private closed = false;

  constructor(options: StreamerOptions) {
    super();
    this.opts = {
      log: () => undefined,
      rtcpTimeoutMs: 30_000,
      startBitrateBps: 2_000_000,
      minBitrateBps: 100_000,
      raiseRatio: 0.2,
      maxPayload: 1200,
      srIntervalMs: 5000,
      loss: 0,
      ...options,
      encoder: { ffmpeg: 'ffmpeg', size: '1280x720', fps: 25, gop: 50, ...options.encoder },
    };
    this.setLoss(this.opts.loss);
  }

  /** A `stream/*` message as it came over MQTT (parsed JSON); bad ones are logged, a bad play is rejected. */
  command(kind: StreamCommand, message: unknown): void {
    const m = (typeof message === 'object' && message !== null ? message : {}) as Record<string, unknown>;
    const streamId = typeof m.streamId === 'string' && m.streamId ? m.streamId : undefined;
    if (kind === 'play') {
      if (!streamId) this.reject('stream/play has no streamId');
      else this.play(streamId, m.sdpOffer);
    } else if (!streamId) this.opts.log(`${this.opts.name}: stream/${kind} without a streamId ignored`);
    else if (kind === 'keepalive') this.keepalive(streamId);
    else void this.stop('stream/stop', streamId);
  }

  /** Checks the answer and starts streaming to it; false (and a 'rejected' event) when a camera would refuse it. */
  play(streamId: string, sdpOffer: unknown): boolean {
    if (this.closed) return false;
    const check = checkCameraAnswer(sdpOffer);
    if (!check.ok) {
      this.reject(check.reason, streamId);
      return false;
    }
    if (this.session?.streamId === streamId) {
      this.opts.log(`${this.opts.name}: stream/play for ${streamId} again: already streaming it`);
      return true;
    }
    if (this.session) void this.stop('replaced');
    this.counters.rejectedReason = undefined;
    this.counters.keepalives = 0;
    const { address, videoPort, videoRtcpPort, videoPayloadType } = check.target;
    this.opts.log(`${this.opts.name}: stream ${streamId}: H.264 PT ${videoPayloadType} to ${address}:${videoPort} (RTCP ${videoRtcpPort})`);
    this.session = new StreamSession(streamId, check.target, this.opts, this, (reason) => void this.stop(reason, streamId));
    return true;
  }

  keepalive(streamId: string): void {
    if (this.session?.streamId !== streamId) {
      this.opts.log(`${this.opts.name}: keepalive for ${streamId}, which is not the stream it sends: ignored`);
      return;
    }
    this.counters.keepalives++;
  }

  /** Drops this share (0..1) of RTP packets from now on, as a lossy network between camera and server would. */
  setLoss(share: number): void {
    if (!(share >= 0 && share <= 1)) throw new RangeError(`loss is a share from 0 to 1 (got ${share})`);
    this.opts.loss = share;
  }

  /** Ends the stream (only `streamId`'s, when given); resolves once its encoders have exited. */
  async stop(reason: StopReason, streamId?: string): Promise<void> {
    const s = this.session;
    if (!s || (streamId !== undefined && s.streamId !== streamId)) {
      if (reason === 'stream/stop') this.opts.log(`${this.opts.name}: stream/stop for ${streamId}, which is not streaming: ignored`);
      return;
    }
    this.session = undefined;
    this.lastSession = s;
    this.counters.stopReason = reason;
    this.opts.log(`${this.opts.name}: stream ${s.streamId} stopped (${describeStop(reason, this.opts.rtcpTimeoutMs)})`);
    const done = s.close();
    this.closing.add(done);
    await done;
    this.closing.delete(done);
    this.emit('stopped', { streamId: s.streamId, reason });
  }

  /** The simulator stops: no stream, no ffmpeg left. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop('closed');
    await Promise.all([...this.closing]);
  }

  /** The current stream's counters, or the last one's once it ended. */
  stats(): StreamerStats {
    const s = this.session ?? this.lastSession;
    return {
      ...(s?.stats() ?? emptyStats()),
      keepalives: this.counters.keepalives,
      rejectedReason: this.counters.rejectedReason,
      stopReason: this.counters.stopReason,
    };
  }

  private reject(reason: string, streamId?: string): void {
    this.counters.rejectedReason = reason;
    this.opts.log(`${this.opts.name}: stream/play ${streamId ?? ''} rejected, not streaming: ${reason}`);
    this.emit('rejected', reason);
  }
}

function describeStop(reason: StopReason, rtcpTimeoutMs: number): string {
  if (reason === 'rtcp-timeout') return `no RTCP from the server for ${rtcpTimeoutMs / 1000} s, as a real VBC01 gives up`;
  return reason;
}
