/**
 * One stream of the simulated VBC01 (simulator-stream.ts drives it): its UDP
 * socket, its encoders, its RTP clock and counters. RTP and RTCP sender
 * reports leave from one socket, and RTCP from the server is read on it.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { EventEmitter } from 'node:events';
import {
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  SourceDescriptionChunk,
  SourceDescriptionItem,
  type RtcpPacket,
} from 'werift';
import { Encoder, type EncoderSettings } from './simulator-encoder';
import { packetizeAccessUnit, type AccessUnit } from './simulator-h264';
import { VBC01_VIDEO_SSRC, type StreamTarget } from './simulator-sdp';

export interface StreamerOptions {
  /** for log lines */
  name: string;
  log?: (line: string) => void;
  /** stop after this long without any RTCP from the server (a real VBC01: about 30 s) */
  rtcpTimeoutMs?: number;
  /** the bitrate it starts at, which is also its ceiling (2,000,000) */
  startBitrateBps?: number;
  /** it never encodes below this, whatever the REMB (100,000: libx264's picture falls apart below) */
  minBitrateBps?: number;
  /** a REMB this much above the current bitrate makes it re-encode higher (0.2 = 20 %) */
  raiseRatio?: number;
  /** largest RTP payload in bytes (1200: fits any path MTU with headers to spare) */
  maxPayload?: number;
  /** sender reports every this many ms (5,000) */
  srIntervalMs?: number;
  /** share of RTP packets it drops on purpose, 0..1: a lossy network for the server to measure (0) */
  loss?: number;
  /** the encoder: ffmpeg binary, size, frame rate, keyframe interval (ffmpeg, 1280x720, 25, 50) */
  encoder?: Partial<EncoderSettings>;
}

export type StopReason = 'stream/stop' | 'rtcp-timeout' | 'replaced' | 'closed' | 'encoder-failed';

/** The counters of one stream. */
export interface SessionStats {
  state: 'idle' | 'starting' | 'streaming';
  streamId?: string;
  target?: StreamTarget;
  packetsSent: number;
  /** packets dropped on purpose (`loss`): counted in the sequence numbers, never sent */
  packetsDropped: number;
  bytesSent: number;
  framesSent: number;
  keyframesSent: number;
  /** the `-b:v` of the encoder whose pictures are going out now */
  bitrateBps: number;
  /** what went out in the last whole second, RTP payload and headers */
  sentBps: number;
  rembCount: number;
  /** the last REMB values received, oldest first (at most 100) */
  rembValuesBps: number[];
  lastRembBps?: number;
  rtcpReceived: number;
  /** datagrams on its socket that are not RTCP */
  rtcpIgnored: number;
  senderReports: number;
  /** sends the socket refused (no route to the answer's address...) */
  sendErrors: number;
  keyframeRequests: number;
  /** encoders started after the first one (bitrate changes, keyframe requests) */
  encoderRestarts: number;
  /** process ids of the running ffmpeg encoders (none when idle) */
  encoderPids: number[];
}

/** The options with every default filled in. */
export type SessionOptions = Required<Omit<StreamerOptions, 'encoder'>> & { encoder: EncoderSettings };

const REMB_HISTORY = 100;
const RTP_CLOCK_PER_MS = 90;

export function emptyStats(): SessionStats {
  return {
    state: 'idle',
    packetsSent: 0,
    packetsDropped: 0,
    bytesSent: 0,
    framesSent: 0,
    keyframesSent: 0,
    bitrateBps: 0,
    sentBps: 0,
    rembCount: 0,
    rembValuesBps: [],
    rtcpReceived: 0,
    rtcpIgnored: 0,
    senderReports: 0,
    sendErrors: 0,
    keyframeRequests: 0,
    encoderRestarts: 0,
    encoderPids: [],
  };
}

/** One stream: its socket, encoders, clocks and counters. */
export class StreamSession {
  private readonly socket: Socket;
  private active?: Encoder;
  /** the encoder being started; it takes over at its first keyframe */
  private next?: Encoder;
  private readonly stopping = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private watchdog?: NodeJS.Timeout;
  private readonly counts = emptyStats();
  private sequence = Math.floor(Math.random() * 0x10000);
  private readonly timestampBase = Math.floor(Math.random() * 0x100000000);
  private readonly startedAt = performance.now();
  private lastSecondBytes = 0;
  private lastSendError?: string;
  private ended = false;

