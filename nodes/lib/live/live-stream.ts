/**
 * One camera stream through the bridge: the camera's RTP in on two port
 * pairs (video, audio), RTCP receiver reports and REMB back to the camera
 * once per interval, viewers' keyframe requests and NACKs on to it, stall
 * detection, and the video/audio forwarded to every WHEP viewer.
 */
import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import type { LiveStream, LiveStreamOptions, LiveStreamPorts, LiveStreamStats, WhepAnswer } from './bridge-types';
import { CameraLink, type CameraPeer } from './camera-link';
import type { PortPair } from './port-allocator';
import { RembController } from './remb-controller';
import { fir, nack, pli, receiverReport, remb, type ReceptionReport } from './rtcp-packets';
import type { RtpFields } from './rtp-header';
import { WhepViewer, type AudioCodec } from './whep-viewer';

/** Options beyond the contract (bridge-types.ts): all have defaults a driver can leave alone. */
export interface LiveStreamExtraOptions {
  /** RTCP receiver report + REMB period (default 1000 ms). */
  rtcpIntervalMs?: number;
  /** The camera's audio codec when `audioSsrc` is given (default opus; a VBC01 offers opus and PCMU). */
  audioCodec?: AudioCodec;
  /** A viewer whose browser has not connected this long after its answer is removed (default 20 s). */
  viewerConnectTimeoutMs?: number;
}

/** RFC 3550 suggests ≥ 5 s; a VBC01 stops after ~30 s without REMB and adapts only when it gets it, so once a second. */
export const DEFAULT_RTCP_INTERVAL_MS = 1000;
/** Viewers joining together or a burst of PLIs from a lossy viewer: the camera gets at most one request per this long. */
const KEYFRAME_REQUEST_GAP_MS = 300;

export interface LiveStreamDeps {
  video: PortPair;
  audio: PortPair;
  iceAddress?: string;
  icePortRange?: [number, number];
  /** gives the port pairs back (the bridge's allocator) */
  release: (pairs: PortPair[]) => Promise<void>;
}

export class BridgeStream extends EventEmitter implements LiveStream {
  readonly id = randomUUID();
  readonly ports: LiveStreamPorts;
  private readonly peer: CameraPeer = {};
  private readonly video: CameraLink;
  private readonly audio?: CameraLink;
  private readonly remb: RembController;
  private readonly viewers = new Map<string, WhepViewer>();
  private readonly ourSsrc = randomBytes(4).readUInt32BE(0);
  private readonly cname = `picam-bridge-${randomBytes(4).toString('hex')}`;
  private readonly timers: NodeJS.Timeout[] = [];
  private state: LiveStreamStats['state'] = 'waiting';
  private lastVideoAt = 0;
  private bitrateBps = 0;
  private bytesAtLastTick = 0;
  private lastTickAt = Date.now();
  private rembSent = 0;
  private lastRembBps = 0;
  private keyframeRequests = 0;
  private lastKeyframeRequestAt = 0;
  private firSequence = 0;
  private nacksForwarded = 0;
  private closing?: Promise<void>;
  /** packets on the audio ports of a stream without audio */
  private unexpectedAudio = 0;

  constructor(
    readonly options: LiveStreamOptions & LiveStreamExtraOptions,
    private readonly deps: LiveStreamDeps,
  ) {
    super();
    this.remb = new RembController({ startBps: options.rembStartBps, floorBps: options.rembFloorBps });
    this.ports = {
      videoRtp: deps.video.rtp,
      videoRtcp: deps.video.rtp + 1,
      audioRtp: deps.audio.rtp,
      audioRtcp: deps.audio.rtp + 1,
    };
    this.video = new CameraLink(deps.video, options.videoSsrc, 90000, this.peer);
    this.video.on('rtp', (packet, fields) => this.onVideo(packet, fields));
    this.video.once('first-packet', (address, port) => this.emit('first-packet', { address, port }));
    this.video.on('error', (err) => this.emit('warning', err));
    if (options.audioSsrc !== undefined) {
      this.audio = new CameraLink(deps.audio, options.audioSsrc, options.audioCodec === 'pcmu' ? 8000 : 48000, this.peer);
      this.audio.on('rtp', (packet) => this.viewers.forEach((v) => v.forwardAudio(packet)));
      this.audio.on('error', (err) => this.emit('warning', err));
    } else {
      // the pair is reserved (the camera's SDP names an audio port) but nothing is accepted on it: counted, not silent
      const unexpected = (): void => void this.unexpectedAudio++;
      deps.audio.rtpSocket.on('message', unexpected);
      deps.audio.rtcpSocket.on('message', unexpected);
    }
    this.timers.push(setInterval(() => this.onRtcpInterval(), options.rtcpIntervalMs ?? DEFAULT_RTCP_INTERVAL_MS));
    this.timers.push(setInterval(() => this.checkStall(), Math.max(20, Math.floor(options.stallAfterMs / 4))));
  }

  stats(): LiveStreamStats & { nacksForwarded: number; malformed: number } {
    const links = [this.video, this.audio].filter((l): l is CameraLink => l !== undefined);
    const sum = (f: (l: CameraLink) => number): number => links.reduce((n, l) => n + f(l), 0);
    return {
      cameraId: this.options.cameraId,
      state: this.state,
      packets: sum((l) => l.reception.packets),
      bytes: sum((l) => l.reception.bytes),
      lost: sum((l) => l.reception.cumulativeLost),
      spoofed: sum((l) => l.counters.spoofed) + this.unexpectedAudio,
      malformed: sum((l) => l.counters.malformed),
      bitrateBps: this.bitrateBps,
      rembSent: this.rembSent,
      lastRembBps: this.lastRembBps,
      keyframeRequests: this.keyframeRequests,
      nacksForwarded: this.nacksForwarded,
      viewers: this.viewers.size,
    };
  }

