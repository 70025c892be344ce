/**
 * HTTP Basic auth for the API and dashboard (Node-RED's httpNodeAuth), checked
 * against a bcrypt hash. Standalone Node-RED adds this in red.js; an embedded
 * runtime must add it itself.
 *
 * bcrypt costs ~100 ms by design, and a dashboard polls: a verified header is
 * remembered for a few minutes, keyed by its SHA-256, never the header itself.
 * A client that keeps sending wrong logins is refused with 429 for a while
 * (a request without any login is a browser asking, not a failure).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { checkPassword } from '../../nodes/lib/logins';
import { clientAddress, parseTrustedProxies, type TrustedProxies } from '../../nodes/lib/client-address';
import { LoginLimiter } from '../../nodes/lib/login-limiter';
import { DEFAULT_FAILURE_LIMITS } from '../../nodes/lib/failure-limiter';

const REMEMBER_MS = 5 * 60_000;

/**
 * The client behind `req` (through the trusted proxies), or undefined when the
 * limiter has it blocked: then it has been answered 429 with Retry-After.
 */
export async function admitClient(
  req: Request,
  res: Response,
  limiter: LoginLimiter,
  trustedProxies: TrustedProxies,
): Promise<string | undefined> {
  const client = clientAddress(req, trustedProxies);
  const wait = await limiter.retryAfter(client);
  if (wait === 0) return client;
  res.set('Retry-After', String(wait));
  res.status(429).json({ error: `too many failed logins: try again in ${wait} s` });
  return undefined;
}

export interface BasicAuthOptions {
  realm?: string;
  /** shared with the other logins, so alternating methods gains a guesser nothing */
  limiter?: LoginLimiter;
  /** failures count per client: behind a trusted proxy, the client it names (default: loopback proxies) */
  trustedProxies?: TrustedProxies;
}

export function basicAuth(user: string, passwordHash: string, options: BasicAuthOptions = {}) {
  const {
    realm = 'PiCam Guardian',
    limiter = new LoginLimiter(DEFAULT_FAILURE_LIMITS),
    trustedProxies = parseTrustedProxies(undefined),
  } = options;
  const verified = new Map<string, number>();
  const wantUser = Buffer.from(user);
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? '';
    const key = createHash('sha256').update(header).digest('base64');
    const until = verified.get(key);
    if (until !== undefined && until > Date.now()) return next();
    const refuse = () => {
      res.set('WWW-Authenticate', `Basic realm="${realm}"`);
      res.status(401).json({ error: 'authentication required' });
    };
    /** true: go on; false: answered here. */
    const check = async (): Promise<boolean> => {
      const client = await admitClient(req, res, limiter, trustedProxies);
      if (client === undefined) return false;
      const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
      if (!m) {
        if (header) await limiter.fail(client);
        refuse();
        return false;
      }
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const gotUser = Buffer.from(colon < 0 ? '' : decoded.slice(0, colon));
      const userOk = gotUser.length === wantUser.length && timingSafeEqual(gotUser, wantUser);
      const passOk = await checkPassword(colon < 0 ? '' : decoded.slice(colon + 1), passwordHash);
      if (!userOk || !passOk) {
        await limiter.fail(client);
        refuse();
        return false;
      }
      if (verified.size > 1000) verified.clear();
      verified.set(key, Date.now() + REMEMBER_MS);
      return true;
    };
    check().then(
      (ok) => ok && next(),
      (err: Error) => next(err),
    );
  };
}