  constructor(
    readonly streamId: string,
    private readonly target: StreamTarget,
    private readonly opts: SessionOptions,
    private readonly events: EventEmitter,
    private readonly end: (reason: StopReason) => void,
  ) {
    this.counts.state = 'starting';
    this.socket = createSocket('udp4');
    this.socket.on('message', (data) => this.onRtcp(data));
    // A refused send (no route, a broadcast address) is an error event without a callback: counted, not fatal.
    this.socket.on('error', (err) => this.onSendError(err));
    this.socket.bind(0, () => {
      if (this.ended) return;
      this.active = this.startEncoder(opts.startBitrateBps);
      this.counts.bitrateBps = opts.startBitrateBps;
    });
    this.armWatchdog();
    this.timers.push(setInterval(() => this.sendSenderReport(), opts.srIntervalMs));
    this.timers.push(
      setInterval(() => {
        this.counts.sentBps = (this.counts.bytesSent - this.lastSecondBytes) * 8;
        this.lastSecondBytes = this.counts.bytesSent;
      }, 1000),
    );
  }

  stats(): SessionStats {
    const pids = [this.active?.pid, this.next?.pid].filter((p): p is number => p !== undefined);
    return {
      ...this.counts,
      rembValuesBps: [...this.counts.rembValuesBps],
      streamId: this.streamId,
      target: this.target,
      encoderPids: pids,
    };
  }

  async close(): Promise<void> {
    this.ended = true;
    this.counts.state = 'idle';
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.watchdog);
    const encoders = [this.active, this.next].filter((e): e is Encoder => e !== undefined);
    this.active = this.next = undefined;
    await Promise.all([...encoders.map((e) => e.stop()), ...this.stopping]);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private startEncoder(bitrateBps: number): Encoder {
    const encoder = new Encoder(
      this.opts.encoder,
      bitrateBps,
      (au, from) => this.onAccessUnit(au, from),
      (why, from) => this.onEncoderFailure(why, from),
    );
    this.events.emit('encoder', encoder.pid);
    return encoder;
  }

  /** Re-encodes at `bitrateBps`: a new encoder takes over at its first keyframe, so the picture never stops. */
  private reencode(bitrateBps: number, why: string): void {
    if (this.ended) return;
    if (this.next) this.retire(this.next);
    this.opts.log(`${this.opts.name}: re-encoding at ${Math.round(bitrateBps / 1000)} kbit/s (${why})`);
    this.counts.encoderRestarts++;
    this.next = this.startEncoder(bitrateBps);
  }

  private retire(encoder: Encoder): void {
    const done = encoder.stop();
    this.stopping.add(done);
    void done.then(() => this.stopping.delete(done));
  }

  private onAccessUnit(au: AccessUnit, from: Encoder): void {
    if (this.ended) return;
    if (from === this.next) {
      if (!au.keyframe) return; // the old encoder keeps the picture going until this one has a keyframe
      if (this.active) this.retire(this.active);
      this.active = from;
      this.next = undefined;
      this.counts.bitrateBps = from.bitrateBps;
      this.events.emit('bitrate', from.bitrateBps);
    }
    if (from !== this.active) return;
    this.sendAccessUnit(au);
  }

  private onEncoderFailure(why: string, from: Encoder): void {
    if (this.ended) return;
    this.opts.log(`${this.opts.name}: ${why}`);
    if (from === this.next) this.next = undefined;
    else if (from === this.active) this.end('encoder-failed');
  }

  private rtpTimestamp(): number {
    return (this.timestampBase + Math.round((performance.now() - this.startedAt) * RTP_CLOCK_PER_MS)) >>> 0;
  }

  private sendAccessUnit(au: AccessUnit): void {
    const timestamp = this.rtpTimestamp();
    const payloads = packetizeAccessUnit(au, this.opts.maxPayload);
    payloads.forEach((payload, i) => {
      const header = rtpHeader(this.target.videoPayloadType, i === payloads.length - 1, this.sequence, timestamp);
      this.sequence = (this.sequence + 1) & 0xffff;
      if (this.opts.loss > 0 && Math.random() < this.opts.loss) {
        this.counts.packetsDropped++;
        return;
      }
      this.socket.send([header, payload], this.target.videoPort, this.target.address, this.afterSend);
      this.counts.packetsSent++;
      this.counts.bytesSent += header.length + payload.length;
    });
    this.counts.framesSent++;
    if (au.keyframe) this.counts.keyframesSent++;
    // For latency measurements (bench/live.ts): when the picture with this RTP timestamp left.
    this.events.emit('frame', timestamp, Date.now());
    if (this.counts.state !== 'streaming') {
      this.counts.state = 'streaming';
      this.events.emit('streaming', this.streamId);
      this.sendSenderReport(); // the server learns the clock mapping at once
    }
  }

