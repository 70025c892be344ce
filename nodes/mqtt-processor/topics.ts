/**
 * The device topic tree (DESIGN.md §5) as a parser and the command topics as
 * builders. Pure functions: no Node-RED, no I/O.
 */
import { commandBase, hostedDeviceId, HOSTED_DEVICE_TYPE } from '../lib/hosted-devices';
import { LIVE_RELAY_TOPIC_TAIL } from '../lib/contract/live-relay';
import { DEVICE_ID_PATTERN, EVENT_ID_PATTERN, VBC01_CAMERA_ID_PATTERN, VBC01_DEVICE_TYPE, type CommandAction } from '../lib/types';

export type DeviceTopicKind = 'connection' | 'heartbeat' | 'activity' | 'camera-state' | 'sensor' | 'thumbnail';

export interface DeviceTopic {
  kind: DeviceTopicKind;
  deviceType: string;
  deviceId: string;
  /** thumbnail: the event the picture belongs to (it is in the topic, the payload is the JPEG) */
  eventId?: string;
  /** activity: the topic's last level (start, stop, end, or any other one word) */
  level?: string;
}

export interface TopicConfig {
  prefix: string;
  deviceTypes: readonly string[];
}

export type TopicParse = { ok: true; topic: DeviceTopic } | { ok: false; reason: string; deviceId?: string };

/** `…/message/{type}/{id}/` followed by one of these tails (activity/{level} apart) */
const MESSAGE_TAILS: Record<string, DeviceTopicKind> = {
  'camera/state': 'camera-state',
  'sensors/environment': 'sensor',
};

/** An activity's last level: one word (the real processor takes any; ours must fit a column). */
const ACTIVITY_LEVEL = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * A hosted camera's topic (nodes/lib/hosted-devices.ts), `{section}/ipcam/{host}/{camera}/…`,
 * as the device `{host}.{camera}` with the plain topic's tail. The forms cannot be confused:
 * after the type, a plain connection/status has one level and a hosted one two; a plain
 * message has three levels, or four with "thumbnail" third (activity/thumbnail/{event}),
 * while a hosted message has four or five with a plain tail's first level third
 * (activity, camera, sensors), never "thumbnail".
 */
function hostedParts(plain: string[]): string[] | undefined {
  const [section, deviceType, host, camera, ...tail] = plain;
  if (deviceType !== HOSTED_DEVICE_TYPE || host === undefined || camera === undefined) return undefined;
  const fits =
    section === 'message'
      ? tail.length >= 2 && tail[0] !== 'thumbnail'
      : (section === 'connection' || section === 'status') && tail.length === 0;
  if (!fits || !DEVICE_ID_PATTERN.test(host) || !DEVICE_ID_PATTERN.test(camera)) return undefined;
  return [section!, deviceType, hostedDeviceId(host, camera), ...tail];
}

export function parseDeviceTopic(topic: string, cfg: TopicConfig): TopicParse {
  const head = `${cfg.prefix}/device/`;
  if (!topic.startsWith(head)) return { ok: false, reason: `unknown topic: not under ${head}` };
  const plain = topic.slice(head.length).split('/');
  const parts = hostedParts(plain) ?? plain;
  const [section, deviceType, deviceId, ...tail] = parts;
  let kind: DeviceTopicKind | undefined;
  let eventId: string | undefined;
  let level: string | undefined;
  if (section === 'message' && tail.length === 2 && tail[0] === 'activity' && ACTIVITY_LEVEL.test(tail[1]!)) {
    kind = 'activity';
    level = tail[1]!.toLowerCase();
  } else if (section === 'message' && tail.length === 3 && tail[0] === 'activity' && tail[1] === 'thumbnail') {
    kind = 'thumbnail';
    eventId = tail[2];
    if (!EVENT_ID_PATTERN.test(eventId!))
      return { ok: false, reason: `invalid event id in thumbnail topic (must match ${EVENT_ID_PATTERN.source})` };
  } else if (section === 'connection' && tail.length === 0) kind = 'connection';
  else if (section === 'status' && tail.length === 0) kind = 'heartbeat';
  else if (section === 'message') kind = MESSAGE_TAILS[tail.join('/')];
  if (!kind || deviceType === undefined || deviceId === undefined) {
    return { ok: false, reason: 'unknown topic' };
  }
  if (!cfg.deviceTypes.includes(deviceType)) {
    return { ok: false, reason: `unknown device type "${deviceType}" (configured: ${cfg.deviceTypes.join(', ')})` };
  }
  // A dotted (hosted) id only from a hosted topic: a device cannot connect as `{host}.{camera}` and take it.
  if (parts === plain && !DEVICE_ID_PATTERN.test(deviceId)) {
    return { ok: false, reason: `invalid device id (must match ${DEVICE_ID_PATTERN.source})` };
  }
  // The firmware's ids are 32 upper-case hex digits; the real processor ignores any other (§1).
  if (deviceType === VBC01_DEVICE_TYPE && !VBC01_CAMERA_ID_PATTERN.test(deviceId)) {
    return { ok: false, reason: `invalid VBC01 camera id "${deviceId}" (must be 32 upper-case hex digits)` };
  }
  return { ok: true, topic: { kind, deviceType, deviceId, ...(eventId ? { eventId } : {}), ...(level ? { level } : {}) } };
}

export type CommandTopicAction = CommandAction;

const COMMAND_PATHS: Record<CommandTopicAction, string> = {
  setmode: 'system/setmode',
  reboot: 'system/reboot',
  'settings-update': 'settings/update',
  'sound-play': 'sound/play',
  'sound-stop': 'sound/stop',
  live: LIVE_RELAY_TOPIC_TAIL,
};

/**
 * `prod/honeycomb/{id}/system/setmode` and friends, or for a hosted camera
 * `prod/honeycomb/{host}/ipcam/{camera}/system/setmode` (its host reads its commands); the id must already be valid.
 */
export function commandTopic(prefix: string, deviceId: string, action: CommandTopicAction): string {
  return `${commandBase(prefix, deviceId)}/${COMMAND_PATHS[action]}`;
}
