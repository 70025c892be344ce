/**
 * The HTTP endpoints VBC01 cameras call, as their firmware calls them
 * (vbc01-protocol.md §3, §8):
 *
 *   GET|POST /hivecam/{camera_id}        the camera's config (camera-config.ts): broker, topics, servers
 *   GET|POST /hivecam/cert/{camera_id}   {"certificatePem", "privateKey", "caCertificate"} in PEM
 *   GET      /health                     {"status": "healthy", "service": "config_server"}
 *   POST     /hivecam/upload             a ZIP with the event's thumbnail and/or recording (seed 004's form)
 *
 * POST on the config and certificate paths is answered as GET, as the real
 * server does (its body is not read). Every request is logged in one line.
 * Failures are limited by kind (GATEWAY_FAILURE_LIMITS): guessing camera ids
 * for the client key blocks further key requests, refused uploads block
 * uploads; neither blocks the config, and a camera's protocol mistakes (a 404)
 * are not counted at all, so a camera whose uploads we refuse still gets its
 * config and certificates.
 * Whatever a client sends, the answer is a 4xx that says what was wrong, never
 * a 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { vbc01IdProblem } from '../lib/vbc01';
import { DEFAULT_FAILURE_LIMITS, type FailureLimits } from '../lib/failure-limiter';
import type { FailureLimitsByKind } from '../lib/login-limiter';
import { clientAddress, parseTrustedProxies, type TrustedProxies } from '../lib/client-address';
import { CertificatesMissingError, type AccessDecision, type CertBundle } from './access';
import type { AcceptedUpload } from './accept-upload';
import type { CameraConfig } from './camera-config';
import { isDiskFull } from '../lib/store-errors';
import { HttpError } from './upload-receiver';
import type { FileserviceAnswer } from './fileservice';

/**
 * What a request was for, as far as failure limiting goes. `certificate`: the
 * shared client key (guessing ids for it is the attack); `upload`: bodies that
 * cost disk and CPU; `other` (config, health, unknown paths): never counted.
 */
export type GatewayRequestKind = 'certificate' | 'upload' | 'other';

export const GATEWAY_FAILURE_LIMITS: Partial<Record<GatewayRequestKind, FailureLimits>> = {
  certificate: DEFAULT_FAILURE_LIMITS,
  upload: DEFAULT_FAILURE_LIMITS,
};

/** The kind of a request by its path (before anything else is read). */
export function requestKind(pathname: string): GatewayRequestKind {
  if (pathname.startsWith('/hivecam/cert/')) return 'certificate';
  if (pathname === '/hivecam/upload' || pathname === '/fileservice' || pathname.startsWith('/fileservice/')) return 'upload';
  return 'other';
}

export interface GatewayDeps {
  /** the config answer for one camera (`GET /hivecam/{camera_id}`) */
  config: (cameraId: string) => CameraConfig;
  access: (cameraId: string) => Promise<AccessDecision>;
  /** the keys for this camera: the shared ones, or its own in per-camera mode */
  certificates: (cameraId: string) => Promise<CertBundle>;
  /** after the keys went out: registers an enrolling camera, counts the request */
  certificateIssued: (cameraId: string, via: string) => Promise<void>;
  upload: (req: IncomingMessage, query: URLSearchParams) => Promise<AcceptedUpload>;
  /** `/fileservice/…`: the presign step and the PUT of VBC01 uploads (fileservice.ts) */
  fileservice?: (req: IncomingMessage, parts: string[]) => Promise<FileserviceAnswer>;
  limiter: FailureLimitsByKind<GatewayRequestKind>;
  /** proxies whose X-Forwarded-For names the camera (PICAM_TRUSTED_PROXIES; default loopback) */
  trustedProxies?: TrustedProxies;
  log: (line: string) => void;
  /** a refusal worth a warning, not just a log line */
  warn: (line: string) => void;
}

