/**
 * A picture as a browser and the alert channels take it: a whole JPEG or PNG of a size a photo has.
 * Its first bytes say the format (media-type.ts); this reads the header for the width and height
 * and checks that the file ends as its format ends. A few magic bytes before a page, an upload cut
 * short, or a small file declaring 50,000 × 50,000 pixels (a decompression bomb for every viewer)
 * is refused where it comes in, not found out later by Telegram's sendPhoto or a browser.
 */
import { imageType, requireImage, UnexpectedMediaError, type ImageType } from './media-type';

/** The largest picture kept or sent (Telegram takes photos up to 10 MB). */
export const MAX_PICTURE_BYTES = 10 * 1024 * 1024;
/** Telegram's sendPhoto: width + height at most 10,000, neither side over 20 times the other. */
const MAX_SIDES = 10_000;
const MAX_RATIO = 20;

export interface Picture extends ImageType {
  width: number;
  height: number;
}

type Size = Pick<Picture, 'width' | 'height'>;

/** The picture's format and size, or what is wrong with it (a phrase: "a JPEG cut short"). */
export function readPicture(bytes: Buffer): Picture | string {
  const type = imageType(bytes);
  if (!type) return 'not a JPEG or PNG';
  if (bytes.length > MAX_PICTURE_BYTES) return `a picture of ${bytes.length} bytes, over the ${MAX_PICTURE_BYTES}-byte limit`;
  const size = type.format === 'jpeg' ? jpegSize(bytes) : pngSize(bytes);
  if (typeof size === 'string') return size;
  const { width, height } = size;
  const shape = `${width} × ${height} pixels`;
  if (width < 1 || height < 1) return `a ${type.format.toUpperCase()} of ${shape}`;
  if (width + height > MAX_SIDES) return `a ${type.format.toUpperCase()} of ${shape}, more than a photo (width + height over ${MAX_SIDES})`;
  if (Math.max(width, height) > MAX_RATIO * Math.min(width, height))
    return `a ${type.format.toUpperCase()} of ${shape}, one side over ${MAX_RATIO} times the other`;
  return { ...type, width, height };
}

/** Start-of-frame markers (baseline, progressive, lossless, arithmetic): the frame header holds the size. */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
const SOS = 0xda;
const EOI = Buffer.from([0xff, 0xd9]);

/** Walks the JPEG's segments to its first scan: the frame header's size, and an end marker after the scan. */
function jpegSize(b: Buffer): Size | string {
  let size: Size | undefined;
  let at = 2; // after SOI
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return 'a damaged JPEG (its segments do not follow each other)';
    const marker = b[at + 1]!;
    // A fill byte, or a marker without a length (RSTn, TEM).
    if (marker === 0xff || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += marker === 0xff ? 1 : 2;
      continue;
    }
    const length = b.readUInt16BE(at + 2);
    if (length < 2 || at + 2 + length > b.length) return 'a JPEG cut short';
    if (SOF.has(marker) && length >= 7) size = { height: b.readUInt16BE(at + 5), width: b.readUInt16BE(at + 7) };
    if (marker === SOS) {
      if (!size) return 'a JPEG without a frame header (no size)';
      return b.indexOf(EOI, at + 2 + length) >= 0 ? size : 'a JPEG cut short (no end marker)';
    }
    at += 2 + length;
  }
  return 'a JPEG cut short';
}

const IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/** The PNG's header (its first chunk) and its end chunk. */
function pngSize(b: Buffer): Size | string {
  if (b.length < 33 || b.readUInt32BE(8) !== 13 || b.toString('latin1', 12, 16) !== 'IHDR') return 'a PNG without its header';
  if (b.indexOf(IEND, 33) < 0) return 'a PNG cut short (no end chunk)';
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** The picture, or an UnexpectedMediaError naming `label` and what is wrong (what the bytes are, when no picture). */
export function requirePicture(bytes: Buffer, label: string): Picture {
  requireImage(bytes, label);
  const picture = readPicture(bytes);
  if (typeof picture === 'string') throw new UnexpectedMediaError(`${label} is ${picture}: not a picture to keep or send`);
  return picture;
}
