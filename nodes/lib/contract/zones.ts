/**
 * Masks and zones of a camera (issue 20): polygons over the picture, in percent of its width
 * and height (0–100, origin top left), so one drawing fits every resolution the camera is
 * analysed at. A `mask` hides what is inside it from motion detection (a tree, a road); a
 * `zone` names a part of the picture, and a motion event lists the zones it touched.
 *
 * One checker for the editor property, the API and the device command: what it refuses is
 * refused with a reason a user reads (the API answers 400 with it). Browser-safe, like
 * everything in nodes/lib/contract/: the dashboard's drawing tool checks with it too.
 */

/** x, y in percent of the picture's width and height. */
export type ZonePoint = [number, number];

export interface ZonePolygon {
  kind: 'mask' | 'zone';
  /** a zone's name (unique among the camera's zones; events carry it); optional on a mask */
  name?: string;
  /** 3 or more corners, in order (the last joins the first) */
  points: ZonePoint[];
  /** zones only: motion inside must cover at least this percent of the picture to count (default 0) */
  minArea?: number;
  /**
   * zones only: the camera's motion sensitivity (0–1, higher sees smaller changes) for the pixels
   * inside the zone, instead of the camera's own (default: the camera's)
   */
  sensitivity?: number;
  /**
   * zones only: how long motion must last inside the zone before the event names it, in seconds
   * (0–60; default: any motion during the event). Shorter than the camera's own minimum, motion
   * in the zone starts the event that much sooner.
   */
  minMotionSeconds?: number;
}

/** A zone's own settings: what each is, its range, and its unit for error messages. */
const ZONE_SETTINGS = {
  minArea: { max: 100, what: 'a percent, 0–100' },
  sensitivity: { max: 1, what: 'a number from 0 (only big changes) to 1 (the smallest)' },
  minMotionSeconds: { max: 60, what: 'seconds, 0–60' },
} as const;
const POLYGON_FIELDS = ['kind', 'name', 'points', ...Object.keys(ZONE_SETTINGS)];

/** What a camera accepts: more would only slow the detector and clutter the picture. */
export const ZONE_LIMITS = { polygons: 16, points: 32 } as const;

/** A zone's name: it travels in events, alerts and URLs' query strings. */
export const ZONE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,31}$/;

export class ZonesError extends Error {}

/**
 * Reads and checks a camera's polygons from untrusted input: an array, a JSON text of one
 * (the editor property), or empty (no polygons). Throws ZonesError naming what is wrong.
 */
export function readZones(value: unknown): ZonePolygon[] {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return [];
  let list = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch {
      throw new ZonesError('zones must be JSON: a list of {kind, name, points}');
    }
  }
  if (!Array.isArray(list)) throw new ZonesError('zones must be a list of {kind, name, points}');
  if (list.length > ZONE_LIMITS.polygons) throw new ZonesError(`at most ${ZONE_LIMITS.polygons} masks and zones (got ${list.length})`);
  const polygons = list.map((p: unknown, i) => readPolygon(p, i));
  const names = new Set<string>();
  for (const p of polygons) {
    if (p.kind !== 'zone') continue;
    if (names.has(p.name!)) throw new ZonesError(`two zones are named "${p.name}": zone names must differ`);
    names.add(p.name!);
  }
  return polygons;
}

function readPolygon(value: unknown, i: number): ZonePolygon {
  const at = `polygon ${i + 1}`;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ZonesError(`${at} must be an object {kind, name, points}`);
  const p = value as Record<string, unknown>;
  const unknown = Object.keys(p).filter((k) => !POLYGON_FIELDS.includes(k));
  if (unknown.length) throw new ZonesError(`${at}: unknown field "${unknown[0]}" (fields: ${POLYGON_FIELDS.join(', ')})`);
  if (p.kind !== 'mask' && p.kind !== 'zone') throw new ZonesError(`${at}: kind must be "mask" or "zone"`);
  const name = p.name === undefined || p.name === '' ? undefined : p.name;
  if (name !== undefined && (typeof name !== 'string' || !ZONE_NAME_PATTERN.test(name))) {
    throw new ZonesError(`${at}: name must be 1–32 letters, digits, spaces, _ . or -, starting with a letter or digit`);
  }
  if (p.kind === 'zone' && name === undefined) throw new ZonesError(`${at}: a zone needs a name`);
  const points = readPoints(p.points, at);
  const polygon: ZonePolygon = { kind: p.kind, ...(name !== undefined ? { name } : {}), points };
  for (const [field, { max, what }] of Object.entries(ZONE_SETTINGS) as Array<
    [keyof typeof ZONE_SETTINGS, { max: number; what: string }]
  >) {
    const v = p[field];
    if (v === undefined) continue;
    if (p.kind !== 'zone') throw new ZonesError(`${at}: ${field} is for zones, not masks`);
    if (typeof v !== 'number' || !(v >= 0 && v <= max)) throw new ZonesError(`${at}: ${field} must be ${what} (got ${JSON.stringify(v)})`);
    polygon[field] = v;
  }
  return polygon;
}

function readPoints(value: unknown, at: string): ZonePoint[] {
  if (!Array.isArray(value) || value.length < 3) throw new ZonesError(`${at}: points must be a list of at least 3 [x, y]`);
  if (value.length > ZONE_LIMITS.points) throw new ZonesError(`${at}: at most ${ZONE_LIMITS.points} points (got ${value.length})`);
  return value.map((pt: unknown, j) => {
    const ok = Array.isArray(pt) && pt.length === 2 && pt.every((c) => typeof c === 'number' && c >= 0 && c <= 100);
    if (!ok) throw new ZonesError(`${at}, point ${j + 1}: must be [x, y] with both in percent, 0–100`);
    return [pt[0], pt[1]] as ZonePoint;
  });
}

/** Whether (x, y) lies inside the polygon (even-odd rule; all in the same units). */
export function insidePolygon(x: number, y: number, points: readonly ZonePoint[]): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i]!;
    const [xj, yj] = points[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The names of the zones among the polygons, in order. */
export function zoneNames(polygons: readonly ZonePolygon[]): string[] {
  return polygons.filter((p) => p.kind === 'zone').map((p) => p.name!);
}
