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
import { API_PATHS, matchRoute } from '../../nodes/lib/contract/api-routes';

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
/**
 * A Pi's clip (issue 19): a video body its one route streams to disk, bounding and checking it
 * (nodes/lib/recording/clip-intake.ts). A video body to any other route is read like any other.
 */
const isClipUpload = (req: Request) =>
  req.method === 'POST' &&
  /^video\//i.test(req.headers['content-type'] ?? '') &&
  matchRoute('POST', req.path)?.route.path === API_PATHS.recordingClip;

const tooLarge = (max: number) => Object.assign(new Error('request entity too large'), { type: 'entity.too.large', limit: max });

/**
 * Any other body, read up to `limit`. Multipart bodies are left to `http in`
 * nodes with uploads on (they need the stream, and read it all): only with a
 * Content-Length within the limit, since the length is all that bounds them.
 * A clip's video is left to its route, whole.
 */
function boundedRawBody(limit: string | number): RequestHandler {
  const read = express.raw({ type: () => true, limit });
  const max = typeof limit === 'number' ? limit : parseSize(limit);
  return (req, res, next) => {
    if ((req as { _body?: boolean })._body || isClipUpload(req)) return next();
    if (isMultipart(req)) {
      const length = req.headers['content-length'];
      if (length === undefined) return next(Object.assign(new Error('a multipart body needs a Content-Length'), { status: 411 }));
      if (Number(length) > max) return next(tooLarge(max));
      return next();
    }
    read(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (Buffer.isBuffer(req.body)) req.body = asHttpInWouldRead(req.headers['content-type'], req.body);
      next();
    });
  };
}

/** After every route of the API: a request none answered gets JSON, as every API answer is, not Express's HTML page. */
export function unknownApiRoute(req: Request, res: Response): void {
  const path = (req.originalUrl.split('?')[0] ?? '').slice(0, 200);
  res.status(404).json({ error: `no route ${req.method} ${path}` });
}

/** What Express's query parser (qs) reads of a query: the parameters past this are dropped in silence. */
const QUERY_PARAMETERS = 1000;

/**
 * A query with more parameters than Express reads is refused (400): a filter past the 1000th
 * (`camera=`, `limit=`) was dropped without a word, and the answer unfiltered. First on the
 * runtime's app, so the API's routes and `http in` nodes never see such a query.
 */
export function wholeQueries(req: Request, res: Response, next: NextFunction): void {
  const at = req.url.indexOf('?');
  // qs counts what its `&` split gives, empty parts too.
  if (at >= 0 && req.url.slice(at + 1).split('&').length > QUERY_PARAMETERS)
    return void res.status(400).json({ error: `the query has more than ${QUERY_PARAMETERS} parameters` });
  next();
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
