/**
 * VBC01 uploads in the real shapes (vbc01-protocol.md §3.3-3.4): the presign
 * step, the PUT with x-amz-meta-* headers, and recording parts holding
 * `aes.key` and AES-128-CBC (IV 0) encrypted `720p/N.ts` segments.
 */
import { createCipheriv } from 'node:crypto';
import { rawZip, type RawEntry } from './zip';

/** Encrypts a segment as cameras do (HLS AES-128: CBC, PKCS#7, IV all zeros). */
export function encryptSegment(plain: Buffer, key: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-cbc', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(plain), cipher.final()]);
}

/** A recording part: `/aes.key` and the segments `{resolution}/{index}.ts`, encrypted (names with the leading `/` cameras use). */
export function recordingPart(key: Buffer, segments: Array<{ index: number; data: Buffer }>, resolution = '720p'): Buffer {
  const entries: RawEntry[] = [{ name: '/aes.key', data: key }];
  for (const s of segments) entries.push({ name: `/${resolution}/${s.index}.ts`, data: encryptSegment(s.data, key) });
  return rawZip(entries);
}

/** Something that starts like MPEG-TS (a sync byte every 188 bytes), numbered so tests can tell segments apart. */
export function fakeTs(n: number, packets = 4): Buffer {
  const buf = Buffer.alloc(188 * packets, n & 0xff);
  for (let i = 0; i < packets; i++) buf[i * 188] = 0x47;
  return buf;
}

export interface PresignRequest {
  fileName: string;
  category: string;
  cameraId: string;
}

/** Step 1: `POST /fileservice/presignedUploadUrl`. */
export function presign(gateway: string, r: PresignRequest, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway}/fileservice/presignedUploadUrl`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ fileName: r.fileName, category: r.category, metadata: { 'x-amz-meta-sourceId': r.cameraId } }),
  });
}

/** Step 2: `PUT {url}` with the ZIP and the camera's metadata headers. */
export function putUpload(
  url: string,
  zip: Buffer,
  meta: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<Response> {
  const amz = Object.fromEntries(Object.entries(meta).map(([k, v]) => [`x-amz-meta-${k}`, v]));
  return fetch(url, { method: 'PUT', headers: { 'content-type': 'application/zip', ...amz, ...headers }, body: new Uint8Array(zip) });
}

/** Both steps, as a camera does them; resolves with the PUT's answer. */
export async function uploadLikeCamera(
  gateway: string,
  r: PresignRequest & { zip: Buffer; meta?: Record<string, string> },
): Promise<Response> {
  const res = await presign(gateway, r);
  if (!res.ok) return res;
  const { url } = (await res.json()) as { url: string };
  return putUpload(url, r.zip, { sourceId: r.cameraId, ...r.meta });
}
