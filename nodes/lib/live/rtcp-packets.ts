/**
 * The RTCP the bridge sends to a camera, built with werift's packet classes:
 * receiver reports (RFC 3550 §6.4.2) with our CNAME (§6.5.1: every compound
 * packet carries one), REMB (draft-alvestrand-rmcat-remb, the `goog-remb` a
 * VBC01 offers), and the keyframe requests and NACKs viewers ask for
 * (RFC 4585 §6.2.1, §6.3.1; RFC 5104 §4.3.1).
 */
import {
  GenericNack,
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSourceDescriptionPacket,
  RtcpTransportLayerFeedback,
  SourceDescriptionChunk,
  SourceDescriptionItem,
} from 'werift';

const SDES_CNAME = 1;
const REMB_MANTISSA_BITS = 18;

export type ReceptionReport = ConstructorParameters<typeof RtcpReceiverInfo>[0] & { ssrc: number };

/** RR + SDES(CNAME): what the camera must see about once a second or it stops (reference §7: ~30 s). */
export function receiverReport(senderSsrc: number, cname: string, reports: ReceptionReport[]): Buffer {
  const rr = new RtcpRrPacket({ ssrc: senderSsrc, reports: reports.map((r) => new RtcpReceiverInfo(r)) });
  const sdes = new RtcpSourceDescriptionPacket({
    chunks: [new SourceDescriptionChunk({ source: senderSsrc, items: [new SourceDescriptionItem({ type: SDES_CNAME, text: cname })] })],
  });
  return Buffer.concat([rr.serialize(), sdes.serialize()]);
}

/** REMB: the bitrate the camera may send, for all of `mediaSsrcs` together. */
export function remb(senderSsrc: number, bps: number, mediaSsrcs: number[]): Buffer {
  const { exp, mantissa } = rembExpMantissa(bps);
  const feedback = new ReceiverEstimatedMaxBitrate({
    senderSsrc,
    mediaSsrc: 0, // the draft: always 0, the SSRCs follow
    ssrcNum: mediaSsrcs.length,
    brExp: exp,
    brMantissa: mantissa,
    bitrate: BigInt(mantissa) << BigInt(exp),
    ssrcFeedbacks: mediaSsrcs,
  });
  return new RtcpPayloadSpecificFeedback({ feedback }).serialize();
}

/** bps as mantissa (18 bits) × 2^exp (6 bits), rounded down so the camera never gets more than we meant. */
export function rembExpMantissa(bps: number): { exp: number; mantissa: number } {
  let mantissa = Math.max(0, Math.floor(bps));
  let exp = 0;
  while (mantissa >= 2 ** REMB_MANTISSA_BITS) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  return { exp, mantissa };
}

export function pli(senderSsrc: number, mediaSsrc: number): Buffer {
  return new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc, mediaSsrc }) }).serialize();
}

export const PSFB_PLI = 1;
export const PSFB_FIR = 4;

/**
 * FIR (RFC 5104 §4.3.1): one FCI entry with the command sequence number the
 * camera uses to drop repeats. Written by hand: werift 0.24 does not export
 * its FullIntraRequest class.
 */
export function fir(senderSsrc: number, mediaSsrc: number, sequenceNumber: number): Buffer {
  const buf = Buffer.alloc(20);
  buf[0] = 0x80 | PSFB_FIR; // V=2, FMT=4
  buf[1] = RtcpPayloadSpecificFeedback.type;
  buf.writeUInt16BE(buf.length / 4 - 1, 2);
  buf.writeUInt32BE(senderSsrc >>> 0, 4);
  buf.writeUInt32BE(0, 8); // media source: unused in FIR
  buf.writeUInt32BE(mediaSsrc >>> 0, 12);
  buf[16] = sequenceNumber & 0xff;
  return buf;
}

export function nack(senderSsrc: number, mediaSsrc: number, lost: number[]): Buffer {
  const feedback = new GenericNack({ senderSsrc, mediaSourceSsrc: mediaSsrc, lost: [...lost].sort((a, b) => a - b) });
  return new RtcpTransportLayerFeedback({ feedback }).serialize();
}
