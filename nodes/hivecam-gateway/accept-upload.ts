/**
 * From a received ZIP to stored files: the ids are checked, the archive is
 * extracted with every check a hostile archive needs (lib/uploads/safe-zip),
 * and the files are recorded in `file_uploads`. Either all of it happens or
 * nothing is left behind, on disk or in the database.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnexpectedMediaError } from '../lib/uploads/media-type';
import { MAX_PICTURE_BYTES, requirePicture } from '../lib/uploads/picture';
import { extractZip, UnsafeZipError, type ExtractedFile, type UnsafeZipReason, type ZipLimits } from '../lib/uploads/safe-zip';
import type { UploadFileRow, UploadFileType, UploadStore } from '../lib/store/uploads';
import { checkIds, HttpError, type ReceivedUpload } from './upload-receiver';
import { ANY_DEVICE_ID_PATTERN } from '../lib/hosted-devices';

export interface AcceptedFile extends UploadFileRow {
  id: number;
}

export interface AcceptedUpload {
  cameraId: string;
  eventId: string;
  dir: string;
  files: AcceptedFile[];
}

/** What the camera is told for each kind of unsafe archive. */
export const STATUS_FOR: Record<UnsafeZipReason, number> = {
  'too-large': 413,
  ratio: 413,
  'too-many-files': 413,
  type: 415,
  traversal: 422,
  absolute: 422,
  symlink: 422,
  duplicate: 422,
  corrupt: 400,
  name: 422,
  key: 422,
};

/**
 * A thumbnail is shown in browsers and sent to Telegram: it must really be a
 * whole JPEG or PNG of a photo's size, whatever its name says (an "image" that
 * is HTML would be a stored page on our origin; one cut short, or declaring
 * 50,000 × 50,000 pixels, fails every channel and viewer). Its size is checked
 * before it is read.
 */
export async function checkThumbnails(files: ExtractedFile[]): Promise<void> {
  for (const f of files.filter((file) => file.type === 'thumbnail')) {
    const label = `thumbnail ${JSON.stringify(f.name.slice(0, 100))}`;
    const { size } = await stat(f.path);
    if (size > MAX_PICTURE_BYTES)
      throw new HttpError(413, `archive refused (size): ${label} is ${size} bytes, over the ${MAX_PICTURE_BYTES}-byte limit of a picture`);
    requirePicture(await readFile(f.path), label);
  }
}

/** One folder per upload: a second upload for the same event (thumbnail, then recording) never overwrites the first. */
export function uploadDirFor(root: string, cameraId: string, eventId: string, nowMs: number): string {
  const safeEvent = eventId.replace(/[^A-Za-z0-9_-]/g, '_');
  return join(root, cameraId, `${safeEvent}-${nowMs}-${randomBytes(3).toString('hex')}`);
}

export async function acceptUpload(
  upload: ReceivedUpload,
  opts: { uploadsRoot: string; limits: ZipLimits; store: UploadStore; nowMs?: number },
): Promise<AcceptedUpload> {
  const { cameraId, eventId } = upload;
  checkIds(cameraId, eventId);
  const nowMs = opts.nowMs ?? Date.now();
  const dir = uploadDirFor(opts.uploadsRoot, cameraId, eventId, nowMs);
  let extracted;
  try {
    extracted = await extractZip(upload.zipPath, dir, opts.limits);
  } catch (err) {
    if (err instanceof UnsafeZipError) throw new HttpError(STATUS_FOR[err.reason], `archive refused (${err.reason}): ${err.message}`);
    throw err;
  }
  if (extracted.length === 0) {
    await rm(dir, { recursive: true, force: true });
    throw new HttpError(400, 'archive refused: it holds no files');
  }
  const vbc01 = extracted.find((f) => f.type === 'key' || f.type === 'segment');
  if (vbc01) {
    await rm(dir, { recursive: true, force: true });
    throw new HttpError(415, `archive refused: ${vbc01.name} is a VBC01 recording part: send it to /fileservice/upload/… (presigned)`);
  }
  try {
    await checkThumbnails(extracted);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if (err instanceof UnexpectedMediaError) throw new HttpError(415, `archive refused (type): ${err.message}`);
    throw err;
  }
  const rows = uploadRows(extracted, { eventId, cameraId, dir, nowMs });
  try {
    const ids = await opts.store.recordUpload(rows);
    return { cameraId, eventId, dir, files: rows.map((r, i) => ({ ...r, id: ids[i]! })) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new HttpError(503, `upload not stored: the database refused it (${(err as Error).message})`);
  }
}

/**
 * A picture that came another way than an upload (a Pi's motion snapshot over
 * MQTT), stored like an uploaded thumbnail so the dashboard shows it too.
 */
export async function storeSnapshot(
  snapshot: { deviceId: string; eventId: string; image: Buffer },
  opts: { uploadsRoot: string; store: UploadStore; nowMs?: number },
): Promise<AcceptedUpload> {
  // `{pi}.{camera}` is one folder name: one dot between two plain ids is never `..` and holds no `/`.
  checkIds(snapshot.deviceId, snapshot.eventId, ANY_DEVICE_ID_PATTERN);
  const image = requirePicture(snapshot.image, 'the snapshot');
  const nowMs = opts.nowMs ?? Date.now();
  const dir = uploadDirFor(opts.uploadsRoot, snapshot.deviceId, snapshot.eventId, nowMs);
  const fileName = `snapshot.${image.format === 'png' ? 'png' : 'jpg'}`;
  await mkdir(dir, { recursive: true });
  const row: UploadFileRow = {
    eventId: snapshot.eventId,
    cameraId: snapshot.deviceId,
    fileType: 'thumbnail',
    filePath: join(dir, fileName),
    fileName,
    fileSize: snapshot.image.length,
    uploadDir: dir,
    uploadedAt: Math.floor(nowMs / 1000),
  };
  try {
    await writeFile(row.filePath, snapshot.image, { flag: 'wx', mode: 0o644 });
    const [id] = await opts.store.recordUpload([row]);
    return { cameraId: row.cameraId, eventId: row.eventId, dir, files: [{ ...row, id: id! }] };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The database rows of an upload's files, each at `path` inside the upload's folder `dir`. */
export function uploadRows(
  files: ReadonlyArray<ExtractedFile>,
  at: { eventId: string; cameraId: string; dir: string; nowMs: number },
): UploadFileRow[] {
  return files.map((f) => ({
    eventId: at.eventId,
    cameraId: at.cameraId,
    fileType: f.type as UploadFileType,
    filePath: f.path,
    fileName: f.name,
    fileSize: f.bytes,
    uploadDir: at.dir,
    uploadedAt: Math.floor(at.nowMs / 1000),
  }));
}
