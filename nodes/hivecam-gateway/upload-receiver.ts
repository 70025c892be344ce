/**
 * Receives `POST /hivecam/upload` into a temporary file, never into memory.
 * Two shapes are accepted:
 *   multipart/form-data  fields camera_id and event_id, then one file part holding the ZIP
 *   application/zip      the ZIP as the body, camera_id and event_id in the query string
 *
 * Nobody can fill the disk through it (issue 13, item 3):
 * - the camera ids are checked, and the camera must be registered (`admit`),
 *   before the first byte is written: multipart fields must come before the file;
 * - the body is cut off past `maxBytes` (413), when it stalls for `idleMs` or is
 *   not complete after `deadlineMs` (408);
 * - every malformed body is answered with a 4xx, and whatever it left in the
 *   temporary folder is removed before the answer goes out.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { DEVICE_ID_PATTERN, EVENT_ID_PATTERN } from '../lib/types';

/** A refusal with the HTTP status the camera gets. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** the rest of the body will not be read: the answer must close the connection */
    readonly closeConnection = false,
  ) {
    super(message);
  }
}

export interface UploadIds {
  cameraId: string;
  eventId: string;
}

export interface ReceivedUpload extends UploadIds {
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
  /** a body that sends nothing for this long is cut off (408) */
  idleMs: number;
  /** a body not complete after this long is cut off (408) */
  deadlineMs: number;
  /** called with checked ids before any byte is written; throws an HttpError to refuse the camera */
  admit: (ids: UploadIds) => Promise<void>;
  /** the body is the ZIP whatever its Content-Type says (a presigned PUT: cameras send none or any) */
  rawZip?: boolean;
}

/** Temporary files start with this; the sweep of stale temporaries knows them by it. */
export const TEMP_PREFIX = 'upload-';

const FIELD_NAMES = { cameraId: ['camera_id', 'cameraId'], eventId: ['event_id', 'eventId'] } as const;
const FIELD_BYTES = 1024;
/** multipart framing around the file, allowed on top of `maxBytes` */
const MULTIPART_OVERHEAD = 64 * 1024;

/** A camera's own upload names a plain id; a snapshot over MQTT may be a Pi's hosted camera's (`ids` ANY_DEVICE_ID_PATTERN). */
export function checkIds(cameraId: string, eventId: string, ids: RegExp = DEVICE_ID_PATTERN): void {
  if (!ids.test(cameraId)) throw new HttpError(400, `camera_id must match ${ids.source}`);
  if (!EVENT_ID_PATTERN.test(eventId)) throw new HttpError(400, `event_id must match ${EVENT_ID_PATTERN.source}`);
}

/** The ids from the form fields (or the query string), checked; says which is missing and what came instead. */
function idsFrom(fields: Map<string, string>): UploadIds {
  const pick = (names: readonly string[]) => names.map((n) => fields.get(n)).find(Boolean);
  const got = fields.size
    ? ` (got ${[...fields.keys()]
        .slice(0, 10)
        .map((k) => JSON.stringify(k.slice(0, 40)))
        .join(', ')})`
    : '';
  const where = 'a form field before the file part, or a query parameter';
  const cameraId = pick(FIELD_NAMES.cameraId);
  const eventId = pick(FIELD_NAMES.eventId);
  if (!cameraId) throw new HttpError(400, `camera_id is missing (${where})${got}`);
  if (!eventId) throw new HttpError(400, `event_id is missing (${where})${got}`);
  checkIds(cameraId, eventId);
  return { cameraId, eventId };
}

function bodyKind(headers: IncomingHttpHeaders): 'multipart' | 'zip' {
  const type = (headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) return 'multipart';
  if (type.startsWith('application/zip') || type.startsWith('application/octet-stream')) return 'zip';
  const shown = JSON.stringify(type.slice(0, 80) || 'no content type');
  throw new HttpError(415, `expected multipart/form-data or application/zip (got ${shown})`);
}

/**
 * Passes the request body through, counting it, and cuts it off (destroys
 * itself with a 408 or 413) when it stalls, drags on or runs far past the limit.
 * The request is then left alone, so the camera can still be answered.
 * The idle clock also runs while we read slowly ourselves (a database lookup,
 * a busy disk): both take far less than `idleMs`.
 */
class BodyMeter extends Transform {
  bytes = 0;
  failure?: Error;
  private readonly idle: NodeJS.Timeout;
  private readonly deadline: NodeJS.Timeout;

