/**
 * What a command carries beside its envelope (vbc01-protocol.md §6), from a command request:
 * each action's fields checked, or why the command cannot be sent (the API answers 400).
 */
import { liveSeconds } from '../lib/contract/live-relay';
import { readZones, ZonesError, type ZonePolygon } from '../lib/contract/zones';
import type { CameraMode, CommandRequest } from '../lib/types';
import { SOUND_TYPES } from '../lib/types';
import { settingsDocument } from './camera-settings';
import { InvalidPayload, parseMode } from './payloads';

/** What a command carries beside the envelope (vbc01-protocol.md §6), or why it cannot be sent. */
export function commandFields(
  req: CommandRequest,
): { extra: Record<string, unknown>; mode?: CameraMode; zones?: ZonePolygon[] } | { error: string } {
  try {
    switch (req.action) {
      case 'setmode': {
        const mode = parseMode(req.mode);
        return { extra: setModeFields(mode), mode };
      }
      case 'settings-update': {
        const doc = settingsDocument(req.settings);
        return doc.ok ? { extra: doc.settings } : { error: doc.error };
      }
      case 'sound-play': {
        const soundType = typeof req.soundType === 'string' ? req.soundType.toUpperCase() : '';
        if (!(SOUND_TYPES as readonly string[]).includes(soundType)) {
          return { error: `sound must be one of ${SOUND_TYPES.join(', ')} (or "stop")` };
        }
        return { extra: { soundType } };
      }
      case 'zones':
        return zonesFields(req.zones);
      case 'live': {
        const seconds = liveSeconds(req.seconds);
        return typeof seconds === 'string' ? { error: seconds } : { extra: { seconds } };
      }
      default:
        return { extra: {} };
    }
  } catch (err) {
    if (err instanceof InvalidPayload) return { error: err.message };
    throw err;
  }
}

/** A zones command's polygons, checked; an empty list clears them, a missing one is refused (an empty body is a mistake). */
function zonesFields(given: unknown): { extra: Record<string, unknown>; zones: ZonePolygon[] } | { error: string } {
  if (given === undefined || given === null) return { error: 'zones missing: send {"zones": [...]} ([] removes every mask and zone)' };
  try {
    const zones = readZones(given);
    return { extra: { zones }, zones };
  } catch (err) {
    if (err instanceof ZonesError) return { error: err.message };
    throw err;
  }
}

/** The real dashboard's setmode: the mode and three "NA" strings (a timed mode would fill them). */
export function setModeFields(mode: CameraMode): Record<string, unknown> {
  return { mode, type: 'NA', durationMinutes: 'NA', intervalSeconds: 'NA' };
}
