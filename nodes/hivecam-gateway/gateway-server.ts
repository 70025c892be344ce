/**
 * The HTTP endpoints VBC01 cameras call (seed 004's config server):
 *
 *   GET  /hivecam/{camera_id}        {"endpoint": host, "port": 8883}: the MQTT broker
 *   GET  /hivecam/cert/{camera_id}   {"caCert", "clientCert", "clientKey"} in PEM
 *   POST /hivecam/upload             a ZIP with the event's thumbnail and/or recording
 *
 * Every request is logged in one line. A client that fails too often (unknown or
 * refused camera ids, bad uploads) is refused with 429 for a while.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEVICE_ID_PATTERN } from '../lib/types';
import type { FailureLimiter } from '../lib/failure-limiter';
import { clientAddress, parseTrustedProxies, type TrustedProxies } from '../lib/client-address';
import { CertificatesMissingError, type AccessDecision, type BrokerEndpoint, type CertBundle } from './access';
import type { AcceptedUpload } from './accept-upload';
import { isDiskFull } from '../lib/store-errors';
import { HttpError } from './upload-receiver';

export interface GatewayDeps {
  broker: () => BrokerEndpoint;
  access: (cameraId: string) => Promise<AccessDecision>;
  certificates: () => Promise<CertBundle>;
  /** after the keys went out: registers an enrolling camera, counts the request */
  certificateIssued: (cameraId: string, via: string) => Promise<void>;
  upload: (req: IncomingMessage, query: URLSearchParams) => Promise<AcceptedUpload>;
  limiter: FailureLimiter;
  /** proxies whose X-Forwarded-For names the camera (PICAM_TRUSTED_PROXIES; default loopback) */
  trustedProxies?: TrustedProxies;
  log: (line: string) => void;
  /** a refusal worth a warning, not just a log line */
  warn: (line: string) => void;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function gatewayHandler(deps: GatewayDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const trustedProxies = deps.trustedProxies ?? parseTrustedProxies(undefined);
  return (req, res) => {
    // For the log and the rate limit: behind the port-80 proxy, the camera it names, not the proxy.
    const client = clientAddress(req, trustedProxies);
    const url = new URL(req.url ?? '/', 'http://gateway');
    const line = `${req.method} ${url.pathname} from ${client}`;
    const finish = (status: number, body: unknown, note?: string) => {
      send(res, status, body);
      const text = `${line} → ${status}${note ? ` (${note})` : ''}`;
      if (status >= 400) deps.warn(text);
      else deps.log(text);
    };
    const refuse = (status: number, message: string) => {
      if (deps.limiter.fail(client)) deps.warn(`${client} failed too often: refused for a while`);
      finish(status, { error: message }, message);
    };

    const wait = deps.limiter.retryAfter(client);
    if (wait > 0) {
      req.resume();
      send(res, 429, { error: `too many failed requests; retry in ${wait} s` }, { 'Retry-After': String(wait) });
      deps.warn(`${line} → 429 (blocked for ${wait} s more)`);
      return;
    }

    route(req, url, deps).then(
      ({ status, body, note }) => finish(status, body, note),
      (err: Error) => {
        req.resume();
        // The server's full disk is not the camera's failure: 507, no strike, try again later.
        if (isDiskFull(err)) {
          send(res, 507, { error: 'the server has no space left for uploads; try again later' }, { 'Retry-After': '60' });
          deps.warn(`${line} → 507 (${err.message})`);
        } else if (err instanceof HttpError) refuse(err.status, err.message);
        // The admin's mistake, not the camera's: no rate-limit strike.
        else if (err instanceof CertificatesMissingError) finish(503, { error: 'certificates are not set up on the server' }, err.message);
        else finish(500, { error: 'internal error' }, err.message);
      },
    );
  };
}

interface Answer {
  status: number;
  body: unknown;
  note?: string;
}

async function route(req: IncomingMessage, url: URL, deps: GatewayDeps): Promise<Answer> {
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'hivecam') throw new HttpError(404, 'not found');

  if (parts.length === 2 && parts[1] === 'upload') {
    if (req.method !== 'POST') throw new HttpError(405, 'use POST to upload');
    const accepted = await deps.upload(req, url.searchParams);
    const files = accepted.files.map((f) => ({ name: f.fileName, type: f.fileType, bytes: f.fileSize }));
    return {
      status: 200,
      body: { status: 'stored', cameraId: accepted.cameraId, eventId: accepted.eventId, files },
      note: `${accepted.cameraId}/${accepted.eventId}: ${files.map((f) => `${f.name} ${f.bytes} B`).join(', ')}`,
    };
  }

  if (req.method !== 'GET') throw new HttpError(405, `use GET for ${url.pathname}`);
  const cert = parts.length === 3 && parts[1] === 'cert';
  if (!cert && parts.length !== 2) throw new HttpError(404, 'not found');
  const cameraId = decodeURIComponent(parts.at(-1)!);
  if (!DEVICE_ID_PATTERN.test(cameraId)) throw new HttpError(400, `camera id must match ${DEVICE_ID_PATTERN.source}`);

  if (!cert) return { status: 200, body: deps.broker(), note: cameraId };

  const decision = await deps.access(cameraId);
  if (!decision.allowed) throw new HttpError(403, decision.reason);
  const bundle = await deps.certificates();
  await deps.certificateIssued(cameraId, decision.via);
  return { status: 200, body: bundle, note: `${cameraId}, ${decision.via}` };
}
