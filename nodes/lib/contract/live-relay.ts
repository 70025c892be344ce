/**
 * Live video of a camera hosted by a Pi (docs/ipcam.md "On the Pi"): the cloud
 * cannot reach the camera, so the Pi relays its main stream to MediaMTX, at the
 * path named like the hosted device (`{pi}.{camera}`), only while someone
 * watches. A viewer asks with `POST /api/control/live/{pi}.{camera}` (command
 * `live`, topic `…/honeycomb/{pi}/ipcam/{camera}/stream/play`, payload the
 * command envelope and `seconds`), and asks again while watching: the Pi stops
 * relaying when no request came for `seconds`.
 */

/** How long the Pi relays after one request when the request says nothing. */
export const LIVE_RELAY_DEFAULT_SECONDS = 60;
/** Bounds of `seconds`: below, a viewer's renewals could not keep up; above, nobody is watching any more. */
export const LIVE_RELAY_MIN_SECONDS = 5;
export const LIVE_RELAY_MAX_SECONDS = 600;
/**
 * A relay request waits this long in the cloud's command queue, no longer: one
 * delivered later than this finds nobody watching (the viewer asks again every
 * seconds/2 anyway).
 */
export const LIVE_RELAY_TTL_SECONDS = 20;

/** The command topic's tail, after `…/honeycomb/{pi}/ipcam/{camera}/`. */
export const LIVE_RELAY_TOPIC_TAIL = 'stream/play';

/** `seconds` from an untrusted value: undefined means the default; anything else out of bounds is an error text. */
export function liveSeconds(value: unknown): number | string {
  if (value === undefined || value === null || value === '') return LIVE_RELAY_DEFAULT_SECONDS;
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < LIVE_RELAY_MIN_SECONDS || n > LIVE_RELAY_MAX_SECONDS)
    return `seconds must be a whole number from ${LIVE_RELAY_MIN_SECONDS} to ${LIVE_RELAY_MAX_SECONDS} (got ${JSON.stringify(value)})`;
  return n;
}
