/**
 * Whole pictures for tests that store or send one (uploads/picture.ts refuses a few magic bytes):
 * the simulator's 160×90 JPEG, a 1×1 PNG, and damaged or oversized ones made from them.
 */
import { PLAIN_JPEG } from '../../cli/commands/simulator-uploads';

export const JPEG = PLAIN_JPEG;

export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** The PNG declaring `width` × `height` pixels in its header (a decompression bomb when large): the rest unchanged. */
export function pngClaiming(width: number, height: number): Buffer {
  const b = Buffer.from(PNG);
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b;
}

/** The JPEG with one byte of its own in its comment-free header area, so two pictures differ. */
export function jpegNumbered(n: number): Buffer {
  const b = Buffer.from(JPEG);
  // A JFIF APP0 segment's density field: changes no pixel.
  b.writeUInt16BE(1 + (n % 60000), 14);
  return b;
}
