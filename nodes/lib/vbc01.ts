/**
 * What identifies a VBC01 camera on the wire (vbc01-protocol.md §1): one
 * definition for the config server, the broker's certificate login and the
 * provisioning command; and the time format of the command envelope (§6) that
 * mqtt-processor and vbc01-live both write.
 */

/** A camera id: 32 hex digits, upper case, no dashes (the real processor ignores any other id in a topic). */
export const VBC01_CAMERA_ID = /^[0-9A-F]{32}$/;

/** The device-type level of a camera's topics: `{prefix}/device/connection/hive-cam/{id}`. */
export const VBC01_DEVICE_TYPE = 'hive-cam';

/** The common name of the client certificate every camera shares (the real platform's `camera_client`). */
export const CAMERA_CLIENT_CN = 'camera_client';

/**
 * The SSRCs a camera streams with, fixed by the firmware (vbc01-protocol.md §7): the platform
 * writes them into the SDP it sends with `stream/play`, and the camera uses them for its RTP.
 */
export const VBC01_AUDIO_SSRC = 229236353;
export const VBC01_VIDEO_SSRC = 1607797317;

/** An example id for messages. */
const EXAMPLE_ID = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';

/**
 * Why `value` is not a VBC01 camera id, for a 400's reason; undefined when it
 * is one. Names the usual slips (lower case, a UUID's dashes) so the fix is
 * plain: ids are compared exactly, as the firmware and the real processor do.
 */
export function vbc01IdProblem(value: unknown): string | undefined {
  if (typeof value === 'string' && VBC01_CAMERA_ID.test(value)) return undefined;
  const got = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
  const hint =
    typeof value !== 'string'
      ? ''
      : VBC01_CAMERA_ID.test(value.toUpperCase())
        ? ' (upper case, as the camera sends it)'
        : VBC01_CAMERA_ID.test(value.replace(/-/g, '').toUpperCase())
          ? ' (without dashes, upper case, as the camera sends it)'
          : '';
  return `a camera id is 32 upper-case hex digits, e.g. ${EXAMPLE_ID}${hint} (got ${got})`;
}

/**
 * A command envelope's `creationTimestamp` (vbc01-protocol.md §6): UTC ISO 8601 as Python's
 * isoformat writes it: microseconds, dropped when zero, then Z.
 */
export function creationTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  const fraction = ms % 1000 === 0 ? '' : `.${iso.slice(20, 23)}000`;
  return `${iso.slice(0, 19)}${fraction}Z`;
}