/** A server-side reason a request cannot be served now (database not open): 503, not the client's failure. */
export class ServiceUnavailableError extends Error {
  override readonly name = 'ServiceUnavailableError';
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  // undefined: an empty body (a stored VBC01 upload is answered so).
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/** The server's disk failing: 503 (retry later), never the camera's failure. */
const STORAGE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EMFILE', 'ENFILE']);

/** Longest request path the gateway reads; its real paths are under 100 characters. */
const MAX_PATH = 512;

/** The path of an absolute-form target (`GET http://host/path`), which HTTP/1.1 servers must accept. */
function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  if (!/^https?:\/\//i.test(target)) throw new HttpError(400, 'the request target must be a path (or an http URL)');
  try {
    const url = new URL(target);
    return url.pathname + url.search;
  } catch {
    throw new HttpError(400, 'the request target is not a valid URL');
  }
}

/** The request's path and query; an HttpError (400, 414) for a target that is none. */
export function parseTarget(raw: string | undefined): { pathname: string; query: URLSearchParams } {
  const target = originForm(raw ?? '/');
  const mark = target.indexOf('?');
  const pathname = mark < 0 ? target : target.slice(0, mark);
  const query = mark < 0 ? '' : target.slice(mark + 1);
  if (pathname.length > MAX_PATH) throw new HttpError(414, `the path is longer than ${MAX_PATH} characters`);
  return { pathname, query: new URLSearchParams(query) };
}

/** One path segment, percent-decoded; an HttpError (400) for a broken encoding. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `bad percent-encoding in the path: ${JSON.stringify(segment.slice(0, 80))}`);
  }
}

export function gatewayHandler(deps: GatewayDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const trustedProxies = deps.trustedProxies ?? parseTrustedProxies(undefined);
  return (req, res) => {
    // For the log and the rate limit: behind the port-80 proxy, the camera it names, not the proxy.
    const client = clientAddress(req, trustedProxies);
    const path = (req.url ?? '/').split('?')[0]!;
    const kind = requestKind(pathOf(req.url));
    const line = `${req.method} ${path.length > 120 ? `${path.slice(0, 120)}…` : path} from ${client}`;
    const finish = (status: number, body: unknown, note?: string, headers?: Record<string, string>) => {
      send(res, status, body, headers);
      const text = `${line} → ${status}${note ? ` (${note})` : ''}`;
      if (status >= 400) deps.warn(text);
      else deps.log(text);
    };
    /** An answer that could not be written (the socket went): logged, never thrown out of here. */
    const lost = (err: Error) => deps.warn(`${line}: the answer could not be sent (${err.message})`);
    const refuse = (err: HttpError) => {
      // A path or method that does not exist is the camera's protocol mistake, cheap to answer: never counted.
      const counted = err.status !== 404 && err.status !== 405;
      // Counted before the answer (never rejects), so the client's next request finds it counted, on any runtime.
      void (counted ? deps.limiter.fail(kind, client) : Promise.resolve(false))
        .then((blocked) => {
          if (blocked) deps.warn(`${client} failed too often: ${kind} requests refused for a while`);
          // A body that was cut off is not read any further: the connection goes with the answer.
          finish(err.status, { error: err.message }, err.message, err.closeConnection ? { Connection: 'close' } : undefined);
        })
        .catch(lost);
    };