  async addViewer(offerSdp: string): Promise<WhepAnswer> {
    if (this.state === 'closed') throw new Error(`the live stream of ${this.options.cameraId} is closed`);
    const viewer = await WhepViewer.answer(offerSdp, {
      iceAddress: this.deps.iceAddress,
      icePortRange: this.deps.icePortRange,
      connectTimeoutMs: this.options.viewerConnectTimeoutMs,
      audioCodec: this.audio ? (this.options.audioCodec ?? 'opus') : undefined,
    });
    if (this.closing) {
      await viewer.close();
      throw new Error(`the live stream of ${this.options.cameraId} closed while the viewer was joining`);
    }
    this.viewers.set(viewer.id, viewer);
    viewer.on('keyframe-request', () => this.requestKeyframe());
    viewer.on('nack', (lost) => this.forwardNack(lost));
    viewer.on('closed', () => this.removeViewer(viewer.id));
    viewer.on('error', (err) => this.emit('warning', err));
    this.requestKeyframe(); // the viewer starts at the next keyframe: ask for one now, not in a GOP
    this.emit('viewers', this.viewers.size);
    return { viewerId: viewer.id, sdp: viewer.answerSdp };
  }

  /** The driver restarted its sender (a new ffmpeg copy): learn its address and sequence again. */
  forgetSource(): void {
    this.video.forgetSource();
    this.audio?.forgetSource();
    for (const viewer of this.viewers.values()) viewer.sourceRestarted();
  }

  removeViewer(viewerId: string): void {
    const viewer = this.viewers.get(viewerId);
    if (!viewer) return;
    this.viewers.delete(viewerId);
    viewer.removeAllListeners();
    viewer.close().catch((err: Error) => this.emit('warning', err));
    this.emit('viewers', this.viewers.size);
  }

  /** Stops timers, closes every viewer, gives the ports back; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closed';
    this.timers.forEach((t) => clearInterval(t));
    const viewers = [...this.viewers.values()];
    this.viewers.clear();
    await Promise.all(viewers.map((v) => v.close()));
    await this.deps.release([this.deps.video, this.deps.audio]);
    this.emit('closed');
  }

  private onVideo(packet: Buffer, fields: RtpFields): void {
    this.lastVideoAt = Date.now();
    if (this.state === 'waiting') this.state = 'playing';
    else if (this.state === 'stalled') {
      this.state = 'playing';
      this.emit('resume');
    }
    for (const viewer of this.viewers.values()) viewer.forwardVideo(packet, fields);
  }

  private checkStall(): void {
    if (this.state !== 'playing' || Date.now() - this.lastVideoAt < this.options.stallAfterMs) return;
    this.state = 'stalled';
    this.emit('stall');
  }

  private onRtcpInterval(): void {
    const now = Date.now();
    const bytes = this.video.reception.bytes + (this.audio?.reception.bytes ?? 0);
    this.bitrateBps = Math.round(((bytes - this.bytesAtLastTick) * 8 * 1000) / Math.max(1, now - this.lastTickAt));
    this.bytesAtLastTick = bytes;
    this.lastTickAt = now;
    const videoLoss = this.video.reception.takeInterval();
    const bps = this.remb.update(videoLoss.fraction);
    if (!this.options.sendRtcp || !this.video.cameraKnown) return;
    const reports: ReceptionReport[] = [this.video.reception.report(videoLoss, now)];
    const ssrcs = [this.options.videoSsrc];
    if (this.audio?.cameraKnown) {
      reports.push(this.audio.reception.report(this.audio.reception.takeInterval(), now));
      ssrcs.push(this.audio.ssrc);
      this.audio.sendRtcp(receiverReport(this.ourSsrc, this.cname, reports.slice(1)));
    }
    const compound = Buffer.concat([receiverReport(this.ourSsrc, this.cname, reports.slice(0, 1)), remb(this.ourSsrc, bps, ssrcs)]);
    if (this.video.sendRtcp(compound)) {
      this.rembSent++;
      this.lastRembBps = bps;
    }
  }

  /** PLI for a camera that answers it, FIR too for one that only knows FIR (both are in a VBC01's offer). */
  private requestKeyframe(): void {
    const now = Date.now();
    if (now - this.lastKeyframeRequestAt < KEYFRAME_REQUEST_GAP_MS || this.state === 'closed') return;
    // before the first packet: its first frames are a keyframe anyway; an ffmpeg copy (sendRtcp false) reads no RTCP
    if (!this.video.cameraKnown || !this.options.sendRtcp) return;
    this.lastKeyframeRequestAt = now;
    this.keyframeRequests++;
    const ssrc = this.options.videoSsrc;
    this.video.sendRtcp(
      Buffer.concat([receiverReport(this.ourSsrc, this.cname, []), pli(this.ourSsrc, ssrc), fir(this.ourSsrc, ssrc, this.firSequence++)]),
    );
  }

  /** Only the sequence numbers the bridge itself never got: werift retransmits the others from its own history. */
  private forwardNack(lost: number[]): void {
    const missing = lost.filter((seq) => !this.video.reception.hasReceived(seq));
    if (missing.length === 0 || !this.video.cameraKnown || !this.options.sendRtcp) return;
    this.nacksForwarded++;
    this.video.sendRtcp(Buffer.concat([receiverReport(this.ourSsrc, this.cname, []), nack(this.ourSsrc, this.options.videoSsrc, missing)]));
  }
}
