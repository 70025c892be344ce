/**
 * Users, API tokens, sessions, the audit and the first admin (issue 23), mounted on httpNode
 * while an access-control node runs, behind the API guard (which lets only admins through,
 * except the public first-run routes, and writes each change's audit entry). Bad input is a
 * 4xx with the reason; the store is written before anything is answered.
 */
import express, { type ErrorRequestHandler, type Request, type Router } from 'express';
import { actor, audit, rel, wrap } from './router-parts';
import { API_PATHS, isApiRole, type ApiRole } from '../lib/contract/api-routes';
import { LOGIN_NAME, type FirstRunInfo } from '../lib/contract/access';
import { AccessError, type AccessRegistry } from '../lib/access/registry';
import { clientAddress, isLocalRequest, type TrustedProxies } from '../lib/client-address';
import { hashPassword, passwordProblem } from '../lib/logins';
import { DEVICE_ID_PATTERN } from '../lib/types';
import { apiRouter } from '../lib/mount-router';
import { writtenNumber } from '../lib/written-number';

/** More cameras than any installation has: a list longer than this is a mistake. */
const MAX_CAMERAS = 500;

const refuse = (status: number, message: string) => new AccessError(status, message);

function nameFrom(value: unknown, what = 'name'): string {
  if (typeof value !== 'string' || !LOGIN_NAME.test(value))
    throw refuse(400, `${what} must be 1 to 64 letters, digits, or the characters _ . @ -`);
  return value;
}

function roleFrom(value: unknown): ApiRole {
  if (!isApiRole(value)) throw refuse(400, 'role must be "viewer", "operator" or "admin"');
  return value;
}

function passwordFrom(value: unknown): string {
  if (typeof value !== 'string') throw refuse(400, 'password must be a string');
  const problem = passwordProblem(value);
  if (problem) throw refuse(400, problem);
  return value;
}

/** null or absent: every camera; otherwise a list of camera ids. */
function camerasFrom(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length > MAX_CAMERAS || !value.every((v) => typeof v === 'string' && DEVICE_ID_PATTERN.test(v)))
    throw refuse(400, `cameras must be null (all) or a list of up to ${MAX_CAMERAS} camera ids (${DEVICE_ID_PATTERN})`);
  return [...new Set(value as string[])];
}

const body = (req: Request): Record<string, unknown> =>
  req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body) && !Buffer.isBuffer(req.body)
    ? (req.body as Record<string, unknown>)
    : {};

const camerasText = (cameras: string[] | null) => (cameras === null ? 'all cameras' : `cameras ${cameras.join(', ') || '(none)'}`);

export interface AccessApiOptions {
  access: AccessRegistry;
  trustedProxies: TrustedProxies;
  log(message: string): void;
}

