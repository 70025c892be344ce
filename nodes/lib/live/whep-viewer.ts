/**
 * One browser watching a live stream over WHEP (RFC 9725): werift's
 * RTCPeerConnection answers the browser's offer (non-trickle: the answer
 * carries all our host candidates), and the camera's H.264 RTP is forwarded
 * as it is, never re-encoded (werift only rewrites SSRC, payload type and
 * adds SRTP).
 *
 * Each viewer starts at a keyframe: video is held until the viewer's DTLS is
 * up AND a packet that starts an SPS/IDR arrives, so the decoder never gets
 * a P-frame without its reference. The viewer's keyframe requests (PLI, FIR)
 * and NACKs come out as events for the stream to pass to the camera; its
 * REMB is ignored on purpose (see remb-controller.ts).
 */
import { EventEmitter } from 'node:events';
import {
  GenericNack,
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
  RtpPacket,
  type RtcpPacket,
  type RTCRtpTransceiver,
} from 'werift';
import { randomUUID } from 'node:crypto';
import { addPublicCandidates, isLocalAddress } from './ice-address';
import { PSFB_FIR, PSFB_PLI } from './rtcp-packets';
import { startsH264Keyframe, type RtpFields } from './rtp-header';
import { guardUdpBinds, ViewerPortError } from './udp-bind-guard';

guardUdpBinds();

export type AudioCodec = 'opus' | 'pcmu';

export interface WhepViewerOptions {
  /** Public address browsers reach us on (added to the host candidates; see ice-address.ts). */
  iceAddress?: string;
  /** UDP ports werift may use for ICE (to open on a firewall/NAT); default: any. */
  icePortRange?: [number, number];
  /** The camera's audio codec, when the stream has audio. */
  audioCodec?: AudioCodec;
  /** How long ICE gathering may take before the answer goes out with what it has. */
  gatherTimeoutMs?: number;
  /** A viewer not connected this long after its answer, or disconnected this long, is closed (default 20 s). */
  connectTimeoutMs?: number;
}

export interface WhepViewerEvents {
  'keyframe-request': [];
  nack: [lost: number[]];
  /** ICE/DTLS failed or the peer closed: the stream removes the viewer. */
  closed: [];
  error: [err: Error];
}

const H264 = (): RTCRtpCodecParameters =>
  new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90000,
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }],
    parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  });

const AUDIO: Record<AudioCodec, () => RTCRtpCodecParameters> = {
  opus: () => new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 }),
  pcmu: () => new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 }),
};

export class BadOfferError extends Error {
  constructor(reason: string) {
    super(`bad WHEP offer: ${reason}`);
    this.name = 'BadOfferError';
  }
}

export class WhepViewer extends EventEmitter<WhepViewerEvents> {
  readonly id = randomUUID();
  answerSdp = '';
  /** video packets sent to this viewer (after its first keyframe) */
  packetsSent = 0;
  private waitingForKeyframe = true;
  /** the source restarted (a new sequence and clock): continue this viewer's numbering at its next packet */
  private rebase = false;
  private closed = false;
  private video?: RTCRtpTransceiver;
  private audio?: RTCRtpTransceiver;
  private connectTimer?: NodeJS.Timeout;

  private constructor(private readonly pc: RTCPeerConnection) {
    super();
  }

  /** Answers a browser's offer; throws BadOfferError when it cannot receive H.264 video. */
  static async answer(offerSdp: string, opts: WhepViewerOptions): Promise<WhepViewer> {
    if (typeof offerSdp !== 'string' || !offerSdp.startsWith('v=0') || !/^m=video /m.test(offerSdp)) {
      throw new BadOfferError('an SDP offer with a video section is required');
    }
    if (!/a=rtpmap:\d+ H264\/90000/i.test(offerSdp)) throw new BadOfferError('the browser offers no H.264 (the bridge does not re-encode)');
    const pc = new RTCPeerConnection({
      // without audio the browser's audio section must still negotiate (then goes inactive), or werift refuses the whole offer
      codecs: { video: [H264()], audio: opts.audioCodec ? [AUDIO[opts.audioCodec]()] : [AUDIO.opus(), AUDIO.pcmu()] },
      iceServers: [], // host candidates only: no STUN request leaves the server
      iceUseIpv6: false,
      iceAdditionalHostAddresses: opts.iceAddress && isLocalAddress(opts.iceAddress) ? [opts.iceAddress] : undefined,
      icePortRange: opts.icePortRange,
    });
    const viewer = new WhepViewer(pc);
    try {
      await viewer.negotiate(offerSdp, opts);
    } catch (err) {
      await viewer.close();
      if (err instanceof BadOfferError || err instanceof ViewerPortError) throw err;
      throw new BadOfferError((err as Error).message);
    }
    return viewer;
  }

