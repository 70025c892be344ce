/**
 * Malformed requests get a 4xx that says what is wrong, never a 500.
 *
 * - `requestErrorHandler`: the runtime app's last handler. Body parser errors
 *   (broken JSON, too large, unknown charset), undecodable percent-encoding in
 *   a path and any other client error (err.status 4xx) become JSON with that
 *   status; only a real fault is a 500 (logged, details not sent).
 * - `apiBodyParsers`: Node-RED's `http in` node parses bodies inside its own
 *   route and answers every parse error with a bare 500, and reads bodies of
 *   other types with no size limit at all. These run before RED.httpNode with
 *   the same limit (`apiMaxLength`) and produce what `http in` would
 *   (objects for JSON and forms, strings for text, Buffers for binary), so it
 *   finds the body already read and its own parsers stand aside.
 */
import type { IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

interface HttpishError extends Error {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  limit?: number;
}

/** What a client did wrong, in words it can act on; undefined for faults of ours. */
export function clientError(err: HttpishError): { status: number; error: string } | undefined {
  if (err instanceof URIError) return { status: 400, error: 'the path has malformed percent-encoding' };
  switch (err.type) {
    case 'entity.parse.failed':
      return { status: 400, error: `the body is not valid JSON: ${err.message}` };
    case 'entity.too.large':
      return { status: 413, error: `the body is larger than the limit of ${err.limit ?? '?'} bytes` };
    case 'parameters.too.many':
      return { status: 413, error: 'the form has too many fields' };
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return { status: 415, error: err.message };
    case 'request.aborted':
    case 'request.size.invalid':
      return { status: 400, error: 'the body ended before its announced length' };
  }
  const status = Number(err.status ?? err.statusCode);
  if (status >= 400 && status < 500) {
    // express's own message for a bad route parameter: "Failed to decode param '%E0%A4%A'"
    if (/^Failed to decode param/.test(err.message)) return { status: 400, error: 'the path has malformed percent-encoding' };
    return { status, error: err.expose === false ? 'bad request' : err.message };
  }
  return undefined;
}

export function requestErrorHandler(log: { warn(message: string): void }) {
  return (err: HttpishError, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const known = clientError(err);
    if (known) {
      res.status(known.status).json({ error: known.error });
      return;
    }
    log.warn(`${req.method} ${req.path}: ${err.stack ?? err.message}`);
    res.status(500).json({ error: 'internal error' });
  };
}

/** `http in`'s rule (21-httpin.js rawBodyParser): text, XML and UTF-8 application/* as strings, the rest as bytes. */
function asHttpInWouldRead(contentType: string | undefined, body: Buffer): string | Buffer {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === '') return body.toString('utf8');
  const [major = '', sub = ''] = type.split('/');
  if (major === 'text' || sub === 'xml' || sub.endsWith('+xml')) return body.toString('utf8');
  if (major !== 'application' || ['octet-stream', 'cbor', 'x-protobuf'].includes(sub)) return body;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return body;
  }
}

const isMultipart = (req: IncomingMessage) => /^multipart\//i.test(req.headers['content-type'] ?? '');
/** A video body (a Pi's clip, issue 19) is streamed to disk by its route, which bounds and checks it (nodes/lib/recording/clip-intake.ts). */
const isVideo = (req: IncomingMessage) => /^video\//i.test(req.headers['content-type'] ?? '');

/**
 * Any other body, read up to `limit`. Multipart bodies are left to `http in`
 * nodes with uploads on (they need the stream); only their announced length is checked.
 * Video bodies are left to the route that takes them, whole.
 */
function boundedRawBody(limit: string | number): RequestHandler {
  const read = express.raw({ type: () => true, limit });
  const max = typeof limit === 'number' ? limit : parseSize(limit);
  return (req, res, next) => {
    if ((req as { _body?: boolean })._body || isVideo(req)) return next();
    if (isMultipart(req)) {
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > max) return next(Object.assign(new Error('request entity too large'), { type: 'entity.too.large', limit: max }));
      return next();
    }
    read(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (Buffer.isBuffer(req.body)) req.body = asHttpInWouldRead(req.headers['content-type'], req.body);
      next();
    });
  };
}

/** '5mb' → bytes, as body-parser counts them. */
function parseSize(size: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(size.trim());
  if (!m) throw new Error(`not a size: "${size}"`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}

/** Mounted on httpNodeRoot after the login guard, before RED.httpNode. */
export function apiBodyParsers(limit: string | number = '5mb'): RequestHandler[] {
  return [express.json({ limit }), express.urlencoded({ limit, extended: true }), boundedRawBody(limit)];
}