  constructor(
    private readonly capBytes: number,
    idleMs: number,
    deadlineMs: number,
  ) {
    super();
    // Always listened to: a timeout while no consumer is attached must not become an uncaught error.
    this.on('error', (err) => (this.failure ??= err));
    this.idle = setTimeout(() => this.cut(408, `the upload sent nothing for ${Math.round(idleMs / 1000)} s`), idleMs);
    this.deadline = setTimeout(() => this.cut(408, `the upload was not complete after ${Math.round(deadlineMs / 1000)} s`), deadlineMs);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.idle.refresh();
    if (this.bytes > this.capBytes) return cb(new HttpError(413, `upload is larger than ${this.capBytes} bytes`, true));
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.stopClocks();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.stopClocks();
    cb(err);
  }

  cut(status: number, message: string): void {
    if (!this.destroyed) this.destroy(new HttpError(status, message, true));
  }

  stopClocks(): void {
    clearTimeout(this.idle);
    clearTimeout(this.deadline);
  }

  /** Reads the rest and throws it away (the camera is still sending); resolves when the body ended or was cut off. */
  discard(): Promise<void> {
    if (this.destroyed || this.readableEnded) return Promise.resolve();
    this.unpipe();
    this.resume();
    return new Promise((done) => {
      this.once('end', done);
      this.once('close', done);
    });
  }
}

/** Fails with the meter's error once it has one (a cut-off body), so a consumer waiting on it stops waiting. */
function meterFailure(meter: BodyMeter): Promise<never> {
  return new Promise((_ok, fail) => {
    if (meter.failure) fail(meter.failure);
    else meter.once('error', (err) => fail(meter.failure ?? err));
  });
}

/** Writes a stream to a new temporary file; stops at `maxBytes` (413) and waits until the file is closed. */
async function writeCapped(source: Readable, zipPath: string, maxBytes: number): Promise<number> {
  const stoppedMessage = 'the upload stopped before the file was complete';
  if (source.destroyed) throw new HttpError(400, stoppedMessage); // cut off while the camera was being admitted
  let bytes = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(bytes > maxBytes ? new HttpError(413, `upload is larger than ${maxBytes} bytes`) : null, chunk);
    },
  });
  const out: WriteStream = createWriteStream(zipPath, { flags: 'wx', mode: 0o600 });
  // pipe() does not pass on a source that is destroyed halfway (a cut-off body): stop the file then too.
  const stopped = () => {
    if (!source.readableEnded) cap.destroy(new HttpError(400, stoppedMessage));
  };
  const broken = (err: Error) => cap.destroy(err);
  source.once('close', stopped);
  source.once('error', broken);
  source.pipe(cap);
  try {
    await pipeline(cap, out);
    return bytes;
  } finally {
    source.off('close', stopped);
    source.off('error', broken);
    source.unpipe(cap);
    await finished(out).catch(() => undefined); // closed before anyone removes it
  }
}

async function receiveZipBody(meter: BodyMeter, fields: Map<string, string>, zipPath: string, opts: ReceiveOptions) {
  const ids = idsFrom(fields);
  await opts.admit(ids);
  const bytes = await writeCapped(meter, zipPath, opts.maxBytes);
  if (bytes === 0) throw new HttpError(400, 'the upload holds no ZIP file');
  return { ...ids, bytes };
}

let counter = 0;

