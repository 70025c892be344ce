/**
 * What a file from a device really is, told by its first bytes, never by its
 * name. ffmpeg guesses a format from content too, and some of the formats it
 * guesses (an HLS playlist, a concat list) name other files it then reads: a
 * "recording" that is a playlist naming /etc/passwd or another camera's upload
 * would be copied into the served playlist (issue 13, item 2). So nothing from a
 * device reaches ffmpeg, or a browser, before it was recognised here as one of
 * the few formats we expect; ffmpeg is then told that format (`-f`).
 */
import { open } from 'node:fs/promises';

/** Formats a recording may have: what cameras and our own Pi record. */
export type VideoFormat = 'mp4' | 'mpegts' | 'matroska' | 'webm' | 'h264';
export type ImageFormat = 'jpeg' | 'png';

export interface VideoType {
  format: VideoFormat;
  /** ffmpeg's demuxer for it (`-f`) */
  demuxer: string;
  contentType: string;
}

export interface ImageType {
  format: ImageFormat;
  contentType: string;
}

const VIDEO: Record<VideoFormat, VideoType> = {
  mp4: { format: 'mp4', demuxer: 'mov', contentType: 'video/mp4' },
  mpegts: { format: 'mpegts', demuxer: 'mpegts', contentType: 'video/mp2t' },
  matroska: { format: 'matroska', demuxer: 'matroska', contentType: 'video/x-matroska' },
  webm: { format: 'webm', demuxer: 'matroska', contentType: 'video/webm' },
  h264: { format: 'h264', demuxer: 'h264', contentType: 'video/h264' },
};

/** Bytes read to decide: enough for an MP4's ftyp box, three TS packets and a Matroska header. */
export const HEAD_BYTES = 4096;

export const EXPECTED_VIDEO = 'MP4, MPEG-TS, Matroska/WebM or raw H.264';
export const EXPECTED_IMAGE = 'JPEG or PNG';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const EBML_MAGIC = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);
const TS_PACKET = 188;

function isMpegTs(head: Buffer): boolean {
  // Every 188-byte packet starts with the sync byte 0x47; three in a row rule out chance.
  const packets = Math.min(3, Math.floor(head.length / TS_PACKET));
  if (packets === 0) return false;
  for (let i = 0; i < packets; i++) if (head[i * TS_PACKET] !== 0x47) return false;
  return true;
}

/** An Annex-B start code followed by a NAL unit a stream begins with: AUD (9), SPS (7), SEI (6) or IDR (5). */
function isAnnexBH264(head: Buffer): boolean {
  const at = head.subarray(0, 4).equals(Buffer.from([0, 0, 0, 1])) ? 4 : head.subarray(0, 3).equals(Buffer.from([0, 0, 1])) ? 3 : -1;
  if (at < 0 || head.length <= at) return false;
  const nal = head[at]!;
  return (nal & 0x80) === 0 && [5, 6, 7, 9].includes(nal & 0x1f);
}

/** The video format of a file's first bytes, or undefined for anything else. */
export function videoType(head: Buffer): VideoType | undefined {
  if (head.length >= 12 && head.toString('latin1', 4, 8) === 'ftyp') return VIDEO.mp4;
  if (head.subarray(0, 4).equals(EBML_MAGIC)) return head.includes('webm', 0, 'latin1') ? VIDEO.webm : VIDEO.matroska;
  if (isMpegTs(head)) return VIDEO.mpegts;
  if (isAnnexBH264(head)) return VIDEO.h264;
  return undefined;
}

export function imageType(head: Buffer): ImageType | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return { format: 'jpeg', contentType: 'image/jpeg' };
  if (head.subarray(0, 8).equals(PNG_SIGNATURE)) return { format: 'png', contentType: 'image/png' };
  return undefined;
}

/** A few words on what unexpected bytes look like, for the refusal message. */
export function describeContent(head: Buffer): string {
  if (head.length === 0) return 'an empty file';
  const text = head.toString('latin1', 0, 64).trimStart();
  if (text.startsWith('#EXTM3U')) return 'an HLS playlist';
  if (/^ffconcat/i.test(text)) return 'an ffmpeg concat list';
  if (/^<(!doctype|html|svg|\?xml)/i.test(text)) return 'HTML/XML';
  if (text.startsWith('PK\u0003\u0004')) return 'a ZIP archive';
  if (imageType(head)) return `a ${imageType(head)!.format.toUpperCase()} image`;
  if (videoType(head)) return `a ${videoType(head)!.format} video`;
  if (/^[\t\n\r\u0020-\u007e]*$/.test(head.toString('latin1', 0, 512))) return 'text';
  return 'data of an unknown format';
}

/** A device's file that is not what it must be; the message says what it is instead. */
export class UnexpectedMediaError extends Error {
  override readonly name = 'UnexpectedMediaError';
}

export async function readHead(path: string, bytes = HEAD_BYTES): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await file.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

export function requireVideo(head: Buffer, label: string): VideoType {
  const type = videoType(head);
  if (!type) throw new UnexpectedMediaError(`${label} is ${describeContent(head)}, not a video (${EXPECTED_VIDEO} expected)`);
  return type;
}

export function requireImage(head: Buffer, label: string): ImageType {
  const type = imageType(head);
  if (!type) throw new UnexpectedMediaError(`${label} is ${describeContent(head)}, not an image (${EXPECTED_IMAGE} expected)`);
  return type;
}
