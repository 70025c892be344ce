/**
 * Splits the byte stream of `ffmpeg -f image2pipe -c:v mjpeg` into JPEG files.
 *
 * A pipe hands us chunks that do not respect frame boundaries, so the splitter keeps
 * the bytes of the frame being read and walks its marker segments (ITU-T T.81 §B.1):
 * SOI (FF D8), then segments `FF xx <length:2> <length-2 bytes>` until SOS (FF DA),
 * whose entropy-coded data ends at the first marker that is not a stuffed byte
 * (FF 00, §B.1.1.5), a restart marker (FF D0–D7) or fill (FF FF). Skipping segments
 * by their length matters: an APP1 (EXIF) segment may hold a whole thumbnail JPEG,
 * whose own FF D9 would otherwise end the frame early. ffmpeg's encoder writes no
 * thumbnail, but cameras and other encoders do.
 *
 * Whatever is not a frame (bytes before an SOI, a frame cut short by a new SOI, a
 * segment that is not one) is skipped and reported through `onSkip`; a frame that
 * grows past `maxFrameBytes` is dropped, so a stream that never ends a frame cannot
 * grow the buffer without limit.
 */

export interface JpegSplitterOptions {
  /** the largest frame kept, in bytes; a frame that grows past it is dropped (default 8 MiB) */
  maxFrameBytes?: number;
  /** told of bytes that were not part of a complete frame, and why */
  onSkip?: (bytes: number, reason: string) => void;
}

export interface JpegSplitterStats {
  /** complete frames returned */
  frames: number;
  /** bytes skipped: garbage, cut-short and oversized frames */
  skippedBytes: number;
  /** frames dropped because they grew past maxFrameBytes */
  oversized: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

const SOI = Buffer.from([0xff, 0xd8]);
/** Input is taken in slices of this size, so the buffer stays within maxFrameBytes + SLICE. */
const SLICE = 64 * 1024;

type Mode = 'seek' | 'segments' | 'entropy';

export class JpegSplitter {
  readonly stats: JpegSplitterStats = { frames: 0, skippedBytes: 0, oversized: 0 };
  private readonly maxFrameBytes: number;
  private readonly onSkip?: (bytes: number, reason: string) => void;
  private buf = Buffer.alloc(SLICE);
  /** bytes held in buf */
  private len = 0;
  /** where the current frame (or, when seeking, the garbage) begins */
  private start = 0;
  /** how far the current frame has been read */
  private pos = 0;
  private mode: Mode = 'seek';
  /** why the bytes from start are skipped, when seeking */
  private skipReason = 'bytes before the first frame';

  constructor(opts: JpegSplitterOptions = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!(this.maxFrameBytes >= 4)) throw new RangeError('maxFrameBytes must be at least 4');
    this.onSkip = opts.onSkip;
  }

  /** Takes the next chunk of the stream; returns the frames it completed, in order. */
  push(chunk: Uint8Array): Buffer[] {
    const frames: Buffer[] = [];
    for (let off = 0; off < chunk.length; off += SLICE) {
      this.append(chunk.subarray(off, off + SLICE));
      this.parse(frames);
      if (this.mode !== 'seek' && this.len - this.start > this.maxFrameBytes) {
        this.stats.oversized++;
        this.skip(this.len - this.start, `frame larger than ${this.maxFrameBytes} bytes`);
        this.start = this.pos = this.len;
        this.mode = 'seek';
        this.skipReason = 'bytes after an oversized frame';
      }
      this.compact();
    }
    return frames;
  }

  /** Bytes held for an unfinished frame. */
  get buffered(): number {
    return this.len - this.start;
  }

  /** Forgets an unfinished frame (the stream ended or restarts); reports it as skipped. */
  reset(): void {
    if (this.mode !== 'seek') this.skip(this.len - this.start, 'unfinished frame at the end of the stream');
    this.len = this.start = this.pos = 0;
    this.mode = 'seek';
    this.skipReason = 'bytes before the first frame';
    if (this.buf.length > SLICE) this.buf = Buffer.alloc(SLICE);
  }

