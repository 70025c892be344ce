/**
 * Cameras for the live bridge's tests (issue 17).
 *
 * `RtpTestCamera` is a small RTP sender that follows what a VBC01 does on the
 * wire: H.264-shaped RTP with a fixed SSRC from one UDP socket, sender
 * reports from a second one, and it records every RTCP packet the bridge
 * sends back (RR, REMB, PLI, FIR, NACK) the way the camera would receive
 * them. It can drop a share of its packets (deterministically: it counts the
 * sequence number up but does not send) to make the bridge see loss.
 * The payloads are not decodable video; the browser tests use `ffmpegRtpCamera`.
 */
import { VBC01_VIDEO_SSRC } from '../../nodes/lib/vbc01';
import { createSocket, type Socket } from 'node:dgram';
import {
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  GenericNack,
  type RtcpPacket,
} from 'werift';
import { spawnChild, type Child } from '../../nodes/lib/child-process';
import { firstEphemeralPort } from './listening';

export { VBC01_AUDIO_SSRC, VBC01_VIDEO_SSRC } from '../../nodes/lib/vbc01';

/**
 * An even port range for one test, random so parallel test files rarely meet, and below the
 * kernel's ephemeral ports with room for an ICE range 1,000–1,100 above it: a socket bound to
 * port 0 anywhere (a WebRTC viewer's, a resolver's) takes one of those, and a range inside them
 * ran out in CI when one pair of it was taken that way.
 */
export function udpPortRange(pairs: number): { portMin: number; portMax: number } {
  // (A kernel whose ephemeral ports start low leaves no such room: then 20000–40000 as before.)
  const top = Math.max(firstEphemeralPort(), 41200) - 1200 - pairs * 2;
  const portMin = 20000 + 2 * Math.floor(Math.random() * ((top - 20000) / 2));
  return { portMin, portMax: portMin + pairs * 2 - 1 };
}

export interface RtpTestCameraOptions {
  ssrc?: number;
  payloadType?: number;
  /** where the bridge listens (its video RTP port; RTCP is +1) */
  rtpPort: number;
  /** packets per 10 ms tick */
  burst?: number;
}

export class RtpTestCamera {
  readonly rtp: Socket = createSocket('udp4');
  readonly rtcp: Socket = createSocket('udp4');
  /** every RTCP packet received from the bridge, parsed */
  readonly received: RtcpPacket[] = [];
  /** share of packets not sent (0..1), applied every 1/share-th sequence number */
  dropShare = 0;
  sent = 0;
  private seq = 1000;
  private timestamp = 0;
  private frame = 0;
  private timer?: NodeJS.Timeout;
  private srTimer?: NodeJS.Timeout;
  readonly ssrc: number;

  constructor(private readonly opts: RtpTestCameraOptions) {
    this.ssrc = opts.ssrc ?? VBC01_VIDEO_SSRC;
    this.rtcp.on('message', (buf) => this.received.push(...RtcpPacketConverter.deSerialize(buf)));
  }

  async start(): Promise<void> {
    await Promise.all([bind(this.rtp), bind(this.rtcp)]);
    this.timer = setInterval(() => this.tick(), 10);
    this.srTimer = setInterval(() => this.sendSenderReport(), 200);
  }

  /** Stops sending (the sockets stay open: the camera still hears RTCP). */
  pause(): void {
    clearInterval(this.timer);
    clearInterval(this.srTimer);
  }

  resume(): void {
    this.pause();
    this.timer = setInterval(() => this.tick(), 10);
    this.srTimer = setInterval(() => this.sendSenderReport(), 200);
  }

  close(): void {
    this.pause();
    this.rtp.close();
    this.rtcp.close();
  }

  get rembs(): number[] {
    return this.received.flatMap((p) =>
      p instanceof RtcpPayloadSpecificFeedback && p.feedback instanceof ReceiverEstimatedMaxBitrate ? [Number(p.feedback.bitrate)] : [],
    );
  }

  get receiverReports(): RtcpRrPacket[] {
    return this.received.filter((p): p is RtcpRrPacket => p instanceof RtcpRrPacket);
  }

  /** PSFB with FMT 1 (PLI) or 4 (FIR) */
  keyframeRequests(fmt: 1 | 4): number {
    return this.received.filter((p) => p instanceof RtcpPayloadSpecificFeedback && p.feedback.count === fmt).length;
  }

  get nacks(): GenericNack[] {
    return this.received.flatMap((p) => (p instanceof RtcpTransportLayerFeedback && p.feedback instanceof GenericNack ? [p.feedback] : []));
  }

  /** One packet as this camera would send it, from any socket and with any SSRC (for spoofing). */
  packet(ssrc = this.ssrc, keyframe = false): Buffer {
    const buf = Buffer.alloc(12 + 200);
    buf[0] = 0x80;
    buf[1] = this.opts.payloadType ?? 103;
    buf.writeUInt16BE(this.seq & 0xffff, 2);
    buf.writeUInt32BE(this.timestamp >>> 0, 4);
    buf.writeUInt32BE(ssrc >>> 0, 8);
    buf[12] = keyframe ? 0x67 : 0x41; // NAL header: SPS (7) or non-IDR slice (1)
    return buf;
  }

  private tick(): void {
    for (let i = 0; i < (this.opts.burst ?? 2); i++) {
      const keyframe = this.frame % 25 === 0;
      const out = this.packet(this.ssrc, keyframe);
      const drop = this.dropShare > 0 && this.seq % Math.round(1 / this.dropShare) === 0;
      if (!drop) {
        this.rtp.send(out, this.opts.rtpPort, '127.0.0.1');
        this.sent++;
      }
      this.seq++;
    }
    this.frame++;
    this.timestamp += 3600;
  }

  private sendSenderReport(): void {
    const ntp = BigInt(Math.floor(Date.now() / 1000) + 2208988800) << 32n;
    const sr = new RtcpSrPacket({ ssrc: this.ssrc, senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntp, rtpTimestamp: this.timestamp }) });
    this.rtcp.send(sr.serialize(), this.opts.rtpPort + 1, '127.0.0.1');
  }
}

function bind(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
}

/** ffmpeg as the camera: a real H.264 (baseline, zerolatency, a keyframe a second) RTP stream at 25 fps. */
export function ffmpegRtpCamera(rtpPort: number, ssrc = VBC01_VIDEO_SSRC): Child {
  const args = ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25'];
  const encode = ['-c:v', 'libx264', '-profile:v', 'baseline', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p'];
  const out = ['-f', 'rtp', '-ssrc', String(ssrc), '-payload_type', '103', `rtp://127.0.0.1:${rtpPort}?rtcpport=${rtpPort + 1}`];
  return spawnChild('ffmpeg', [...args, ...encode, ...out], { stdio: ['ignore', 'ignore'] });
}