export function accessRouter({ access, trustedProxies, log }: AccessApiOptions): Router {
  const router = apiRouter({ strict: true });
  const json = express.json({ limit: '16kb' });

  router.get(
    rel(API_PATHS.users),
    wrap((_req, res) => void res.json({ users: access.users() })),
  );
  router.post(
    rel(API_PATHS.users),
    json,
    wrap(async (req, res) => {
      const b = body(req);
      const name = nameFrom(b.name);
      const password = passwordFrom(b.password);
      const role = roleFrom(b.role);
      const cameras = camerasFrom(b.cameras);
      const user = await access.addUser({ name, passwordHash: await hashPassword(password), role, cameras });
      audit(res, 'add user', name, `${role}, ${camerasText(cameras)}`);
      res.status(201).json(user);
    }),
  );
  router.post(
    rel(API_PATHS.user),
    json,
    wrap(async (req, res) => {
      const name = nameFrom(req.params.name);
      const b = body(req);
      if (b.password === undefined && b.role === undefined && b.cameras === undefined)
        throw refuse(400, 'send at least one of "password", "role", "cameras"');
      const change = {
        ...(b.role !== undefined && { role: roleFrom(b.role) }),
        ...(b.cameras !== undefined && { cameras: camerasFrom(b.cameras) }),
        ...(b.password !== undefined && { passwordHash: await hashPassword(passwordFrom(b.password)) }),
      };
      const user = await access.changeUser(name, change);
      const said = [
        change.role !== undefined && `role ${change.role}`,
        change.cameras !== undefined && camerasText(change.cameras),
        change.passwordHash !== undefined && 'password reset',
      ].filter(Boolean);
      audit(res, 'change user', name, said.join(', '));
      res.json(user);
    }),
  );
  router.delete(
    rel(API_PATHS.user),
    wrap(async (req, res) => {
      const name = nameFrom(req.params.name);
      if (name === actor(res)) throw refuse(409, 'you cannot remove yourself');
      await access.removeUser(name);
      audit(res, 'remove user', name);
      res.status(204).end();
    }),
  );
  router.get(
    rel(API_PATHS.userSessions),
    wrap(async (req, res) => void res.json({ sessions: await access.sessions(nameFrom(req.params.name)) })),
  );
  router.delete(
    rel(API_PATHS.userSession),
    wrap(async (req, res) => {
      const name = nameFrom(req.params.name);
      const id = String(req.params.sessionId);
      await access.endSession(name, id);
      audit(res, 'end session', name, `session ${id.slice(0, 6)}…`);
      res.status(204).end();
    }),
  );

  router.get(
    rel(API_PATHS.tokens),
    wrap((_req, res) => void res.json({ tokens: access.tokens() })),
  );
  router.post(
    rel(API_PATHS.tokens),
    json,
    wrap(async (req, res) => {
      const b = body(req);
      const name = nameFrom(b.name);
      const role = roleFrom(b.role);
      const cameras = camerasFrom(b.cameras);
      const token = await access.addToken({ name, role, cameras, createdBy: actor(res) });
      audit(res, 'add API token', name, `#${token.id}, ${role}, ${camerasText(cameras)}`);
      res.status(201).json(token);
    }),
  );
  router.delete(
    rel(API_PATHS.token),
    wrap(async (req, res) => {
      const id = writtenNumber(req.params.id);
      if (!Number.isSafeInteger(id) || id <= 0) throw refuse(400, 'the token id must be a positive whole number, in digits');
      const token = await access.revokeToken(id);
      audit(res, 'revoke API token', token.name, `#${id}`);
      res.status(204).end();
    }),
  );

  router.get(
    rel(API_PATHS.audit),
    wrap(async (req, res) => {
      // Digits only: `1.5`, `1e3` or a list are refused, not read as something else.
      const whole = (v: unknown) => (v === undefined ? undefined : writtenNumber(v));
      const limit = whole(req.query.limit);
      const before = whole(req.query.before);
      if ((limit !== undefined && !(limit >= 1 && limit <= 1000)) || (before !== undefined && !Number.isSafeInteger(before)))
        throw refuse(400, '?limit= must be a whole number from 1 to 1000 and ?before= an entry id');
      res.json({ entries: await access.listAudit({ limit, before }) });
    }),
  );

  // ---- the first admin: public routes (the guard lets them through), so they check for themselves
  router.get(
    rel(API_PATHS.firstRun),
    wrap((req, res) => {
      // Until the store's users are read nobody can tell whether an admin exists.
      if (!access.demo && !access.attached) throw refuse(503, 'the database is not open yet: try again shortly');
      const info: FirstRunInfo = { needed: !access.demo && !access.hasAdmin(), local: isLocalRequest(req) };
      res.json(info);
    }),
  );
  router.post(
    rel(API_PATHS.firstRun),
    json,
    wrap(async (req, res) => {
      if (access.demo) throw refuse(400, 'the demo has no logins');
      if (!access.attached) throw refuse(503, 'the database is not open yet: try again shortly');
      if (access.hasAdmin()) throw refuse(409, 'an admin exists already: log in');
      const client = clientAddress(req, trustedProxies);
      const wait = await access.limiter.retryAfter(client);
      if (wait > 0) {
        res.set('Retry-After', String(wait));
        throw refuse(429, `too many wrong codes: try again in ${wait} s`);
      }
      const b = body(req);
      // From this machine itself (loopback, no proxy header) no code is needed; from elsewhere, the one in the log.
      if (!isLocalRequest(req)) {
        if (typeof b.code !== 'string' || !access.firstRunCodeMatches(b.code)) {
          await access.limiter.fail(client);
          log(`first run: a wrong or missing one-time code from ${client}`);
          throw refuse(403, 'from another machine, enter the one-time code printed in the runtime log');
        }
      }
      const name = nameFrom(b.name);
      const password = passwordFrom(b.password);
      const user = await access.addUser({ name, passwordHash: await hashPassword(password), role: 'admin', cameras: null });
      access.audit({ actor: 'first-run', role: 'admin', action: 'add user', target: name, detail: `admin, first run from ${client}` });
      log(`first run: admin "${name}" made from ${client}`);
      res.status(201).json(user);
    }),
  );

  const onError: ErrorRequestHandler = (err: Error & { status?: number; type?: string }, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof AccessError) return void res.status(err.status).json({ error: err.message });
    // express.json's own: a malformed or too large body
    if (err.status && err.status >= 400 && err.status < 500) return void res.status(err.status).json({ error: err.message });
    log(`access API: ${err.message}`);
    res.status(503).json({ error: `users cannot be read or changed now (${err.message.slice(0, 200)})` });
  };
  router.use(onError);
  return router;
}
