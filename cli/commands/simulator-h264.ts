/**
 * H.264 for the simulated VBC01 streamer: an Annex-B splitter that turns
 * ffmpeg's raw `-f h264` output into access units (one picture's NAL units),
 * and an RFC 6184 packetizer (packetization-mode 1: single NAL unit packets and
 * FU-A fragments) that turns an access unit into RTP payloads no larger than the
 * MTU. The RTP header itself is written by the streamer.
 */

/** NAL unit types the streamer cares about (ITU-T H.264 table 7-1). */
export const NAL = { nonIdr: 1, idr: 5, sei: 6, sps: 7, pps: 8, aud: 9, fuA: 28 } as const;

export const nalType = (nal: Uint8Array): number => nal[0]! & 0x1f;

/** One picture: its NAL units without start codes, in stream order. */
export interface AccessUnit {
  nals: Buffer[];
  /** whether it holds an IDR slice (a point a decoder can start from) */
  keyframe: boolean;
}

const isVcl = (type: number) => type >= 1 && type <= 5;

/**
 * Splits an Annex-B byte stream fed in arbitrary chunks into access units.
 *
 * A NAL unit ends where the next start code begins, so the last NAL of a
 * picture is known complete only once the next picture's first bytes arrive:
 * each access unit is handed out one picture late (40 ms at 25 fps). A new
 * picture starts at a slice whose first_mb_in_slice is 0 (x264's zerolatency
 * tuning cuts a picture into several slices) or at an AUD/SPS/PPS/SEI after a
 * slice.
 */
export class AnnexBSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private current: Buffer[] = [];
  private currentHasSlice = false;

  constructor(private readonly onAccessUnit: (au: AccessUnit) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let start = findStartCode(this.pending, 0);
    if (start < 0) return;
    for (;;) {
      const bodyAt = start + startCodeLength(this.pending, start);
      const next = findStartCode(this.pending, bodyAt);
      if (next < 0) break;
      this.addNal(trimTrailingZeros(this.pending.subarray(bodyAt, next)));
      start = next;
    }
    // Keep the unfinished NAL (with its start code) for the next chunk; copy so the
    // big chunk it came from can be freed.
    this.pending = Buffer.from(this.pending.subarray(start));
  }

  /** The stream ended: what is left is the last NAL of the last picture. */
  end(): void {
    const start = findStartCode(this.pending, 0);
    if (start >= 0) this.addNal(this.pending.subarray(start + startCodeLength(this.pending, start)));
    this.pending = Buffer.alloc(0);
    this.flush();
  }

  private addNal(nal: Buffer): void {
    if (nal.length === 0) return;
    const type = nalType(nal);
    const firstSliceOfPicture = isVcl(type) && nal.length > 1 && (nal[1]! & 0x80) !== 0; // ue(v) first_mb_in_slice == 0
    const headerAfterSlice = !isVcl(type) && [NAL.aud, NAL.sps, NAL.pps, NAL.sei].includes(type as 9);
    if (this.currentHasSlice && (firstSliceOfPicture || headerAfterSlice)) this.flush();
    this.current.push(nal);
    if (isVcl(type)) this.currentHasSlice = true;
  }

  private flush(): void {
    if (!this.currentHasSlice) return;
    const nals = this.current;
    this.current = [];
    this.currentHasSlice = false;
    this.onAccessUnit({ nals, keyframe: nals.some((n) => nalType(n) === NAL.idr) });
  }
}

/** Index of the next `00 00 01` (or `00 00 00 01`, returned at its first zero) at or after `from`; -1 if none. */
function findStartCode(buf: Buffer, from: number): number {
  for (let i = buf.indexOf(1, from + 2); i >= 0 && i < buf.length; i = buf.indexOf(1, i + 1)) {
    if (i >= 2 && buf[i - 1] === 0 && buf[i - 2] === 0) return i >= 3 && buf[i - 3] === 0 && i - 3 >= from ? i - 3 : i - 2;
  }
  return -1;
}

const startCodeLength = (buf: Buffer, at: number) => (buf[at + 2] === 1 ? 3 : 4);

/** Zero bytes before a 4-byte start code belong to no NAL (trailing_zero_8bits). */
function trimTrailingZeros(nal: Buffer): Buffer {
  let end = nal.length;
  while (end > 1 && nal[end - 1] === 0) end--;
  return nal.subarray(0, end);
}

/**
 * RTP payloads for one access unit (RFC 6184 §5.6 single NAL unit, §5.8 FU-A),
 * each at most `maxPayload` bytes; the caller sets the marker bit on the last.
 */
export function packetizeAccessUnit(au: AccessUnit, maxPayload: number): Buffer[] {
  if (maxPayload < 3) throw new Error(`an RTP payload of ${maxPayload} bytes cannot carry a FU-A fragment`);
  return au.nals.flatMap((nal) => (nal.length <= maxPayload ? [nal] : fragment(nal, maxPayload)));
}

function fragment(nal: Buffer, maxPayload: number): Buffer[] {
  const indicator = (nal[0]! & 0xe0) | NAL.fuA; // F and NRI of the NAL, type 28
  const type = nalType(nal);
  const chunk = maxPayload - 2;
  const out: Buffer[] = [];
  for (let at = 1; at < nal.length; at += chunk) {
    const end = Math.min(at + chunk, nal.length);
    const header = (at === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type; // S, E, type
    out.push(Buffer.concat([Buffer.from([indicator, header]), nal.subarray(at, end)]));
  }
  return out;
}

/**
 * The NAL units in RTP payloads (single NAL or FU-A; STAP-A is not sent by the
 * simulator and not read here): the receiving side, for tests and diagnostics.
 */
export class FuAReassembler {
  private parts: Buffer[] | undefined;

  /** The NAL unit completed by this payload, if any. */
  push(payload: Buffer): Buffer | undefined {
    const type = nalType(payload);
    if (type !== NAL.fuA) return payload;
    const header = payload[1]!;
    if (header & 0x80) this.parts = [Buffer.from([(payload[0]! & 0xe0) | (header & 0x1f)])];
    if (!this.parts) return undefined; // a fragment whose start was lost
    this.parts.push(payload.subarray(2));
    if (!(header & 0x40)) return undefined;
    const nal = Buffer.concat(this.parts);
    this.parts = undefined;
    return nal;
  }
}
