/**
 * What a simulated VBC01 camera uploads after an activity start, in the real
 * shapes (vbc01-protocol.md §3.3-3.4): a thumbnail ZIP, and a recording in two
 * ZIP parts each holding `aes.key` and AES-128-CBC (IV 0) encrypted `720p/N.ts`
 * segments, both through `POST /fileservice/presignedUploadUrl` then `PUT`.
 *
 * The video comes from ffmpeg's test pattern, made once per simulator. With
 * no ffmpeg only the thumbnail (a fixed small JPEG) is uploaded, and the
 * simulator says so once.
 */
import { execFile } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';

/** A 160×90 green JPEG: the thumbnail when ffmpeg cannot draw one. */
export const PLAIN_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgQEBMQExYWFhYWFhoYGhsbGxoaGhobGxsdHR0iIiIdHR0bGx0dICAiIiUmJSMjIiMmJigoKDAwLi44ODpFRVP/xABNAAEBAAAAAAAAAAAAAAAAAAAABgEBAQEAAAAAAAAAAAAAAAAAAAMFEAEAAAAAAAAAAAAAAAAAAAAAEQEAAAAAAAAAAAAAAAAAAAAA/8AAEQgAWgCgAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8AjwEGIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA//9k=',
  'base64',
);

/** A recording as a camera cuts it: numbered MPEG-TS segments of about 3 s, and a thumbnail. */
export interface TestRecording {
  segments: Buffer[];
  thumbnail: Buffer;
}

/** Runs ffmpeg without blocking (the demo's runtime shares the process); resolves with whether it succeeded. */
function run(ffmpeg: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(ffmpeg, args, { timeout: 60_000 }, (err) => resolve(!err));
  });
}

/** Makes `seconds` of test pattern as 3-second HLS segments with ffmpeg; undefined when ffmpeg cannot. */
export async function makeTestRecording(
  opts: { ffmpeg?: string; seconds?: number; width?: number; height?: number } = {},
): Promise<TestRecording | undefined> {
  const { ffmpeg = 'ffmpeg', seconds = 6, width = 320, height = 240 } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'picam-sim-rec-'));
  try {
    const video = await run(ffmpeg, [
      ...['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=15`, '-t', String(seconds)],
      // A key frame every 3 s, so that every segment starts with one (as the camera's do).
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '45', '-keyint_min', '45', '-sc_threshold', '0'],
      ...['-f', 'hls', '-hls_time', '3', '-hls_list_size', '0', '-hls_segment_filename', join(dir, '%d.ts'), join(dir, 'index.m3u8')],
    ]);
    if (!video) return undefined;
    const still = await run(ffmpeg, [
      ...['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}`],
      ...['-frames:v', '1', join(dir, 'thumb.jpg')],
    ]);
    const names = (await readdir(dir)).filter((f) => /^\d+\.ts$/.test(f)).sort((x, y) => parseInt(x, 10) - parseInt(y, 10));
    if (names.length === 0) return undefined;
    return {
      segments: await Promise.all(names.map((f) => readFile(join(dir, f)))),
      thumbnail: still ? await readFile(join(dir, 'thumb.jpg')) : PLAIN_JPEG,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** HLS AES-128: CBC with PKCS#7 padding and, as cameras send it, an all-zero IV. */
export function encryptSegment(plain: Buffer, key: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-cbc', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(plain), cipher.final()]);
}

/** A ZIP of stored (uncompressed) entries: what the simulator needs, and all a camera's encrypted data allows. */
export function storedZip(entries: Array<{ name: string; data: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = zlib.crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6); // names in UTF-8
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE((3 << 8) | 20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(0x800, 8);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(e.data.length, 20);
    entry.writeUInt32LE(e.data.length, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    entry.writeUInt32LE(offset, 42);
    parts.push(local, name, e.data);
    central.push(entry, name);
    offset += local.length + name.length + e.data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

/** A recording as two camera parts: each with `/aes.key` and its share of the encrypted `/720p/N.ts` segments. */
export function recordingParts(segments: Buffer[], key = randomBytes(16)): Buffer[] {
  const half = Math.ceil(segments.length / 2);
  const shares = [segments.slice(0, half).map((s, i) => ({ s, i })), segments.slice(half).map((s, i) => ({ s, i: i + half }))];
  return shares
    .filter((share) => share.length > 0)
    .map((share) =>
      storedZip([{ name: '/aes.key', data: key }, ...share.map(({ s, i }) => ({ name: `/720p/${i}.ts`, data: encryptSegment(s, key) }))]),
    );
}

/** Presign, then PUT, as the camera does; throws with the gateway's reason when it refuses. */
export async function cameraUpload(
  gatewayUrl: string,
  u: { cameraId: string; eventId: string; activityType: string; category: 'activity' | 'thumbnail'; fileName: string; zip: Buffer },
): Promise<void> {
  const signed = await fetch(`${gatewayUrl}/fileservice/presignedUploadUrl`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fileName: u.fileName, category: u.category, metadata: { 'x-amz-meta-sourceId': u.cameraId } }),
  });
  if (!signed.ok) throw new Error(`presign refused (${signed.status}): ${await signed.text()}`);
  const { url } = (await signed.json()) as { url: string };
  const put = await fetch(url, {
    method: 'PUT',
    headers: {
      'content-type': 'application/zip',
      'x-amz-meta-sourceId': u.cameraId,
      'x-amz-meta-eventId': u.eventId,
      'x-amz-meta-activityType': u.activityType,
    },
    body: new Uint8Array(u.zip),
  });
  if (!put.ok) throw new Error(`upload refused (${put.status}): ${await put.text()}`);
}

/** The simulator's upload step: the thumbnail, then the recording's parts (when ffmpeg made one). */
export function simulatedUploads(opts: { gatewayUrl: string; ffmpeg?: string; log: (line: string) => void }) {
  // Made once, on the first activity; every event uploads the same recording under its own key.
  let recording: Promise<TestRecording | undefined> | undefined;
  const made = () =>
    (recording ??= makeTestRecording({ ffmpeg: opts.ffmpeg }).then((r) => {
      if (!r) opts.log('simulator: ffmpeg is not available: VBC01 events get a thumbnail but no recording uploaded');
      return r;
    }));
  return async (e: { cameraId: string; eventId: string; activityType: string }): Promise<void> => {
    const rec = await made();
    const upload = (category: 'activity' | 'thumbnail', fileName: string, zip: Buffer) =>
      cameraUpload(opts.gatewayUrl, { ...e, category, fileName, zip });
    await upload('thumbnail', `${e.eventId}-0-0.zip`, storedZip([{ name: '/thumbnail.jpg', data: rec?.thumbnail ?? PLAIN_JPEG }]));
    if (!rec) return;
    for (const [i, zip] of recordingParts(rec.segments).entries()) await upload('activity', `${e.eventId}-1-${i}.zip`, zip);
  };
}
