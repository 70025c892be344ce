/**
 * Cameras hosted by a device: an IP camera on a Pi's LAN, which the cloud cannot
 * reach, is run by the Pi and reported through the Pi's own MQTT login
 * (docs/ipcam.md "On the Pi"). Its topics carry the Pi's id at the level the
 * broker's per-device rule checks, then the camera's own id:
 *
 *   {prefix}/device/{connection|status}/ipcam/{hostId}/{cameraId}
 *   {prefix}/device/message/ipcam/{hostId}/{cameraId}/{category}/{action}
 *   {prefix}/honeycomb/{hostId}/ipcam/{cameraId}/{category}/{action}   (commands)
 *
 * In the cloud the camera is the device `{hostId}.{cameraId}`. The dot is in no
 * plain device id (DEVICE_ID_PATTERN), so that id names exactly one (host, camera)
 * pair and no device can take it by connecting with it as client id: the
 * processor refuses a dotted id in a plain topic.
 */
import { DEVICE_ID_PATTERN } from './types';

/** The only device type a device may host. */
export const HOSTED_DEVICE_TYPE = 'ipcam';

/** A plain device id, or a hosted camera's `{hostId}.{cameraId}`. */
export const ANY_DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}(?:\.[A-Za-z0-9_-]{1,64})?$/;

export interface HostedId {
  hostId: string;
  cameraId: string;
}

/** `{hostId}.{cameraId}`; both must be plain device ids. */
export function hostedDeviceId(hostId: string, cameraId: string): string {
  if (!DEVICE_ID_PATTERN.test(hostId) || !DEVICE_ID_PATTERN.test(cameraId))
    throw new Error(`a hosted camera needs plain ids (got host "${hostId}", camera "${cameraId}")`);
  return `${hostId}.${cameraId}`;
}

/** The host and camera of a hosted id, or undefined for a plain (or invalid) id. */
export function splitHostedId(id: string): HostedId | undefined {
  if (!ANY_DEVICE_ID_PATTERN.test(id)) return undefined;
  const dot = id.indexOf('.');
  return dot < 0 ? undefined : { hostId: id.slice(0, dot), cameraId: id.slice(dot + 1) };
}

/** Where a device's commands go: `{prefix}/honeycomb/{id}` or, hosted, `{prefix}/honeycomb/{host}/ipcam/{camera}`. */
export function commandBase(prefix: string, deviceId: string): string {
  const hosted = splitHostedId(deviceId);
  if (hosted) return `${prefix}/honeycomb/${hosted.hostId}/${HOSTED_DEVICE_TYPE}/${hosted.cameraId}`;
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new Error(`invalid device id "${deviceId}"`);
  return `${prefix}/honeycomb/${deviceId}`;
}

/** The device a command topic addresses (`…/honeycomb/{id}/…`, hosted ones included), or undefined. */
export function commandTarget(topic: string): string | undefined {
  const parts = topic.split('/');
  const at = parts.indexOf('honeycomb');
  if (at < 0 || parts[at + 1] === undefined) return undefined;
  const host = parts[at + 1]!;
  const camera = parts[at + 3];
  if (parts[at + 2] === HOSTED_DEVICE_TYPE && camera !== undefined && DEVICE_ID_PATTERN.test(host) && DEVICE_ID_PATTERN.test(camera))
    return `${host}.${camera}`;
  return host;
}
