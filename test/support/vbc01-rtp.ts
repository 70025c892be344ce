/**
 * The platform's side of a VBC01 livestream, for tests of the simulated
 * camera: the edited answer the camera gets as `sdpOffer`
 * (vbc01-protocol.md §7), and a UDP "media server" that takes the camera's
 * RTP and RTCP and sends RTCP (RR, REMB, PLI) back to where the RTP comes from,
 * as the real media server does.
 */
import { VBC01_AUDIO_SSRC as AUDIO_SSRC, VBC01_VIDEO_SSRC as VIDEO_SSRC } from '../../nodes/lib/vbc01';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { FuAReassembler, nalType } from '../../cli/commands/simulator-h264';

export { VBC01_AUDIO_SSRC as AUDIO_SSRC, VBC01_VIDEO_SSRC as VIDEO_SSRC } from '../../nodes/lib/vbc01';
export const CNAME = 'user4012345678@host-3fa9c01b';

export interface AnswerPorts {
  address?: string;
  videoPort: number;
  videoRtcpPort: number;
  videoPayloadType?: number;
}

/** Kurento's answer after the platform's five edits: what a real camera is sent. CRLF line ends, none after the last line. */
export function vbc01Answer(p: AnswerPorts): string {
  const ip = p.address ?? '127.0.0.1';
  const pt = p.videoPayloadType ?? 103;
  return [
    'v=0',
    `o=- 3970000000 3970000000 IN IP4 ${ip}`,
    's=Kurento Media Server',
    `c=IN IP4 ${ip}`,
    't=0 0',
    'm=audio 5004 RTP/AVPF 96 0',
    'a=rtpmap:96 opus/48000/2',
    'a=rtpmap:0 PCMU/8000',
    'a=rtcp:5005',
    'a=sendrecv',
    'a=direction:passive',
    `a=ssrc:${AUDIO_SSRC} cname:${CNAME}`,
    `m=video ${p.videoPort} RTP/AVPF ${pt}`,
    `a=rtpmap:${pt} H264/90000`,
    `a=fmtp:${pt} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f`,
    `a=rtcp-fb:${pt} nack`,
    `a=rtcp-fb:${pt} nack pli`,
    `a=rtcp-fb:${pt} goog-remb`,
    `a=rtcp-fb:${pt} ccm fir`,
    `a=rtcp:${p.videoRtcpPort}`,
    'a=recvonly',
    'a=direction:passive',
    `a=ssrc:${VIDEO_SSRC} cname:${CNAME}`,
    `a=x-skl-ssrca:${AUDIO_SSRC}`,
    `a=x-skl-ssrcv:${VIDEO_SSRC}`,
    `a=x-skl-cname:${CNAME}`,
  ].join('\r\n');
}

/** RTCP REMB (PSFB PT 206, FMT 15, draft-alvestrand-rmcat-remb) for the video SSRC. */
export function remb(bps: number, senderSsrc = 1): Buffer {
  let exp = 0;
  while (bps >= 2 ** (exp + 18)) exp++;
  const mantissa = Math.floor(bps / 2 ** exp);
  const b = Buffer.alloc(24);
  b[0] = 0x80 | 15;
  b[1] = 206;
  b.writeUInt16BE(24 / 4 - 1, 2);
  b.writeUInt32BE(senderSsrc, 4);
  b.writeUInt32BE(0, 8);
  b.write('REMB', 12, 'ascii');
  b[16] = 1;
  b[17] = (exp << 2) | (mantissa >> 16);
  b.writeUInt16BE(mantissa & 0xffff, 18);
  b.writeUInt32BE(VIDEO_SSRC, 20);
  return b;
}

/** RTCP receiver report with one block about the video SSRC (RFC 3550 §6.4.2). */
export function receiverReport(highestSequence: number, senderSsrc = 1): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 0x81;
  b[1] = 201;
  b.writeUInt16BE(32 / 4 - 1, 2);
  b.writeUInt32BE(senderSsrc, 4);
  b.writeUInt32BE(VIDEO_SSRC, 8);
  b.writeUInt32BE(highestSequence >>> 0, 16);
  return b;
}

/** RTCP picture loss indication (PSFB FMT 1, RFC 4585 §6.3.1). */
export function pli(senderSsrc = 1): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x80 | 1;
  b[1] = 206;
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(senderSsrc, 4);
  b.writeUInt32BE(VIDEO_SSRC, 8);
  return b;
}

export interface ReceivedRtp {
  payloadType: number;
  ssrc: number;
  sequence: number;
  timestamp: number;
  marker: boolean;
}

const KEEP_NALS = 3000;

/** Two UDP sockets on 127.0.0.1, RTP and RTCP, that record what the camera sends. */
export class FakeMediaServer {
  readonly packets: ReceivedRtp[] = [];
  /** the first NAL units of the stream, reassembled (at most 3000) */
  readonly nals: Buffer[] = [];
  /** NAL types of every NAL received, in order */
  readonly nalTypes: number[] = [];
  senderReports = 0;
  /** where the camera's RTP comes from: RTCP goes back there */
  camera?: RemoteInfo;
  private readonly fu = new FuAReassembler();

  private constructor(
    readonly rtp: Socket,
    readonly rtcp: Socket,
  ) {
    rtp.on('message', (data, from) => this.onRtp(data, from));
    rtcp.on('message', (data) => {
      if (data[1] === 200) this.senderReports++;
    });
  }

  static async start(): Promise<FakeMediaServer> {
    const bind = async () => {
      const s = createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      return s;
    };
    return new FakeMediaServer(await bind(), await bind());
  }

  get ports(): AnswerPorts {
    return { videoPort: this.rtp.address().port, videoRtcpPort: this.rtcp.address().port };
  }

  /** RTCP to the address and port the camera's RTP comes from. */
  sendRtcp(packet: Buffer): void {
    if (!this.camera) throw new Error('no RTP from the camera yet: nowhere to send RTCP');
    this.rtcp.send(packet, this.camera.port, this.camera.address);
  }

  /** The NAL units received so far as an Annex-B stream, for ffprobe. */
  annexB(): Buffer {
    return Buffer.concat(this.nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), n]));
  }

  async close(): Promise<void> {
    await Promise.all([this.rtp, this.rtcp].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private onRtp(data: Buffer, from: RemoteInfo): void {
    this.camera ??= from;
    this.packets.push({
      payloadType: data[1]! & 0x7f,
      marker: (data[1]! & 0x80) !== 0,
      sequence: data.readUInt16BE(2),
      timestamp: data.readUInt32BE(4),
      ssrc: data.readUInt32BE(8),
    });
    const nal = this.fu.push(data.subarray(12 + 4 * (data[0]! & 0x0f)));
    if (!nal) return;
    this.nalTypes.push(nalType(nal));
    if (this.nals.length < KEEP_NALS) this.nals.push(nal);
  }
}
