/**
 * The few RTP fields the bridge reads on every packet (RFC 3550 §5.1), read
 * in place without building objects: the receive path runs for every packet
 * of every camera. And the H.264 test that says where a viewer may start.
 */

export interface RtpFields {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** offset of the payload (after CSRCs and the header extension) */
  payloadOffset: number;
}

/** The header fields, or undefined for something that is not RTP version 2. */
export function readRtp(buf: Buffer): RtpFields | undefined {
  if (buf.length < 12 || buf[0]! >> 6 !== 2) return undefined;
  const csrcCount = buf[0]! & 0x0f;
  let offset = 12 + csrcCount * 4;
  if (buf[0]! & 0x10) {
    if (buf.length < offset + 4) return undefined;
    offset += 4 + buf.readUInt16BE(offset + 2) * 4;
  }
  if (offset > buf.length) return undefined;
  return {
    payloadType: buf[1]! & 0x7f,
    sequence: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payloadOffset: offset,
  };
}

/** RTCP packet types 200–206 share the port when muxed; here only to tell them apart from RTP (RFC 5761 §4). */
export function looksLikeRtcp(buf: Buffer): boolean {
  return buf.length >= 8 && buf[0]! >> 6 === 2 && buf[1]! >= 200 && buf[1]! <= 206;
}

const NAL_IDR = 5;
const NAL_SPS = 7;
const STAP_A = 24;
const FU_A = 28;

/**
 * Whether this H.264 RTP payload (RFC 6184) begins a keyframe: an SPS (the
 * encoder sends SPS, PPS, IDR in that order), an aggregate whose first unit
 * is an SPS or IDR, or the first fragment of an IDR. A viewer starts here so
 * its decoder never sees a P-frame without its reference.
 */
export function startsH264Keyframe(payload: Buffer): boolean {
  if (payload.length < 2) return false;
  const type = payload[0]! & 0x1f;
  if (type === NAL_SPS || type === NAL_IDR) return true;
  if (type === STAP_A && payload.length >= 4) {
    const first = payload[3]! & 0x1f;
    return first === NAL_SPS || first === NAL_IDR;
  }
  if (type === FU_A) return (payload[1]! & 0x80) !== 0 && (payload[1]! & 0x1f) === NAL_IDR;
  return false;
}
