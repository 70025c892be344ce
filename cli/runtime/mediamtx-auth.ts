/**
 * MediaMTX's HTTP authentication (`authMethod: http`): MediaMTX POSTs
 * `{user, password, token, ip, action, path, protocol, id, query}` to
 * `authHTTPAddress` and lets the request through on any 2xx. The cloud runtime
 * answers, so publish/read permissions live in one place.
 *
 * Who may do what:
 * - a device (a Pi) may `publish`, and only to its own path (the path named like
 *   the device) and to its hosted cameras' paths `{device}.{camera}` (the live video
 *   it relays on request, nodes/ipcam/live-relay.ts; such an id names one camera of
 *   that device only, nodes/lib/hosted-devices.ts). Devices may not read: a Pi never
 *   watches, and a stolen Pi password must not show the other cameras.
 * - a viewer (a dashboard user) may `read` and `playback` any path.
 * - the monitor (the health poller) may use the `api` and `metrics`.
 * - `pprof`, an empty user (MediaMTX first asks without credentials, and a refusal
 *   makes it ask the client for them), a wrong password: refused.
 * Unknown users still cost one bcrypt compare, so timing does not tell which
 * user names exist.
 *
 * Environment (bcrypt hashes, e.g. `npx bcryptjs PASSWORD`; quote them, the `$`s
 * are shell and docker-compose syntax, where `$$` stands for `$`):
 * - `PICAM_MEDIAMTX_DEVICES="picam-1:$2b$10$...,picam-2:$2b$10$..."`: each
 *   device's user name is its stream path (letters, digits, `_`, `-`).
 * - `PICAM_MEDIAMTX_VIEWERS="alice:$2b$10$...,bob:$2b$10$..."`
 * - `PICAM_MEDIAMTX_MONITOR="monitor:$2b$10$..."` (optional; one entry)
 * A user name appears once across all three.
 */
import type { Request, Response } from 'express';
import { isLocalRequest } from '../../nodes/lib/client-address';
import { checkPassword, parseLoginList, type Login } from '../../nodes/lib/logins';
import { splitHostedId } from '../../nodes/lib/hosted-devices';

export type { Login };

export type MediamtxAction = 'publish' | 'read' | 'playback' | 'api' | 'metrics' | 'pprof';

export interface AuthConfig {
  /** A Pi may publish only to its own path. */
  devices: Array<Login & { path: string }>;
  /** Dashboard users: read and playback on any path. */
  viewers: Login[];
  /** The health poller: api and metrics. */
  monitor?: Login;
  /** Checks a dashboard stream token (nodes/lib/access/stream-tokens.ts): the user it was issued to, or undefined. */
  streamToken?: (token: string) => string | undefined;
}

/** What MediaMTX POSTs to authHTTPAddress (every field a string; absent ones are ''). */
export interface AuthRequest {
  user: string;
  password: string;
  token: string;
  ip: string;
  action: string;
  path: string;
  protocol: string;
  id: string;
  query: string;
}

export interface Decision {
  allow: boolean;
  reason: string;
}

export interface AuthLog {
  warn(message: string): void;
  debug?(message: string): void;
}

const USER_NAME = /^[A-Za-z0-9._-]+$/;
const DEVICE_NAME = /^[A-Za-z0-9_-]+$/;

export function parseAuthConfig(env: Record<string, string | undefined>): AuthConfig {
  // A user name appears once across the three lists.
  const seen = new Set<string>();
  const devices = parseLoginList('PICAM_MEDIAMTX_DEVICES', env.PICAM_MEDIAMTX_DEVICES, { userPattern: DEVICE_NAME, seen }).map((d) => ({
    ...d,
    path: d.user,
  }));
  const viewers = parseLoginList('PICAM_MEDIAMTX_VIEWERS', env.PICAM_MEDIAMTX_VIEWERS, { userPattern: USER_NAME, seen });
  const monitors = parseLoginList('PICAM_MEDIAMTX_MONITOR', env.PICAM_MEDIAMTX_MONITOR, { userPattern: USER_NAME, seen });
  if (monitors.length > 1) throw new Error('PICAM_MEDIAMTX_MONITOR: expected one USER:BCRYPT_HASH');
  return { devices, viewers, ...(monitors[0] ? { monitor: monitors[0] } : {}) };
}

type Role = 'device' | 'viewer' | 'monitor';

function findLogin(config: AuthConfig, user: string): { role: Role; login: Login & { path?: string } } | undefined {
  const device = config.devices.find((d) => d.user === user);
  if (device) return { role: 'device', login: device };
  const viewer = config.viewers.find((v) => v.user === user);
  if (viewer) return { role: 'viewer', login: viewer };
  if (config.monitor?.user === user) return { role: 'monitor', login: config.monitor };
  return undefined;
}