  /** Forwards one camera video packet (held until this viewer's first keyframe). */
  forwardVideo(packet: Buffer, fields: RtpFields): void {
    const sender = this.video?.sender;
    if (this.closed || !sender || sender.dtlsTransport?.state !== 'connected') return;
    if (this.waitingForKeyframe) {
      if (!startsH264Keyframe(packet.subarray(fields.payloadOffset))) return;
      this.waitingForKeyframe = false;
    }
    if (this.rebase) {
      this.rebase = false;
      // werift offsets the new sender's sequence and timestamps to follow what this viewer already got
      // (a marked discontinuity): the browser sees one stream, not a jump it might take for old packets.
      if (this.packetsSent > 0) sender.replaceRTP({ sequenceNumber: fields.sequence, timestamp: fields.timestamp }, true);
    }
    this.packetsSent++;
    this.send(this.video!, packet);
  }

  /**
   * The stream's source was replaced by a new sender (the RTSP copy restarted): this viewer waits
   * for its first keyframe and goes on with its own sequence numbers and timestamps from there.
   */
  sourceRestarted(): void {
    this.rebase = true;
    this.waitingForKeyframe = true;
  }

  forwardAudio(packet: Buffer): void {
    const sender = this.audio?.sender;
    if (this.closed || this.waitingForKeyframe || !sender || sender.dtlsTransport?.state !== 'connected') return;
    this.send(this.audio!, packet);
  }

  get started(): boolean {
    return !this.waitingForKeyframe;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    await this.pc.close();
  }

  private async negotiate(offerSdp: string, opts: WhepViewerOptions): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    for (const t of this.pc.getTransceivers()) {
      if (t.kind === 'video' && !this.video) this.video = t;
      else if (t.kind === 'audio' && !this.audio && opts.audioCodec && t.codecs.length > 0) this.audio = t;
      else t.setDirection('inactive');
    }
    if (!this.video || this.video.codecs.length === 0) throw new BadOfferError('no H.264 the bridge can send');
    preferPacketizationMode1(this.video);
    for (const t of [this.video, this.audio]) {
      if (!t) continue;
      t.setDirection('sendonly');
      // a track makes werift announce an msid, so the browser's ontrack has a stream
      await t.sender.replaceTrack(new MediaStreamTrack({ kind: t.kind }));
    }
    // straight from the transport: werift's router hands a PLI to whichever
    // object owns its *sender* SSRC first, which can be our unused receiver
    this.video.sender.dtlsTransport.onRtcp.subscribe((packet) => this.onViewerRtcp(packet));
    // a browser that took its answer and left never connects, and a closed tab sends no WHEP DELETE:
    // without a deadline either would count as a viewer forever
    const timeoutMs = opts.connectTimeoutMs ?? 20_000;
    this.connectTimer = setTimeout(() => this.emit('closed'), timeoutMs);
    this.pc.connectionStateChange.subscribe((state) => {
      clearTimeout(this.connectTimer);
      if (state === 'new' || state === 'connecting' || state === 'disconnected') {
        this.connectTimer = setTimeout(() => this.emit('closed'), timeoutMs);
      }
      if (state === 'connected') this.emit('keyframe-request');
      if (state === 'failed' || state === 'closed') this.emit('closed');
    });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await this.gathered(opts.gatherTimeoutMs ?? 5000);
    const sdp = this.pc.localDescription?.sdp ?? '';
    this.answerSdp = opts.iceAddress && !isLocalAddress(opts.iceAddress) ? addPublicCandidates(sdp, opts.iceAddress) : sdp;
  }

  private async gathered(timeoutMs: number): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state !== 'complete') return;
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private send(transceiver: RTCRtpTransceiver, packet: Buffer): void {
    // a copy per viewer: werift rewrites the header in place; the camera's
    // header extensions are dropped (their ids mean nothing in this session)
    const rtp = RtpPacket.deSerialize(packet);
    rtp.header.extension = false;
    rtp.header.extensions = [];
    transceiver.sender.sendRtp(rtp).catch((err: Error) => this.emit('error', err));
  }

  private onViewerRtcp(packet: RtcpPacket): void {
    const videoSsrc = this.video?.sender.ssrc;
    if (packet instanceof RtcpPayloadSpecificFeedback) {
      const { feedback } = packet;
      if (feedback.count === PSFB_PLI && feedback.mediaSsrc === videoSsrc) this.emit('keyframe-request');
      if (feedback.count === PSFB_FIR) this.emit('keyframe-request'); // FIR names its target in the FCI; only video asks for keyframes
    } else if (packet instanceof RtcpTransportLayerFeedback && packet.feedback instanceof GenericNack) {
      if (packet.feedback.mediaSourceSsrc === videoSsrc) this.emit('nack', packet.feedback.lost);
    }
  }
}

/** Chromium lists several H.264 variants; werift sends with the first. Mode 1 (FU-A/STAP-A) is what cameras send. */
function preferPacketizationMode1(t: RTCRtpTransceiver): void {
  const mode1 = t.codecs.filter((c) => /packetization-mode=1/.test(c.parameters ?? ''));
  const baseline = mode1.filter((c) => /profile-level-id=42e0/i.test(c.parameters ?? ''));
  const first = baseline[0] ?? mode1[0];
  if (!first) return;
  t.codecs = [first, ...t.codecs.filter((c) => c !== first)];
  t.sender.codec = first;
}
