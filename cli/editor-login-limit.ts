/**
 * Node-RED's editor login (`POST {adminRoot}/auth/token`) has no limit of its
 * own: this middleware, mounted on adminRoot before RED.httpAdmin, counts every
 * answer other than 200 as a failed login for that client and refuses a client
 * that failed too often with 429 and Retry-After, before its guess is checked.
 */
import type { NextFunction, Request, Response } from 'express';
import { clientAddress, type TrustedProxies } from '../nodes/lib/client-address';
import type { FailureLimiter } from '../nodes/lib/failure-limiter';

/** `/auth/token` in any spelling a router might accept (case, repeated or trailing slashes). */
function isTokenPath(path: string): boolean {
  return path.toLowerCase().replace(/\/{2,}/g, '/').replace(/\/$/, '') === '/auth/token';
}

export function editorLoginLimit(limiter: FailureLimiter, trustedProxies: TrustedProxies) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' || !isTokenPath(req.path)) return next();
    const client = clientAddress(req, trustedProxies);
    const wait = limiter.retryAfter(client);
    if (wait > 0) {
      res.set('Retry-After', String(wait));
      res.status(429).json({ error: `too many failed logins: try again in ${wait} s` });
      return;
    }
    res.once('finish', () => {
      if (res.statusCode !== 200) limiter.fail(client);
    });
    next();
  };
}
