/**
 * Receives `POST /hivecam/upload` into a temporary file, never into memory.
 * Two shapes are accepted:
 *   multipart/form-data  fields camera_id and event_id, one file part holding the ZIP
 *   application/zip      the ZIP as the body, camera_id and event_id in the query string
 * The body is cut off at `maxBytes`: a camera cannot fill the disk with one request.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { once } from 'node:events';
import { finished, pipeline } from 'node:stream/promises';
import { isDiskFull } from '../lib/store-errors';
import busboy from 'busboy';

/** A refusal with the HTTP status the camera gets. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ReceivedUpload {
  cameraId: string;
  eventId: string;
  /** the temporary ZIP; the caller removes it */
  zipPath: string;
  bytes: number;
  /** the file name the camera gave, for the log */
  fileName?: string;
}

export interface ReceiveOptions {
  /** where the temporary file goes (created by the caller) */
  tmpDir: string;
  maxBytes: number;
}

const FIELD_NAMES = { cameraId: ['camera_id', 'cameraId'], eventId: ['event_id', 'eventId'] } as const;

function pick(fields: Record<string, string>, names: readonly string[]): string | undefined {
  for (const n of names) if (fields[n]) return fields[n];
  return undefined;
}

/**
 * Writes a raw body to `zipPath`. Past `maxBytes` it stops writing but reads on
 * (up to as much again), so the camera gets the 413 instead of a reset connection.
 */
async function receiveBody(req: IncomingMessage, zipPath: string, maxBytes: number): Promise<number> {
  const out = createWriteStream(zipPath, { flags: 'wx', mode: 0o600 });
  let bytes = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > 2 * maxBytes) break; // stop draining a flood: the connection is dropped
      if (bytes > maxBytes) continue;
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await finished(out).catch(() => undefined);
  }
  if (bytes > maxBytes) throw new HttpError(413, `upload is larger than ${maxBytes} bytes`);
  return bytes;
}

let counter = 0;

export async function receiveUpload(req: IncomingMessage, query: URLSearchParams, opts: ReceiveOptions): Promise<ReceivedUpload> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes + 64 * 1024) {
    throw new HttpError(413, `upload of ${declared} bytes is larger than ${opts.maxBytes} bytes`);
  }
  const zipPath = join(opts.tmpDir, `upload-${process.pid}-${Date.now()}-${++counter}.zip`);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const fields: Record<string, string> = Object.fromEntries(query);
  try {
    let received: { bytes: number; fileName?: string };
    if (type.startsWith('multipart/form-data')) received = await receiveMultipart(req, zipPath, fields, opts.maxBytes);
    else if (type.startsWith('application/zip') || type.startsWith('application/octet-stream')) {
      received = { bytes: await receiveBody(req, zipPath, opts.maxBytes) };
    } else {
      throw new HttpError(415, `expected multipart/form-data or application/zip (got "${type || 'no content type'}")`);
    }
    const cameraId = pick(fields, FIELD_NAMES.cameraId);
    const eventId = pick(fields, FIELD_NAMES.eventId);
    if (!cameraId) throw new HttpError(400, 'camera_id is missing (a form field or a query parameter)');
    if (!eventId) throw new HttpError(400, 'event_id is missing (a form field or a query parameter)');
    if (received.bytes === 0) throw new HttpError(400, 'the upload holds no ZIP file');
    return { cameraId, eventId, zipPath, ...received };
  } catch (err) {
    await rm(zipPath, { force: true });
    if (err instanceof HttpError || isDiskFull(err)) throw err; // a full disk is answered 507 (gateway-server.ts)
    throw new HttpError(400, `upload could not be read: ${(err as Error).message}`);
  }
}

function receiveMultipart(
  req: IncomingMessage,
  zipPath: string,
  fields: Record<string, string>,
  maxBytes: number,
): Promise<{ bytes: number; fileName?: string }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fields: 20, fieldSize: 1024, fileSize: maxBytes, parts: 24 } });
    } catch (err) {
      reject(new HttpError(400, (err as Error).message));
      return;
    }
    let writing: Promise<{ bytes: number; fileName?: string }> | undefined;
    let fileStream: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
    let failure: Error | undefined;
    const requestDone = new Promise<void>((ok) => {
      if (req.complete) ok();
      req.once('end', ok);
      req.once('close', ok);
    });
    // Reject only once the request is drained (so the refusal reaches the camera) and the
    // temporary file is closed (so the caller's cleanup cannot race its creation).
    const fail = (err: Error) => {
      if (failure) return;
      failure = err;
      req.unpipe(parser);
      req.resume();
      fileStream?.destroy();
      void Promise.allSettled([writing, requestDone]).then(() => reject(failure));
    };
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (_name, stream, info) => {
      if (writing) {
        stream.resume();
        return fail(new HttpError(400, 'an upload carries exactly one ZIP file'));
      }
      fileStream = stream;
      stream.on('limit', () => fail(new HttpError(413, `upload is larger than ${maxBytes} bytes`)));
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
      writing = pipeline(stream, createWriteStream(zipPath, { flags: 'wx', mode: 0o600 })).then(() => ({ bytes, fileName: info.filename }));
      writing.catch(fail);
    });
    parser.on('filesLimit', () => fail(new HttpError(400, 'an upload carries exactly one ZIP file')));
    parser.on('partsLimit', () => fail(new HttpError(400, 'too many form parts')));
    parser.on('fieldsLimit', () => fail(new HttpError(400, 'too many form fields')));
    parser.on('error', (err: Error) => fail(new HttpError(400, `malformed multipart body: ${err.message}`)));
    parser.on('close', () => {
      if (failure) return;
      if (!writing) return fail(new HttpError(400, 'the upload holds no ZIP file'));
      writing.then((r) => (failure ? undefined : resolve(r)), fail);
    });
    req.on('error', (err) => fail(err));
    req.on('aborted', () => fail(new HttpError(400, 'the camera closed the connection before the upload was complete')));
    req.pipe(parser);
  });
}
