/**
 * The editor's login (`POST {adminRoot}/auth/token`), guarded before Node-RED sees it.
 *
 * Node-RED has no per-client limit, only one per user name for everybody: after
 * five wrong passwords for "admin" from anywhere, every login as "admin", the
 * right one included, fails for ten minutes with a 500. One guesser could so
 * lock the real admin out. Here, mounted on adminRoot before RED.httpAdmin:
 * - a client (nodes/lib/client-address.ts) that failed too often gets 429 and
 *   Retry-After before its guess is looked at; every answer other than 200
 *   counts as a failure of that client;
 * - the password is checked here first (bcrypt, same users as adminAuth); a
 *   wrong one is answered here as Node-RED would (403 invalid_grant), so it
 *   never reaches Node-RED's per-user count, and only right passwords do.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { checkPassword } from '../../nodes/lib/logins';
import type { TrustedProxies } from '../../nodes/lib/client-address';
import type { LoginLimiter } from '../../nodes/lib/login-limiter';
import { admitClient } from './http-auth';

export interface EditorUser {
  username: string;
  /** bcrypt hash (adminAuth's `password`) */
  password: string;
}

/** `/auth/token` in any spelling a router might accept (case, repeated or trailing slashes). */
function isTokenPath(path: string): boolean {
  return (
    path
      .toLowerCase()
      .replace(/\/{2,}/g, '/')
      .replace(/\/$/, '') === '/auth/token'
  );
}

/** The login form is small; Node-RED's parsers skip a body already read (req._body). */
const parsers: RequestHandler[] = [express.urlencoded({ limit: '16kb', extended: false }), express.json({ limit: '16kb' })];

function parseBody(req: Request, res: Response, done: (err?: unknown) => void): void {
  const [form, json] = parsers as [RequestHandler, RequestHandler];
  form(req, res, (err?: unknown) => (err ? done(err) : json(req, res, done)));
}

async function passwordMatches(users: readonly EditorUser[], username: string, password: string): Promise<boolean> {
  const user = users.find((u) => u.username === username);
  // An unknown user costs the same bcrypt comparison, so timing does not tell which names exist.
  return checkPassword(password, user?.password, users[0]?.password);
}

export function editorLoginLimit(users: readonly EditorUser[], limiter: LoginLimiter, trustedProxies: TrustedProxies) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' || !isTokenPath(req.path)) return next();
    admitClient(req, res, limiter, trustedProxies)
      .then((client) => {
        if (client !== undefined) checkLogin(req, res, next, client);
      })
      .catch(next);
  };

  function checkLogin(req: Request, res: Response, next: NextFunction, client: string): void {
    // fail() never rejects: a shared count that cannot be reached falls back to this runtime's.
    res.once('finish', () => {
      if (res.statusCode !== 200) void limiter.fail(client);
    });
    parseBody(req, res, (err) => {
      if (err) return next(err);
      const { grant_type, username, password } = (req.body ?? {}) as Record<string, unknown>;
      // Anything but a password login is Node-RED's to answer (and, if not 200, counted above).
      if (grant_type !== 'password' || typeof username !== 'string' || typeof password !== 'string') return next();
      passwordMatches(users, username, password).then((ok) => {
        if (ok) return next();
        res.status(403).json({ error: 'invalid_grant', error_description: 'Invalid resource owner credentials' });
      }, next);
    });
  }
}
