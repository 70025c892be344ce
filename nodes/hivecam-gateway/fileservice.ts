/**
 * The VBC01 upload service as cameras call it (vbc01-protocol.md §3.3, §8):
 *
 *   POST /fileservice/presignedUploadUrl   {fileName, category, metadata: {"x-amz-meta-sourceId"}}
 *        → 200 {"url": "{our public base}/fileservice/upload/{camera}/{category}/{uuid}/{fileName}"}
 *   PUT  /fileservice/upload/{camera}/{category}/{uuid}/{file}   (POST too) the raw ZIP,
 *        Content-Length, x-amz-meta-sourceId / -eventId / -activityType → 200, empty body
 *
 * Kept from our own gateway: only registered cameras (403 otherwise, before a
 * byte is stored), the size limit, the idle and total timeouts and the
 * temporary file's removal (upload-receiver), and a clear 4xx with the reason
 * for every bad request, where the real server answers 500.
 */
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { EVENT_ID_PATTERN } from '../lib/types';
import { vbc01IdProblem } from '../lib/vbc01';
import { CATEGORIES, type UploadCategory } from './event-upload';
import { HttpError } from './upload-receiver';

/** The parsed request of a PUT: who, which event, what kind. */
export interface FileserviceUpload {
  cameraId: string;
  eventId: string;
  category: UploadCategory;
  fileName: string;
  /** `x-amz-meta-activityType`, when the camera sent one */
  activityType?: string;
}

export interface FileserviceDeps {
  /** throws an HttpError (403) for a camera that is not registered */
  admit: (cameraId: string) => Promise<void>;
  /** receives the body and stores it; resolves once it is on disk and in the database */
  upload: (req: IncomingMessage, target: FileserviceUpload) => Promise<unknown>;
  /** the gateway's base URL as the camera reaches it, e.g. `https://192.168.1.10` */
  publicBase: (req: IncomingMessage) => string;
}

export interface FileserviceAnswer {
  status: number;
  /** undefined: an empty body, as the real server answers a stored upload */
  body: unknown;
  note?: string;
}

/** A presign request is a few hundred bytes of JSON. */
const MAX_PRESIGN_BYTES = 16 * 1024;
const PRESIGN_TIMEOUT_MS = 15_000;
/** `{event uuid}-{seq}-{part}.zip`, as cameras name recording parts (§1). */
const PART_NAME = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-\d+-\d+\.zip$/i;
/** A file name we put into a URL and a log: no path, no control characters. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ACTIVITY_TYPE = /^[A-Z_]{1,32}$/;
const UPLOAD_ID = /^[A-Za-z0-9-]{1,64}$/;

/** The event id a part's file name carries, lower-cased as cameras write it; undefined for any other name. */
export function eventIdFromFileName(fileName: string): string | undefined {
  return PART_NAME.exec(fileName)?.[1]?.toLowerCase();
}

function checkCategory(category: unknown): UploadCategory {
  if (typeof category === 'string' && (CATEGORIES as readonly string[]).includes(category)) return category as UploadCategory;
  throw new HttpError(400, `category must be one of ${CATEGORIES.join(', ')} (got ${JSON.stringify(String(category).slice(0, 40))})`);
}

function checkFileName(fileName: unknown): string {
  if (typeof fileName === 'string' && FILE_NAME.test(fileName)) return fileName;
  throw new HttpError(
    400,
    `fileName must be a plain file name such as {event_id}-1-0.zip (got ${JSON.stringify(String(fileName).slice(0, 80))})`,
  );
}

/** Only VBC01 cameras call the file service: their id, exactly as the firmware sends it, or a 400 saying why not. */
function checkCamera(cameraId: unknown, where: string): string {
  const problem = vbc01IdProblem(cameraId);
  if (problem) throw new HttpError(400, `${where}: ${problem}`);
  return cameraId as string;
}

