/**
 * Short-lived tokens that let a dashboard user's browser watch live video.
 *
 * The browser talks to MediaMTX directly (WHEP), and MediaMTX asks the runtime
 * whether it may (`/mediamtx/auth`, cli/runtime/mediamtx-auth.ts), passing on the
 * `Authorization: Bearer` token the browser sent. The dashboard never has the
 * user's password to give MediaMTX, so it asks the runtime for one of these
 * before each connection: `<expiresMs>.<user, base64url>.<HMAC-SHA256>`, signed
 * with a key derived from PICAM_CREDENTIAL_SECRET. Stateless: a logout does not
 * revoke one, which is why they live only minutes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const STREAM_TOKEN_TTL_MS = 10 * 60_000;

function sign(secret: string, body: string): string {
  const key = createHmac('sha256', secret).update('picam-guardian stream token v1').digest();
  return createHmac('sha256', key).update(body).digest('base64url');
}

export function issueStreamToken(secret: string, user: string, nowMs = Date.now(), ttlMs = STREAM_TOKEN_TTL_MS): string {
  const body = `${nowMs + ttlMs}.${Buffer.from(user).toString('base64url')}`;
  return `${body}.${sign(secret, body)}`;
}

/** The user a token was issued to, or undefined when it is forged, tampered with or expired. */
export function verifyStreamToken(secret: string, token: string, nowMs = Date.now()): string | undefined {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{1,128})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return undefined;
  const expected = Buffer.from(sign(secret, `${m[1]}.${m[2]}`));
  const given = Buffer.from(m[3]!);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  if (Number(m[1]) <= nowMs) return undefined;
  return Buffer.from(m[2]!, 'base64url').toString('utf8');
}
