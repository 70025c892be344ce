/**
 * One medium (video or audio) of one camera stream on the camera's side:
 * the RTP/RTCP socket pair, the filter that accepts only the camera, and the
 * address our RTCP goes back to.
 *
 * The camera's address is not known in advance (a VBC01 sends from behind
 * its NAT): the first RTP packet with the stream's SSRC teaches it (IP for
 * the whole stream, source port per socket); afterwards anything from
 * another IP, another source port or with another SSRC is counted as
 * `spoofed` and dropped.
 *
 * Our RTCP goes where the camera's RTCP comes from; until the camera has
 * sent RTCP, to its RTP source port + 1 (RFC 3550 §11). That is RFC 4145's
 * active/passive: the camera (active) opens the path, we answer on it, and
 * it is the only path its NAT lets through.
 */
import { EventEmitter } from 'node:events';
import type { RemoteInfo } from 'node:dgram';
import { RtcpPacketConverter, RtcpSrPacket } from 'werift';
import type { PortPair } from './port-allocator';
import { Reception } from './reception';
import { looksLikeRtcp, readRtp, type RtpFields } from './rtp-header';

/** What the stream has learned about the camera; shared by its video and audio links. */
export interface CameraPeer {
  address?: string;
}

export interface LinkCounters {
  spoofed: number;
  /** datagrams that were neither RTP nor RTCP we could parse */
  malformed: number;
}

export interface CameraLinkEvents {
  rtp: [packet: Buffer, fields: RtpFields];
  'first-packet': [address: string, port: number];
  error: [err: Error];
}

export class CameraLink extends EventEmitter<CameraLinkEvents> {
  readonly reception: Reception;
  readonly counters: LinkCounters = { spoofed: 0, malformed: 0 };
  private rtpPort: number | undefined;
  private rtcpPort: number | undefined;

  constructor(
    readonly pair: PortPair,
    readonly ssrc: number,
    clockRate: number,
    private readonly peer: CameraPeer,
  ) {
    super();
    this.reception = new Reception(ssrc, clockRate);
    pair.rtpSocket.on('message', (buf, from) => this.onRtp(buf, from));
    pair.rtcpSocket.on('message', (buf, from) => this.onRtcp(buf, from));
    // a send to an unreachable camera surfaces here (ICMP), it must not crash the runtime
    pair.rtpSocket.on('error', (err) => this.emit('error', err));
    pair.rtcpSocket.on('error', (err) => this.emit('error', err));
  }

  /** Sends RTCP to the camera; false while its address is unknown (nothing to send to yet). */
  sendRtcp(packet: Buffer): boolean {
    const dest = this.rtcpDestination();
    if (!dest) return false;
    this.pair.rtcpSocket.send(packet, dest.port, dest.address);
    return true;
  }

  /**
   * Forgets the learned source (address and ports) and restarts the reception statistics: the
   * next packet with the stream's SSRC teaches the source again. For a driver that restarts its
   * own local sender (the RTSP copy's ffmpeg sends from a new port, sequence and timestamps).
   */
  forgetSource(): void {
    this.peer.address = undefined;
    this.rtpPort = undefined;
    this.rtcpPort = undefined;
    this.reception.restart();
  }

  get cameraKnown(): boolean {
    return this.rtpPort !== undefined;
  }

  private rtcpDestination(): { address: string; port: number } | undefined {
    const address = this.peer.address;
    if (!address || this.rtpPort === undefined) return undefined;
    return { address, port: this.rtcpPort ?? this.rtpPort + 1 };
  }

  private onRtp(buf: Buffer, from: RemoteInfo): void {
    const fields = readRtp(buf);
    if (!fields || looksLikeRtcp(buf)) {
      this.counters.malformed++;
      return;
    }
    if (fields.ssrc !== this.ssrc || !this.acceptRtpFrom(from)) {
      this.counters.spoofed++;
      return;
    }
    this.reception.onPacket(fields.sequence, fields.timestamp, buf.length);
    this.emit('rtp', buf, fields);
  }

  private acceptRtpFrom(from: RemoteInfo): boolean {
    if (this.rtpPort === undefined) {
      if (this.peer.address !== undefined && this.peer.address !== from.address) return false;
      this.peer.address = from.address;
      this.rtpPort = from.port;
      this.emit('first-packet', from.address, from.port);
      return true;
    }
    return from.address === this.peer.address && from.port === this.rtpPort;
  }

  private onRtcp(buf: Buffer, from: RemoteInfo): void {
    if (from.address !== this.peer.address || (this.rtcpPort !== undefined && from.port !== this.rtcpPort)) {
      this.counters.spoofed++;
      return;
    }
    let packets;
    try {
      packets = RtcpPacketConverter.deSerialize(buf);
    } catch {
      this.counters.malformed++; // counted, shown in stats: a camera sending garbage is visible
      return;
    }
    const sr = packets.find((p): p is RtcpSrPacket => p instanceof RtcpSrPacket && p.ssrc === this.ssrc);
    if (!sr) {
      if (this.rtcpPort === undefined) this.counters.spoofed++;
      return;
    }
    this.rtcpPort ??= from.port;
    this.reception.onSenderReport(sr.senderInfo.ntpTimestamp);
  }
}