/** Reads a small body whole; 400 for none, 413 past the limit, 408 when it stalls. */
function readSmallBody(req: IncomingMessage): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared === '0' || (declared === undefined && !req.headers['transfer-encoding'])) {
    return Promise.reject(new HttpError(400, 'the presign request has no body (JSON with fileName, category, metadata expected)'));
  }
  if (Number(declared) > MAX_PRESIGN_BYTES)
    return Promise.reject(new HttpError(413, `the presign request is larger than ${MAX_PRESIGN_BYTES} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(
      () => fail(new HttpError(408, `the presign request was not complete after ${PRESIGN_TIMEOUT_MS / 1000} s`, true)),
      PRESIGN_TIMEOUT_MS,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      req.off('data', onData);
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PRESIGN_BYTES) return fail(new HttpError(413, `the presign request is larger than ${MAX_PRESIGN_BYTES} bytes`, true));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('error', () => fail(new HttpError(400, 'the presign request broke off')));
    req.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

async function presign(req: IncomingMessage, deps: FileserviceDeps): Promise<FileserviceAnswer> {
  const raw = await readSmallBody(req);
  if (raw.length === 0) throw new HttpError(400, 'the presign request has no body (JSON with fileName, category, metadata expected)');
  let body: { fileName?: unknown; category?: unknown; metadata?: Record<string, unknown> };
  try {
    body = JSON.parse(raw.toString('utf8')) as typeof body;
  } catch (err) {
    throw new HttpError(400, `the presign request is not JSON: ${(err as Error).message}`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'the presign request must be a JSON object');
  const fileName = checkFileName(body.fileName);
  const category = checkCategory(body.category);
  const metadata = body.metadata && typeof body.metadata === 'object' ? body.metadata : {};
  // The exact key case cameras send (§3.3).
  const cameraId = checkCamera(metadata['x-amz-meta-sourceId'], 'metadata["x-amz-meta-sourceId"]');
  await deps.admit(cameraId);
  const path = ['upload', cameraId, category, randomUUID(), fileName].map(encodeURIComponent).join('/');
  return { status: 200, body: { url: `${deps.publicBase(req)}/fileservice/${path}` }, note: `${cameraId} ${category} ${fileName}` };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The upload's ids from its path and headers (the headers win, as on the real server). */
export function parseUpload(req: IncomingMessage, parts: string[]): FileserviceUpload {
  // parts: fileservice, upload, camera, category, upload id, file
  if (parts.length !== 6) {
    throw new HttpError(400, 'the upload path must be /fileservice/upload/{camera_id}/{category}/{upload_id}/{file_name}');
  }
  const [, , pathCamera, pathCategory, uploadId, pathFile] = parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      throw new HttpError(400, `bad percent-encoding in the path: ${JSON.stringify(p.slice(0, 80))}`);
    }
  }) as [string, string, string, string, string, string];
  const cameraId = checkCamera(header(req, 'x-amz-meta-sourceid') ?? pathCamera, 'the camera (x-amz-meta-sourceId or the path)');
  const category = checkCategory(pathCategory);
  if (!UPLOAD_ID.test(uploadId)) throw new HttpError(400, 'the upload id in the path must be the one the presign answer gave');
  const fileName = checkFileName(pathFile);
  const eventId = header(req, 'x-amz-meta-eventid') ?? eventIdFromFileName(fileName);
  if (!eventId) {
    throw new HttpError(
      400,
      `no event id: send x-amz-meta-eventId or name the file {event_id}-{seq}-{part}.zip (got ${JSON.stringify(fileName)})`,
    );
  }
  if (!EVENT_ID_PATTERN.test(eventId)) throw new HttpError(400, `x-amz-meta-eventId must match ${EVENT_ID_PATTERN.source}`);
  const activityType = header(req, 'x-amz-meta-activitytype');
  if (activityType !== undefined && !ACTIVITY_TYPE.test(activityType)) {
    throw new HttpError(
      400,
      `x-amz-meta-activityType must be an activity type such as MOTION (got ${JSON.stringify(activityType.slice(0, 40))})`,
    );
  }
  return { cameraId, eventId, category, fileName, activityType };
}

/** Content-Length is required and above zero: the real server reads exactly that many bytes, never chunks. */
function checkLength(req: IncomingMessage): void {
  if (req.headers['transfer-encoding'] && req.headers['content-length'] === undefined) {
    throw new HttpError(411, 'send the upload with a Content-Length (chunked bodies are not accepted)');
  }
  const length = Number(req.headers['content-length']);
  if (!(length > 0)) throw new HttpError(400, 'No file content: Content-Length must be above 0');
}

/** Answers `/fileservice/…`; `parts` are the path's segments. */
export async function fileservice(req: IncomingMessage, parts: string[], deps: FileserviceDeps): Promise<FileserviceAnswer> {
  if (parts.length === 2 && parts[1] === 'presignedUploadUrl') {
    if (req.method !== 'POST') throw new HttpError(405, 'use POST for /fileservice/presignedUploadUrl');
    return presign(req, deps);
  }
  if (parts[1] !== 'upload') throw new HttpError(404, 'not found: /fileservice/presignedUploadUrl and /fileservice/upload/… exist');
  if (req.method !== 'PUT' && req.method !== 'POST') throw new HttpError(405, 'use PUT (or POST) to upload');
  const target = parseUpload(req, parts);
  checkLength(req);
  await deps.upload(req, target);
  return { status: 200, body: undefined, note: `${target.cameraId}/${target.eventId} ${target.category} ${target.fileName}` };
}
