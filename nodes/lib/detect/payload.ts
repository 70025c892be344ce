/**
 * `detection` as it arrives in an activity payload (from our cameras over MQTT, or
 * anyone's): checked field by field, so the store and the dashboard only ever see
 * a label, a score 0–1 and a box in percent.
 */
import type { Detection } from './types';

/** The reason a `detection` field is refused. */
export class InvalidDetection extends Error {}

export function readDetection(v: unknown): Detection | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidDetection('field "detection" must be an object {label, score, box}');
  const o = v as Record<string, unknown>;
  const label = o.label;
  if (typeof label !== 'string' || !/^[a-z][a-z _-]{0,31}$/i.test(label))
    throw new InvalidDetection('field "detection.label" must be a word such as "person" (letters, at most 32)');
  const score = number(o.score, 'detection.score', 0, 1);
  const b = o.box;
  if (typeof b !== 'object' || b === null || Array.isArray(b))
    throw new InvalidDetection('field "detection.box" must be an object {x, y, w, h} in percent');
  const box = b as Record<string, unknown>;
  return {
    label: label.toLowerCase(),
    score,
    box: {
      x: number(box.x, 'detection.box.x', 0, 100),
      y: number(box.y, 'detection.box.y', 0, 100),
      w: number(box.w, 'detection.box.w', 0, 100),
      h: number(box.h, 'detection.box.h', 0, 100),
    },
  };
}

function number(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new InvalidDetection(`field "${name}" must be a number ${min}..${max}`);
  return v;
}
