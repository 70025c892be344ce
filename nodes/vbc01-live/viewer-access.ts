/**
 * Who may open a VBC01 live stream: a browser with a stream token the dashboard issued
 * (nodes/lib/access/stream-tokens.ts, the same token MediaMTX takes), signed with the runtime's
 * credential secret. Only where the dashboard itself has no logins (the demo, which the runtime
 * says with `picamLiveOpen`) is no token needed: secure by default everywhere else.
 */
import { verifyStreamToken } from '../lib/access/stream-tokens';
import { API_PATHS } from '../lib/contract/api-routes';
import type { TokenCheck } from './whep-api';

export interface AccessSettings {
  picamLiveOpen?: unknown;
  credentialSecret?: unknown;
}

export function streamTokenCheck(settings: AccessSettings, now: () => number = Date.now): TokenCheck {
  if (settings.picamLiveOpen === true) return () => ({ ok: true });
  const secret = settings.credentialSecret;
  if (typeof secret !== 'string' || secret === '')
    return () => ({ ok: false, status: 503, error: 'this runtime has no credential secret, so it cannot check stream tokens' });
  return (authorization) => {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m)
      return { ok: false, status: 401, error: `a stream token is required (Authorization: Bearer, from GET ${API_PATHS.streamToken})` };
    if (verifyStreamToken(secret, m[1]!, now()) === undefined)
      return { ok: false, status: 401, error: 'the stream token is not valid or has expired' };
    return { ok: true };
  };
}