export async function receiveUpload(req: IncomingMessage, query: URLSearchParams, opts: ReceiveOptions): Promise<ReceivedUpload> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes + MULTIPART_OVERHEAD) {
    throw new HttpError(413, `upload of ${declared} bytes is larger than ${opts.maxBytes} bytes`);
  }
  const kind = opts.rawZip ? 'zip' : bodyKind(req.headers);
  const zipPath = join(opts.tmpDir, `${TEMP_PREFIX}${process.pid}-${Date.now()}-${++counter}.zip`);
  // A Map: field names come from the camera ("__proto__" is just a name here).
  const fields = new Map(query);
  const meter = new BodyMeter(2 * opts.maxBytes + MULTIPART_OVERHEAD, opts.idleMs, opts.deadlineMs);
  const closedEarly = () => {
    if (!req.complete) meter.cut(400, 'the camera closed the connection before the upload was complete');
  };
  req.once('close', closedEarly);
  req.once('error', closedEarly);
  const release = () => {
    req.off('close', closedEarly);
    req.off('error', closedEarly);
  };
  req.pipe(meter);
  try {
    const received =
      kind === 'zip'
        ? await receiveZipBody(meter, fields, zipPath, opts)
        : await receiveMultipart(meter, req.headers, fields, zipPath, opts);
    release();
    return { ...received, zipPath };
  } catch (caught) {
    // A cut-off body says why (408, 413) better than the consumer that noticed it.
    const err = meter.failure instanceof HttpError ? meter.failure : caught;
    await rm(zipPath, { force: true });
    // Refused early (a stranger, a bad field), the camera may still be sending: the answer goes out
    // now, the rest is read and thrown away within the meter's limits (so the camera gets the answer,
    // not a reset), and the connection is dropped if the rest never comes.
    void meter.discard().then(() => {
      release();
      if (!req.complete && !(err instanceof HttpError && err.closeConnection)) req.socket.destroy();
    });
    // Anything else is the server's own trouble (a full disk, the database not open), not the camera's.
    throw err;
  }
}

function receiveMultipart(
  meter: BodyMeter,
  headers: IncomingHttpHeaders,
  fields: Map<string, string>,
  zipPath: string,
  opts: ReceiveOptions,
): Promise<ReceivedUpload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers,
        limits: { files: 1, fields: 20, fieldSize: FIELD_BYTES, fieldNameSize: 100, fileSize: opts.maxBytes, parts: 24 },
      });
    } catch (err) {
      reject(new HttpError(400, `malformed multipart request: ${(err as Error).message}`));
      return;
    }
    let writing: Promise<unknown> | undefined;
    let fileStream: Readable | undefined;
    let fileSeen = false;
    let failure: Error | undefined;
    // Reject once the temporary file is closed, so the caller's cleanup cannot race its creation.
    const fail = (err: Error) => {
      if (failure) return;
      failure = err;
      meter.unpipe(parser);
      fileStream?.destroy();
      void Promise.allSettled([writing]).then(() => reject(err));
    };
    void meterFailure(meter).catch(fail);
    parser.on('field', (name, value, info) => {
      if (info.nameTruncated) return fail(new HttpError(400, 'a form field name is longer than 100 bytes'));
      if (info.valueTruncated) return fail(new HttpError(400, `form field ${JSON.stringify(name)} is longer than ${FIELD_BYTES} bytes`));
      if (!fileSeen) fields.set(name, value);
    });
    parser.on('file', (_name, stream, info) => {
      fileSeen = true;
      // busboy ends a file it cannot finish (a truncated body) with an error on the file's stream.
      stream.on('error', (err: Error) => fail(new HttpError(400, `malformed multipart body: ${err.message}`)));
      if (failure) return void stream.resume();
      let ids: UploadIds;
      try {
        ids = idsFrom(fields);
      } catch (err) {
        stream.resume();
        return fail(err as Error);
      }
      fileStream = stream;
      stream.on('limit', () => fail(new HttpError(413, `upload is larger than ${opts.maxBytes} bytes`)));
      // The file waits (busboy holds the body back) until the camera is admitted.
      writing = opts.admit(ids).then(async () => {
        if (failure) throw failure;
        const bytes = await writeCapped(stream, zipPath, opts.maxBytes);
        return { ...ids, zipPath, bytes, fileName: info.filename };
      });
      writing.catch((err: Error) => {
        stream.resume();
        fail(err);
      });
    });
    parser.on('filesLimit', () => fail(new HttpError(400, 'an upload carries exactly one ZIP file')));
    parser.on('partsLimit', () => fail(new HttpError(400, 'too many form parts')));
    parser.on('fieldsLimit', () => fail(new HttpError(400, 'too many form fields')));
    parser.on('error', (err: Error) => fail(new HttpError(400, `malformed multipart body: ${err.message}`)));
    parser.on('close', () => {
      if (failure) return;
      if (!writing) {
        try {
          idsFrom(fields);
          return fail(new HttpError(400, 'the upload holds no ZIP file (no file part)'));
        } catch (err) {
          return fail(err as Error);
        }
      }
      writing.then((r) => {
        if (failure) return;
        const received = r as ReceivedUpload;
        if (received.bytes === 0) return fail(new HttpError(400, 'the upload holds no ZIP file (the file part is empty)'));
        resolve(received);
      }, fail);
    });
    meter.pipe(parser);
  });
}
