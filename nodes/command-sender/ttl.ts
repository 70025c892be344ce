/**
 * How long a command may wait for the broker. A command delivered late can do
 * harm: a reboot an hour after it was asked for restarts a camera nobody is
 * watching any more, so it lives 10 minutes. Settings are still wanted a little
 * later (1 hour). A mode change may live a day: it is also the device's desired
 * mode, which the cloud sends again whenever the device reconnects, and a newer
 * mode change replaces a queued older one, so a late one never undoes a newer one.
 * A sound is wanted now or never: a siren or a dog bark minutes after someone
 * pressed the button frightens whoever is there then, so sounds live one minute
 * (a VBC01 plays one for 20-30 s by itself, so a stop that expires costs little).
 * A live-stream command (vbc01-live) is useless later still: the viewer gave up on a play after
 * 10 s, a keepalive is replaced by the next one 15 s on, and a camera stops by itself 30 s after
 * its last REMB; so they live 15 s.
 * A request to relay live video (`live`) lives 20 s: the viewer asks again while
 * watching, and one delivered minutes late starts a relay for nobody.
 */
import { numberSetting } from '../lib/node-config';
import { LIVE_RELAY_TTL_SECONDS } from '../lib/contract/live-relay';

export interface CommandTtls {
  setmode: number;
  reboot: number;
  'settings-update': number;
}

export const DEFAULT_TTL_SECONDS: CommandTtls = { setmode: 86_400, reboot: 600, 'settings-update': 3600 };

export const SOUND_TTL_SECONDS = 60;

export const STREAM_TTL_SECONDS = 15;

/** Commands worth nothing after a short while, whatever the node's settings: their fixed life in seconds. */
const SHORT_LIVED: Readonly<Record<string, number>> = {
  'sound-play': SOUND_TTL_SECONDS,
  'sound-stop': SOUND_TTL_SECONDS,
  'stream-play': STREAM_TTL_SECONDS,
  'stream-keepalive': STREAM_TTL_SECONDS,
  'stream-stop': STREAM_TTL_SECONDS,
  live: LIVE_RELAY_TTL_SECONDS,
};

/** Time-to-live in ms for a command kind; kinds other flows send get the settings one. */
export function ttlMs(ttls: CommandTtls, action: string): number {
  // Own keys only: an action named like an Object method ('constructor') is just another unknown kind.
  if (Object.hasOwn(SHORT_LIVED, action)) return SHORT_LIVED[action]! * 1000;
  const seconds = Object.hasOwn(ttls, action) ? ttls[action as keyof CommandTtls] : ttls['settings-update'];
  return seconds * 1000;
}

/** The node's properties (seconds; empty, not a number or not above 0 means the default). */
export function parseTtls(raw: { modeTtlSeconds?: unknown; rebootTtlSeconds?: unknown; settingsTtlSeconds?: unknown }): CommandTtls {
  const pick = (value: unknown, def: number) => {
    const n = numberSetting(value as string | number | undefined, def);
    return n > 0 ? n : def;
  };
  return {
    setmode: pick(raw.modeTtlSeconds, DEFAULT_TTL_SECONDS.setmode),
    reboot: pick(raw.rebootTtlSeconds, DEFAULT_TTL_SECONDS.reboot),
    'settings-update': pick(raw.settingsTtlSeconds, DEFAULT_TTL_SECONDS['settings-update']),
  };
}

/** "10 min", "45 s", "24 h": for reasons and status text. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