    const blocked = (wait: number) => {
      // A blocked client's body is not worth reading: the connection goes with the answer.
      req.resume();
      const close: Record<string, string> = req.complete ? {} : { Connection: 'close' };
      send(res, 429, { error: `too many failed ${kind} requests; retry in ${wait} s` }, { 'Retry-After': String(wait), ...close });
      deps.warn(`${line} → 429 (blocked for ${wait} s more)`);
    };
    const serve = () => {
      // Everything, the parsing of the target included, runs inside the promise: nothing a client sends can throw out of here.
      Promise.resolve()
        .then(() => route(req, parseTarget(req.url), deps))
        .then(
          ({ status, body, note }) => finish(status, body, note),
          (err: Error) => {
            if (!(err instanceof HttpError && err.closeConnection)) req.resume();
            if (err instanceof HttpError && err.status < 500) refuse(err);
            else if (err instanceof HttpError) finish(err.status, { error: err.message }, err.message);
            // The admin's mistake, not the camera's: no rate-limit strike.
            else if (err instanceof CertificatesMissingError)
              finish(503, { error: 'certificates are not set up on the server' }, err.message);
            else if (err instanceof ServiceUnavailableError) finish(503, { error: err.message }, err.message);
            // The server's full disk is not the camera's failure: 507, no strike, try again later.
            else if (isDiskFull(err))
              finish(507, { error: 'the server has no space left for uploads; try again later' }, err.message, { 'Retry-After': '60' });
            else if (STORAGE_ERRORS.has((err as NodeJS.ErrnoException).code ?? '')) {
              const code = (err as NodeJS.ErrnoException).code;
              finish(503, { error: `the server cannot store uploads right now (${code}); retry later` }, err.message);
            } else finish(500, { error: 'internal error' }, err.message);
          },
        );
    };
    // The count may be the store's (a cluster): asked before anything is read. Never rejects.
    void deps.limiter
      .retryAfter(kind, client)
      .then((wait) => (wait > 0 ? blocked(wait) : serve()))
      .catch(lost);
  };
}

interface Answer {
  status: number;
  body: unknown;
  note?: string;
}

/** The path of a request target for classifying it; '' for a target parseTarget refuses (the route answers that). */
function pathOf(raw: string | undefined): string {
  try {
    return parseTarget(raw).pathname;
  } catch {
    return '';
  }
}

const HEALTH = { status: 'healthy', service: 'config_server' } as const;

async function route(req: IncomingMessage, url: { pathname: string; query: URLSearchParams }, deps: GatewayDeps): Promise<Answer> {
  const parts = url.pathname.split('/').filter(Boolean);
  const readOnly = req.method === 'GET' || req.method === 'HEAD';
  if (url.pathname === '/health') {
    if (!readOnly && req.method !== 'POST') throw new HttpError(405, 'use GET for /health');
    return { status: 200, body: HEALTH };
  }
  if (parts[0] === 'fileservice' && deps.fileservice) return deps.fileservice(req, parts);
  if (parts[0] !== 'hivecam') throw new HttpError(404, 'not found');

  if (parts.length === 2 && parts[1] === 'upload') {
    if (req.method !== 'POST') throw new HttpError(405, 'use POST to upload');
    const accepted = await deps.upload(req, url.query);
    const files = accepted.files.map((f) => ({ name: f.fileName, type: f.fileType, bytes: f.fileSize }));
    return {
      status: 200,
      body: { status: 'stored', cameraId: accepted.cameraId, eventId: accepted.eventId, files },
      note: `${accepted.cameraId}/${accepted.eventId}: ${files.map((f) => `${f.name} ${f.bytes} B`).join(', ')}`,
    };
  }

  // The firmware may POST where it means GET: the real server answers both alike (§3).
  if (!readOnly && req.method !== 'POST') throw new HttpError(405, `use GET (or POST) for ${url.pathname}`);
  const cert = parts.length === 3 && parts[1] === 'cert';
  if (!cert && parts.length !== 2) throw new HttpError(404, 'not found');
  const cameraId = decodeSegment(parts.at(-1)!);
  const problem = vbc01IdProblem(cameraId);
  if (problem) throw new HttpError(400, problem);

  if (!cert) return { status: 200, body: deps.config(cameraId), note: cameraId };

  const decision = await deps.access(cameraId);
  if (!decision.allowed) throw new HttpError(403, decision.reason);
  const bundle = await deps.certificates(cameraId);
  await deps.certificateIssued(cameraId, decision.via);
  return { status: 200, body: bundle, note: `${cameraId}, ${decision.via}` };
}