function permitted(role: Role, login: { path?: string }, action: string, path: string): Decision {
  switch (action) {
    case 'publish':
      if (role !== 'device') return { allow: false, reason: `a ${role} may not publish` };
      if (path === login.path) return { allow: true, reason: 'device publishes to its own path' };
      if (login.path !== undefined && splitHostedId(path)?.hostId === login.path)
        return { allow: true, reason: 'device relays a camera it hosts' };
      return { allow: false, reason: `device may publish only to "${login.path}" and "${login.path}.{camera}"` };
    case 'read':
    case 'playback':
      return role === 'viewer' ? { allow: true, reason: `viewer may ${action}` } : { allow: false, reason: `a ${role} may not ${action}` };
    case 'api':
    case 'metrics':
      return role === 'monitor'
        ? { allow: true, reason: `monitor may use ${action}` }
        : { allow: false, reason: `a ${role} may not use ${action}` };
    case 'pprof':
      return { allow: false, reason: 'pprof is never allowed' };
    default:
      return { allow: false, reason: `unknown action "${action}"` };
  }
}

export async function decide(config: AuthConfig, request: AuthRequest): Promise<Decision> {
  // A logged-in dashboard user's browser: it may watch, nothing else.
  if (request.user === '' && request.token !== '' && config.streamToken) {
    const user = config.streamToken(request.token);
    if (user === undefined) return { allow: false, reason: 'invalid or expired stream token' };
    return request.action === 'read'
      ? { allow: true, reason: `dashboard user ${user} may read` }
      : { allow: false, reason: `a dashboard stream token allows only read, not ${request.action}` };
  }
  if (request.user === '') return { allow: false, reason: 'no credentials' };
  const found = findLogin(config, request.user);
  const anyHash = config.devices[0]?.passwordHash ?? config.viewers[0]?.passwordHash;
  const passOk = await checkPassword(request.password, found?.login.passwordHash, anyHash);
  if (!found) return { allow: false, reason: 'unknown user' };
  if (!passOk) return { allow: false, reason: 'wrong password' };
  return permitted(found.role, found.login, request.action, request.path);
}

const FIELDS = ['user', 'password', 'token', 'ip', 'action', 'path', 'protocol', 'id', 'query'] as const;
const MAX_BODY = 16 * 1024;

/** The body as MediaMTX sends it, or a description of what is wrong with it. */
export function parseAuthRequest(body: unknown): AuthRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body is not a JSON object';
  const fields = body as Record<string, unknown>;
  const request = {} as Record<(typeof FIELDS)[number], string>;
  for (const field of FIELDS) {
    const value = fields[field] ?? '';
    if (typeof value !== 'string') return `"${field}" is not a string`;
    request[field] = value;
  }
  if (request.action === '') return '"action" is missing';
  return request;
}

/** The body: express.json()'s result if it ran, else read and parsed here. */
function readBody(req: Request): Promise<unknown> {
  if (req.body !== undefined) return Promise.resolve(req.body);
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) return fail(new Error('body too large'));
      chunks.push(chunk);
    });
    req.on('error', fail);
    req.on('end', () => {
      try {
        ok(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        fail(new Error(`body is not JSON: ${(err as Error).message}`));
      }
    });
  });
}

/**
 * `POST` handler for MediaMTX's authHTTPAddress: 200 `{"status":"ok"}` allows,
 * 401 `{"status":"error","error":"authentication error"}` refuses (the reason goes
 * to the log, never to the caller), 400 for a malformed body. The runtime serves
 * it only on its internal listener (cli/runtime/internal-server.ts), and by default it
 * answers only local, unrelayed callers (loopback, no Forwarded/X-Forwarded-For/
 * X-Real-IP: 403 otherwise): reachable from the network it would be a password
 * oracle. `loopbackOnly: false` is for a MediaMTX in another container, on a
 * port closed to the internet.
 */
export function mediamtxAuthHandler(config: AuthConfig, log: AuthLog, options: { loopbackOnly?: boolean } = {}) {
  const loopbackOnly = options.loopbackOnly ?? true;
  return (req: Request, res: Response): void => {
    const refuse = (status: number, error: string) => {
      res.status(status).json({ status: 'error', error });
    };
    if (loopbackOnly && !isLocalRequest(req)) {
      log.warn(`mediamtx auth: refused a call from ${req.socket.remoteAddress ?? 'unknown'} (local, unrelayed callers only)`);
      return refuse(403, 'forbidden');
    }
    const answer = (body: unknown): Promise<void> | void => {
      const request = parseAuthRequest(body);
      if (typeof request === 'string') return refuse(400, request);
      return decide(config, request).then((decision) => {
        if (decision.allow) return void res.status(200).json({ status: 'ok' });
        // The fields come from the client: no control characters into the log.
        const what =
          `action=${request.action} path=${request.path} user=${request.user || '-'} ip=${request.ip} protocol=${request.protocol}`.replace(
            /[\x00-\x1f\x7f]/g,
            '?',
          );
        if (request.user === '') log.debug?.(`mediamtx auth: asked for credentials (${what})`);
        else log.warn(`mediamtx auth: refused ${what}: ${decision.reason}`);
        refuse(401, 'authentication error');
      });
    };
    readBody(req)
      .then(answer, (err: Error) => refuse(400, err.message))
      .catch((err: Error) => {
        log.warn(`mediamtx auth: ${err.message}`);
        if (!res.headersSent) refuse(500, 'internal error');
      });
  };
}
