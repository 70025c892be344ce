/**
 * "Only for motion in zones" (issue 20): an alert node's list of zone names. An activity alert
 * is sent when the camera's event touched one of them; an event elsewhere in the picture is
 * stored as ever, but nobody is told. A camera that reports no zones at all (a VBC01, which
 * has none of ours) is not held back: like a camera of unknown mode, it must not go silent
 * because of a rule it cannot satisfy.
 */
import { ZONE_NAME_PATTERN } from '../contract/zones';
import type { Alert } from '../types';

/** "driveway, front door" → the names, without repeats; throws naming a name that cannot be a zone's. */
export function parseZoneList(value: string | undefined): string[] {
  const names: string[] = [];
  for (const raw of (value ?? '').split(',')) {
    const name = raw.trim();
    if (!name) continue;
    if (!ZONE_NAME_PATTERN.test(name)) {
      throw new Error(`"${name}" is not a zone name (1–32 letters, digits, spaces, _ . or -; names are separated by commas)`);
    }
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Why the alert is held back by the zone rule, or undefined when it may go. */
export function outsideZones(alert: Partial<Alert>, required: readonly string[]): string | undefined {
  if (required.length === 0 || alert.kind !== 'activity' || !Array.isArray(alert.zones)) return undefined;
  if (alert.zones.some((z) => required.includes(z))) return undefined;
  const where = alert.zones.length ? `in ${alert.zones.join(', ')}` : 'outside every zone';
  return `motion ${where}, not in ${required.join(', ')}`;
}
