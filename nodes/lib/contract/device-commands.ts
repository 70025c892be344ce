/**
 * The device commands' MQTT topics (`{prefix}/honeycomb/{id}/{path}`) and what
 * a device type cannot obey. An IP camera (`ipcam`) is an RTSP camera the
 * platform pulls: it obeys a mode, but cannot be rebooted, reconfigured or made
 * to play a sound through this platform. Such a command is refused with a
 * reason a user reads (the API answers 409 with it; the ipcam node answers one
 * that reaches it anyway), never queued for a device that would ignore it.
 *
 * Browser-safe data, like everything in nodes/lib/contract/.
 */

import { LIVE_RELAY_TOPIC_TAIL } from './live-relay';

export type DeviceCommand = 'setmode' | 'reboot' | 'settings-update' | 'sound-play' | 'sound-stop' | 'live' | 'zones';

/** Each command's topic path after `{prefix}/honeycomb/{id}/`. */
export const COMMAND_TOPIC_PATHS: Readonly<Record<DeviceCommand, string>> = {
  setmode: 'system/setmode',
  reboot: 'system/reboot',
  'settings-update': 'settings/update',
  'sound-play': 'sound/play',
  'sound-stop': 'sound/stop',
  // a Pi-hosted camera's relay request (live-relay.ts)
  live: LIVE_RELAY_TOPIC_TAIL,
  // masks and zones of a Pi's or an IP camera's motion detection (zones.ts)
  zones: 'settings/zones',
};

/** The command a topic carries, from its last two parts; undefined for any other topic. */
export function commandOfTopic(topic: string): DeviceCommand | undefined {
  const tail = topic.split('/').slice(-2).join('/');
  return (Object.keys(COMMAND_TOPIC_PATHS) as DeviceCommand[]).find((c) => COMMAND_TOPIC_PATHS[c] === tail);
}

const REFUSALS: Readonly<Record<string, Partial<Record<DeviceCommand, string>>>> = {
  'hive-cam': {
    zones: 'a VBC01 camera detects motion itself: set its activity zone in its settings (activityZone), not masks and zones',
  },
  ipcam: {
    reboot: 'an IP camera cannot be rebooted from here: restart it from its own web page or app',
    'settings-update': "an IP camera's settings are changed in its own web page or app, not here",
    'sound-play': 'an IP camera cannot play sounds',
    'sound-stop': 'an IP camera cannot play sounds',
  },
};

/** Why a device of this type cannot obey the command, or undefined when it can. */
export function commandRefusal(deviceType: string, command: string): string | undefined {
  return REFUSALS[deviceType]?.[command as DeviceCommand];
}
