/**
 * A VBC01 upload (vbc01-protocol.md §3.3-3.4) into its event's one folder:
 *
 *   {uploads}/{camera}/events/{event}/thumbnail.jpg        from the thumbnail ZIP
 *   {uploads}/{camera}/events/{event}/720p/0.ts, 1.ts …    from every recording part
 *
 * Recording segments arrive AES-128-CBC encrypted (all-zero IV, the part's
 * `aes.key`) and are decrypted once, here, into plain MPEG-TS: every player
 * then plays them (Chromium through hls.js, Safari natively, VLC, a download),
 * no key has to be served, and a segment that does not decrypt into MPEG-TS
 * is refused with a reason at upload time instead of failing later in a
 * browser. The key is kept (owner-only) beside the segments for later parts
 * that come without one; nothing encrypted is kept.
 *
 * Each part is first extracted with every safe-ZIP check into a fresh folder
 * beside the received bodies (`.incoming`, swept at start), checked and
 * decrypted there, and only then moved into place and recorded; parts of one
 * event are handled one at a time.
 */
import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readHead, videoType } from '../lib/uploads/media-type';
import { extractZip, KEY_BYTES, KEY_NAME, UnsafeZipError, type ExtractedFile, type ZipLimits } from '../lib/uploads/safe-zip';
import type { UploadStore } from '../lib/store/uploads';
import { checkThumbnails, STATUS_FOR, uploadRows, type AcceptedUpload } from './accept-upload';
import { checkIds, HttpError, type ReceivedUpload } from './upload-receiver';
import { INCOMING_DIR } from './retention';
import { OneAtATime } from '../lib/one-at-a-time';
import { UnexpectedMediaError } from '../lib/uploads/media-type';

/** What a camera may upload (§3.3): a recording part, or a thumbnail. */
export const CATEGORIES = ['activity', 'thumbnail'] as const;
export type UploadCategory = (typeof CATEGORIES)[number];

/** HLS AES-128 with an explicit IV of zero: every segment is its own CBC message. */
const ZERO_IV = Buffer.alloc(16);

/**
 * A folder name's limit on common file systems is 255 bytes; a percent-encoded id of dots or colons
 * (3 bytes each, up to 128 of them) would pass it.
 */
const NAME_BYTES = 255;

/**
 * The folder of a camera's event; the event id is percent-encoded, so no id is `..` or holds a `/`.
 * An id whose encoding is too long for a folder name is named by its hash (`~` and 64 hex digits;
 * no event id holds a `~`).
 */
export function eventDirFor(root: string, cameraId: string, eventId: string): string {
  const encoded = encodeURIComponent(eventId).replace(/\./g, '%2E');
  const name = encoded.length <= NAME_BYTES ? encoded : `~${createHash('sha256').update(eventId).digest('hex')}`;
  return join(root, cameraId, 'events', name);
}

/** One part at a time per event: two parts must not race to move files or set the event's columns. */
const parts = new OneAtATime();

/** The kinds each category may hold: a thumbnail ZIP holds pictures only. */
const ALLOWED: Record<UploadCategory, ReadonlySet<ExtractedFile['type']>> = {
  thumbnail: new Set(['thumbnail']),
  activity: new Set(['key', 'segment', 'thumbnail', 'recording', 'metadata']),
};

function checkCategory(files: ExtractedFile[], category: UploadCategory): void {
  const stray = files.find((f) => !ALLOWED[category].has(f.type));
  if (stray) throw new HttpError(415, `archive refused (type): a ${category} upload cannot hold ${JSON.stringify(stray.name)}`);
  if (category === 'thumbnail' && files.length === 0) throw new HttpError(400, 'archive refused: the thumbnail upload holds no picture');
}