  private append(bytes: Uint8Array): void {
    if (this.len + bytes.length > this.buf.length) {
      const grown = Buffer.alloc(Math.max(this.buf.length * 2, this.len + bytes.length));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** Drops the bytes before `start`, so the buffer holds only the current frame. */
  private compact(): void {
    if (this.start === 0) return;
    this.buf.copyWithin(0, this.start, this.len);
    this.len -= this.start;
    this.pos -= this.start;
    this.start = 0;
  }

  private skip(bytes: number, reason: string): void {
    if (bytes <= 0) return;
    this.stats.skippedBytes += bytes;
    this.onSkip?.(bytes, reason);
  }

  /** Reads as far as the buffered bytes allow, pushing each completed frame. */
  private parse(frames: Buffer[]): void {
    const b = this.buf.subarray(0, this.len);
    for (;;) {
      if (this.mode === 'seek') {
        const at = b.indexOf(SOI, this.pos);
        if (at < 0) {
          // Keep a trailing FF: it may be the first half of the next SOI.
          const keep = this.len > this.start && b[this.len - 1] === 0xff ? 1 : 0;
          this.skip(this.len - keep - this.start, this.skipReason);
          this.start = this.pos = this.len - keep;
          return;
        }
        this.skip(at - this.start, this.skipReason);
        this.begin(at);
        continue;
      }
      if (this.mode === 'entropy') {
        const ff = b.indexOf(0xff, this.pos);
        if (ff < 0 || ff + 1 >= this.len) {
          this.pos = ff < 0 ? this.len : ff;
          return;
        }
        const m = b[ff + 1]!;
        if (m === 0x00 || (m >= 0xd0 && m <= 0xd7))
          this.pos = ff + 2; // stuffed byte, restart marker
        else if (m === 0xff)
          this.pos = ff + 1; // fill before a marker
        else {
          this.pos = ff; // EOI, or a segment between scans (progressive, DHT, DNL)
          this.mode = 'segments';
        }
        continue;
      }
      // segments: pos is at the next marker
      if (this.pos + 2 > this.len) return;
      if (b[this.pos] !== 0xff) {
        this.corrupt('a segment does not start with a marker');
        continue;
      }
      const m = b[this.pos + 1]!;
      if (m === 0xff) {
        this.pos++; // fill bytes (§B.1.1.2)
      } else if (m === 0xd9) {
        const end = this.pos + 2;
        frames.push(Buffer.from(b.subarray(this.start, end)));
        this.stats.frames++;
        this.start = this.pos = end;
        this.mode = 'seek';
        this.skipReason = 'bytes between frames';
      } else if (m === 0xd8) {
        this.skip(this.pos - this.start, 'frame cut short by the next one');
        this.begin(this.pos);
      } else if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
        this.pos += 2; // TEM and RSTn stand alone, without a length
      } else {
        if (this.pos + 4 > this.len) return;
        const length = b.readUInt16BE(this.pos + 2);
        if (length < 2) {
          this.corrupt(`marker FF ${m.toString(16).toUpperCase()} has length ${length}`);
          continue;
        }
        if (this.pos + 2 + length > this.len) return;
        this.pos += 2 + length;
        if (m === 0xda) this.mode = 'entropy'; // SOS: the scan's data follows its header
      }
    }
  }

  private begin(at: number): void {
    this.start = at;
    this.pos = at + 2;
    this.mode = 'segments';
  }

  /**
   * The frame is not a JPEG after all (an FF D8 in garbage, say): look for the next
   * SOI just after this one, since a segment length read from garbage may have
   * jumped over the start of a real frame.
   */
  private corrupt(why: string): void {
    this.pos = this.start + 2;
    this.mode = 'seek';
    this.skipReason = `not a JPEG: ${why}`;
  }
}
