/**
 * JPEG in and out for the detector, in plain JavaScript (jpeg-js): no native
 * module to build on a Pi, and frames are small (the analyser's 640-pixel JPEGs),
 * so decoding costs about 10 ms here.
 */
import { decode, encode } from 'jpeg-js';
import type { PercentBox } from './types';

export interface RgbImage {
  width: number;
  height: number;
  /** 3 bytes a pixel, row by row */
  data: Uint8Array;
}

/** Refuses pictures larger than this, so a hostile or broken JPEG cannot take the Pi's memory. */
const MAX_MEGAPIXELS = 12;

export class BadPicture extends Error {}

export function decodeJpeg(jpeg: Buffer): RgbImage {
  if (!Buffer.isBuffer(jpeg) || jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8)
    throw new BadPicture('not a JPEG picture (it must start with FF D8)');
  try {
    const img = decode(jpeg, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 256 });
    return { width: img.width, height: img.height, data: img.data };
  } catch (err) {
    throw new BadPicture(`the JPEG could not be decoded: ${(err as Error).message}`);
  }
}

/** A copy of the picture as JPEG with the box drawn on it: a 3-pixel (at 640 px width) green frame. */
export function drawBox(jpeg: Buffer, box: PercentBox): Buffer {
  const img = decodeJpeg(jpeg);
  const { width: w, height: h, data } = img;
  const rgba = Buffer.alloc(w * h * 4);
  for (let i = 0, j = 0; i < w * h; i++, j += 4) {
    rgba[j] = data[i * 3]!;
    rgba[j + 1] = data[i * 3 + 1]!;
    rgba[j + 2] = data[i * 3 + 2]!;
    rgba[j + 3] = 255;
  }
  const px = (p: number, of: number): number => Math.min(of - 1, Math.max(0, Math.round((p / 100) * of)));
  const [x0, y0, x1, y1] = [px(box.x, w), px(box.y, h), px(box.x + box.w, w), px(box.y + box.h, h)];
  const t = Math.max(2, Math.round(w / 200));
  const paint = (x: number, y: number): void => {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    const j = (y * w + x) * 4;
    [rgba[j], rgba[j + 1], rgba[j + 2]] = [0, 230, 64];
  };
  for (let k = 0; k < t; k++) {
    for (let x = x0; x <= x1; x++) [paint(x, y0 + k), paint(x, y1 - k)];
    for (let y = y0; y <= y1; y++) [paint(x0 + k, y), paint(x1 - k, y)];
  }
  return encode({ width: w, height: h, data: rgba }, 85).data;
}