/** Decrypts one segment into `out` and checks that MPEG-TS came out; an HttpError (422) otherwise. */
async function decryptSegment(encrypted: string, out: string, key: Buffer, name: string): Promise<void> {
  try {
    await pipeline(createReadStream(encrypted), createDecipheriv('aes-128-cbc', key, ZERO_IV), createWriteStream(out, { mode: 0o644 }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code?.startsWith('ERR_OSSL') || /decrypt|block length/i.test((err as Error).message)) {
      throw new HttpError(422, `segment ${name} does not decrypt with the event's aes.key (AES-128-CBC, IV 0): ${(err as Error).message}`);
    }
    throw err;
  }
  if (videoType(await readHead(out))?.format !== 'mpegts') {
    throw new HttpError(422, `segment ${name} decrypted with the event's aes.key is not MPEG-TS: wrong key?`);
  }
}

/** The part's key, else the one an earlier part of the event left; undefined when neither exists. */
async function keyFor(files: ExtractedFile[], eventDir: string): Promise<Buffer | undefined> {
  const own = files.find((f) => f.type === 'key');
  if (own) {
    const key = await readFile(own.path);
    if (key.length !== KEY_BYTES)
      throw new HttpError(422, `archive refused (key): ${KEY_NAME} holds ${key.length} bytes, not ${KEY_BYTES}`);
    return key;
  }
  return readFile(join(eventDir, KEY_NAME)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

/** Makes every segment of the part plain MPEG-TS in place (`N.ts.plain` beside it, then renamed). */
async function decryptPart(files: ExtractedFile[], eventDir: string): Promise<Buffer | undefined> {
  const segments = files.filter((f) => f.type === 'segment');
  const key = await keyFor(files, eventDir);
  for (const seg of segments) {
    const plain = videoType(await readHead(seg.path))?.format === 'mpegts';
    if (plain) continue; // a camera that does not encrypt: nothing to do
    if (!key) {
      throw new HttpError(422, `segment ${seg.name} is encrypted, but neither this part nor an earlier one of the event holds ${KEY_NAME}`);
    }
    const out = `${seg.path}.plain`;
    await decryptSegment(seg.path, out, key, seg.name);
    await rename(out, seg.path);
  }
  return key;
}

/**
 * A 409 before anything moves when a file of the part would land where the event folder holds a
 * folder, or below one of its files (`thumbnail.jpg/0.ts` after a thumbnail): a part goes in whole
 * or not at all, never leaving some of its files in place without their rows.
 */
async function checkPlaceable(files: ExtractedFile[], eventDir: string, key: boolean): Promise<void> {
  const names = files.filter((f) => f.type !== 'key').map((f) => f.name);
  for (const name of key ? [...names, KEY_NAME] : names) {
    const levels = name.split('/');
    let at = eventDir;
    for (const [i, level] of levels.entries()) {
      at = join(at, level);
      const found = await lstat(at).catch(() => undefined);
      if (!found) break;
      const last = i === levels.length - 1;
      if (last ? found.isDirectory() : !found.isDirectory()) {
        const what = last ? 'a folder' : `the file ${JSON.stringify(levels.slice(0, i + 1).join('/'))}`;
        throw new HttpError(409, `archive refused (conflict): ${JSON.stringify(name)} would replace ${what} the event already holds`);
      }
    }
  }
}

/** Moves the part's files into the event folder (a file sent again replaces its copy); returns where each went. */
async function moveIn(files: ExtractedFile[], eventDir: string): Promise<Array<ExtractedFile & { final: string }>> {
  const moved: Array<ExtractedFile & { final: string }> = [];
  for (const f of files.filter((file) => file.type !== 'key')) {
    const final = join(eventDir, ...f.name.split('/'));
    await mkdir(dirname(final), { recursive: true });
    await rename(f.path, final);
    moved.push({ ...f, final });
  }
  return moved;
}

export interface EventUploadTarget {
  cameraId: string;
  eventId: string;
  category: UploadCategory;
  /** `x-amz-meta-activityType`: the type of the event this upload creates if it comes before the start */
  activityType?: string;
}

/** The real platform's type for an event an upload created without saying its type (§3.3). */
export const DEFAULT_UPLOAD_ACTIVITY = 'MOTION';

export async function acceptEventUpload(
  upload: Pick<ReceivedUpload, 'zipPath'>,
  target: EventUploadTarget,
  opts: { uploadsRoot: string; limits: ZipLimits; store: UploadStore; nowMs?: number },
): Promise<AcceptedUpload> {
  const { cameraId, eventId, category } = target;
  checkIds(cameraId, eventId);
  const eventDir = eventDirFor(opts.uploadsRoot, cameraId, eventId);
  return parts.run(eventDir, async () => {
    // Extracted beside the received bodies, not in the event folder: what a crash leaves there is swept at the next start.
    const partDir = join(opts.uploadsRoot, INCOMING_DIR, `part-${randomBytes(4).toString('hex')}`);
    try {
      let files: ExtractedFile[];
      try {
        files = await extractZip(upload.zipPath, partDir, opts.limits);
      } catch (err) {
        if (err instanceof UnsafeZipError) throw new HttpError(STATUS_FOR[err.reason], `archive refused (${err.reason}): ${err.message}`);
        throw err;
      }
      if (files.length === 0) throw new HttpError(400, 'archive refused: it holds no files');
      checkCategory(files, category);
      try {
        await checkThumbnails(files);
      } catch (err) {
        if (err instanceof UnexpectedMediaError) throw new HttpError(415, `archive refused (type): ${err.message}`);
        throw err;
      }
      await checkPlaceable(
        files,
        eventDir,
        files.some((f) => f.type === 'key'),
      );
      const key = await decryptPart(files, eventDir);
      const moved = await moveIn(files, eventDir);
      if (key) await writeFile(join(eventDir, KEY_NAME), key, { mode: 0o600 });
      const nowMs = opts.nowMs ?? Date.now();
      const rows = uploadRows(
        moved.map((f) => ({ ...f, path: f.final })),
        { eventId, cameraId, dir: eventDir, nowMs },
      );
      let ids: number[];
      try {
        // Before its start, the upload creates the event (§3.3); the start's alert still comes with the start.
        ids = await opts.store.recordUpload(rows, {
          activityType: target.activityType ?? DEFAULT_UPLOAD_ACTIVITY,
          nowS: Math.floor(nowMs / 1000),
        });
      } catch (err) {
        // The files stay in the folder; a part sent again records them (and replaces them).
        throw new HttpError(503, `upload not stored: the database refused it (${(err as Error).message})`);
      }
      return { cameraId, eventId, dir: eventDir, files: rows.map((r, i) => ({ ...r, id: ids[i]! })) };
    } finally {
      await rm(partDir, { recursive: true, force: true });
    }
  });
}