  /** RFC 3550 SR plus SDES CNAME (a compound packet) to the `a=rtcp` port. */
  private sendSenderReport(): void {
    if (this.ended || this.counts.packetsSent === 0) return;
    const sr = new RtcpSrPacket({
      ssrc: VBC01_VIDEO_SSRC,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: ntpNow(),
        rtpTimestamp: this.rtpTimestamp(),
        packetCount: this.counts.packetsSent >>> 0,
        octetCount: this.counts.bytesSent >>> 0,
      }),
    });
    const sdes = new RtcpSourceDescriptionPacket({
      chunks: [
        new SourceDescriptionChunk({
          source: VBC01_VIDEO_SSRC,
          items: [new SourceDescriptionItem({ type: 1, text: this.target.cname })],
        }),
      ],
    });
    this.socket.send([sr.serialize(), sdes.serialize()], this.target.videoRtcpPort, this.target.address, this.afterSend);
    this.counts.senderReports++;
  }

  private readonly afterSend = (err: Error | null) => err && this.onSendError(err);

  /** A send that failed (no route, say): counted, and logged once per kind of failure rather than per packet. */
  private onSendError(err: Error): void {
    this.counts.sendErrors++;
    const kind = (err as NodeJS.ErrnoException).code ?? err.message;
    if (kind === this.lastSendError) return;
    this.lastSendError = kind;
    this.opts.log(`${this.opts.name}: sending to ${this.target.address}: ${err.message}`);
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.end('rtcp-timeout'), this.opts.rtcpTimeoutMs);
  }

  private onRtcp(data: Buffer): void {
    let packets: RtcpPacket[];
    try {
      packets = RtcpPacketConverter.deSerialize(data);
    } catch {
      packets = [];
    }
    if (packets.length === 0) {
      this.counts.rtcpIgnored++;
      return;
    }
    this.counts.rtcpReceived++;
    this.armWatchdog();
    for (const p of packets) if (p instanceof RtcpPayloadSpecificFeedback) this.onFeedback(p);
  }

  private onFeedback(p: RtcpPayloadSpecificFeedback): void {
    const fb = p.feedback;
    if (fb instanceof ReceiverEstimatedMaxBitrate) this.onRemb(Number(fb.bitrate));
    else if (fb instanceof PictureLossIndication) this.onKeyframeRequest('PLI');
    else if ((fb.constructor as { count?: number }).count === 4) this.onKeyframeRequest('FIR');
  }

  private onRemb(bps: number): void {
    this.counts.rembCount++;
    this.counts.lastRembBps = bps;
    this.counts.rembValuesBps.push(bps);
    if (this.counts.rembValuesBps.length > REMB_HISTORY) this.counts.rembValuesBps.shift();
    this.events.emit('remb', bps);
    // Never above the REMB, never above the start; whole kbit/s, as ffmpeg is told.
    const want = Math.max(this.opts.minBitrateBps, Math.floor(Math.min(bps, this.opts.startBitrateBps) / 1000) * 1000);
    const current = this.next?.bitrateBps ?? this.active?.bitrateBps ?? this.opts.startBitrateBps;
    if (want < current) this.reencode(want, `REMB ${Math.round(bps / 1000)} kbit/s`);
    else if (want > current * (1 + this.opts.raiseRatio)) this.reencode(want, `REMB up to ${Math.round(bps / 1000)} kbit/s`);
  }

  /** A keyframe now: a new encoder starts with one (unless one is already starting). */
  private onKeyframeRequest(kind: 'PLI' | 'FIR'): void {
    this.counts.keyframeRequests++;
    this.events.emit('keyframe-request', kind);
    if (!this.next && this.active) this.reencode(this.active.bitrateBps, `${kind}: keyframe asked for`);
  }
}

/** The 12-byte RTP header (RFC 3550 §5.1): version 2, no padding, extension or CSRC. */
function rtpHeader(payloadType: number, marker: boolean, sequence: number, timestamp: number): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  h.writeUInt16BE(sequence, 2);
  h.writeUInt32BE(timestamp, 4);
  h.writeUInt32BE(VBC01_VIDEO_SSRC, 8);
  return h;
}

/** Now as a 64-bit NTP timestamp (seconds since 1900, 32.32 fixed point). */
function ntpNow(): bigint {
  const ms = Date.now() + 2_208_988_800_000;
  return (BigInt(Math.floor(ms / 1000)) << 32n) | BigInt(Math.floor(((ms % 1000) / 1000) * 2 ** 32));
}
