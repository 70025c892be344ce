/**
 * Signed links to one event in the dashboard (issue 19), for alert captions and the
 * "Open in dashboard" button: `<base>/dashboard/event?c=<camera>&e=<event>&t=<event time>&x=<expiry>&s=<HMAC>`.
 *
 * The HMAC-SHA256 covers the camera, the event id, the event's time and the expiry, under a key
 * derived from the runtime's credential secret (PICAM_CREDENTIAL_SECRET, as the stream tokens
 * and the secret box use it) with its own context label, so a link's signature is no use as any
 * other token. The link does not log anyone in: a valid one leads to the dashboard's login and
 * then to that event (dashboard/server/event-links.ts); a tampered or expired one is refused.
 *
 * The same signature, under its own label, makes an event's *picture* link
 * (`/api/media/picture?...`, served by the camera gateway's media router): a phone's notification
 * loads the picture without the dashboard's login, so that link opens the one picture and nothing
 * else, and only until it expires. A picture link's signature opens no event link, nor the reverse.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { API_PATHS } from './contract/api-routes';
import { ANY_DEVICE_ID_PATTERN } from './hosted-devices';
import { EVENT_ID_PATTERN } from './types';

/** Where the dashboard answers a link (outside /api: it redirects a browser, it is no API). */
export const EVENT_LINK_PATH = '/dashboard/event';

/** What a signed link opens: the event in the dashboard (after its login), or the event's picture (no login). */
export type LinkPurpose = 'event' | 'picture';

const LINK_PATHS: Record<LinkPurpose, string> = { event: EVENT_LINK_PATH, picture: API_PATHS.mediaPicture };
/** Each purpose its own key: a link made for one is refused (403) for the other. */
const KEY_LABELS: Record<LinkPurpose, string> = { event: 'picam-guardian event link v1', picture: 'picam-guardian event picture v1' };

/** How long a link in an alert works unless the node says otherwise. */
export const DEFAULT_LINK_DAYS = 7;

export interface EventRef {
  cameraId: string;
  eventId: string;
  /** the event's start, Unix ms: lets the page find the event without a search */
  timeMs: number;
}

export type LinkCheck = ({ ok: true; expiresMs: number } & EventRef) | { ok: false; status: 400 | 403 | 410; reason: string };

function signature(secret: string, ref: EventRef, expiresMs: number, purpose: LinkPurpose): string {
  const key = createHmac('sha256', secret).update(KEY_LABELS[purpose]).digest();
  // Newline-separated: no id may hold one (the id patterns), so two different tuples never sign the same text.
  return createHmac('sha256', key).update(`${ref.cameraId}\n${ref.eventId}\n${ref.timeMs}\n${expiresMs}`).digest('base64url');
}

/** The query string of a link (without `?`), valid until `expiresMs`. */
export function signEventLink(secret: string, ref: EventRef, expiresMs: number, purpose: LinkPurpose = 'event'): string {
  const q = new URLSearchParams({
    c: ref.cameraId,
    e: ref.eventId,
    t: String(Math.round(ref.timeMs)),
    x: String(Math.round(expiresMs)),
  });
  q.set('s', signature(secret, { ...ref, timeMs: Math.round(ref.timeMs) }, Math.round(expiresMs), purpose));
  return q.toString();
}

/** The full link under `baseUrl` (the dashboard's public address, e.g. https://cams.example.org). */
export function eventLinkUrl(baseUrl: string, secret: string, ref: EventRef, expiresMs: number, purpose: LinkPurpose = 'event'): string {
  return `${baseUrl.replace(/\/+$/, '')}${LINK_PATHS[purpose]}?${signEventLink(secret, ref, expiresMs, purpose)}`;
}

/** Checks a link's query: 400 malformed, 403 tampered (or signed with another secret, or for the other purpose), 410 expired. */
export function verifyEventLink(secret: string, query: URLSearchParams, nowMs = Date.now(), purpose: LinkPurpose = 'event'): LinkCheck {
  const [c, e, t, x, s] = ['c', 'e', 't', 'x', 's'].map((k) => query.get(k) ?? '');
  if (!ANY_DEVICE_ID_PATTERN.test(c!) || !EVENT_ID_PATTERN.test(e!))
    return { ok: false, status: 400, reason: 'the link names no valid camera and event' };
  if (!/^\d{1,15}$/.test(t!) || !/^\d{1,15}$/.test(x!)) return { ok: false, status: 400, reason: 'the link has no valid time or expiry' };
  if (!/^[A-Za-z0-9_-]{43}$/.test(s!)) return { ok: false, status: 403, reason: 'the link is not signed' };
  const ref = { cameraId: c!, eventId: e!, timeMs: Number(t) };
  const expected = Buffer.from(signature(secret, ref, Number(x), purpose));
  const given = Buffer.from(s!);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, status: 403, reason: 'the link was changed or was not made by this server' };
  }
  if (Number(x) <= nowMs) return { ok: false, status: 410, reason: 'the link has expired: open the event from the dashboard' };
  return { ok: true, ...ref, expiresMs: Number(x) };
}

/** The dashboard page's own address of an event (a fragment: it never reaches a server log). */
export function eventFragment(ref: EventRef): string {
  return `#event=${encodeURIComponent(ref.cameraId)}/${encodeURIComponent(ref.eventId)}/${ref.timeMs}`;
}

/**
 * Signs event links for an alert node when it has the dashboard's address and the runtime a
 * credential secret; otherwise none, with a warning that says why.
 */
export function eventLinker(
  baseUrl: string | undefined,
  linkDays: number,
  secret: string | undefined,
  warn: (m: string) => void,
  purpose: LinkPurpose = 'event',
): ((ref: EventRef) => string) | undefined {
  const base = baseUrl?.trim();
  if (!base) return undefined;
  if (!/^https?:\/\/[^/\s]+/.test(base)) {
    warn(`dashboard URL "${base}" is not an http(s) address: alerts go out without event links`);
    return undefined;
  }
  if (!secret) {
    warn('the runtime has no credential secret (PICAM_CREDENTIAL_SECRET): alerts go out without event links');
    return undefined;
  }
  return (ref) => eventLinkUrl(base, secret, ref, Date.now() + linkDays * 86_400_000, purpose);
}
