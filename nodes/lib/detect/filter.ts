/**
 * A camera's choice among the model's detections: the labels it wants, above its
 * score, with boxes tall enough to be more than noise.
 */
import { COCO_LABELS } from './labels';
import { SMART_LABEL, type Detection, type DetectionFilter } from './types';

export function keep(detections: readonly Detection[], filter: DetectionFilter): Detection[] {
  return detections.filter((d) => d.score >= filter.threshold && d.box.h >= filter.minBoxPercent && filter.labels.includes(d.label));
}

/** The one that describes an event best: a person before anything else, then the highest score. */
export function best(detections: readonly Detection[]): Detection | undefined {
  let top: Detection | undefined;
  for (const d of detections) {
    if (!top || rank(d) > rank(top)) top = d;
  }
  return top;
}

function rank(d: Detection): number {
  return (d.label === SMART_LABEL ? 1 : 0) + d.score / 2;
}

/**
 * A filter from settings (editor text or numbers), checked: an unknown label or a
 * score outside 0–1 is refused with the reason, not ignored.
 */
export function parseFilter(
  given: { threshold?: unknown; minBoxPercent?: unknown; labels?: unknown },
  defaults: DetectionFilter,
): DetectionFilter {
  const num = (name: string, v: unknown, def: number, min: number, max: number): number => {
    if (v === undefined || v === null || v === '') return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be between ${min} and ${max} (got ${String(v)})`);
    return n;
  };
  const labels = parseLabels(given.labels) ?? defaults.labels;
  return {
    threshold: num('score threshold', given.threshold, defaults.threshold, 0, 1),
    minBoxPercent: num('minimum box size', given.minBoxPercent, defaults.minBoxPercent, 0, 100),
    labels,
  };
}

/** "person, car" or ["person","car"] → checked labels; undefined when none are given. */
export function parseLabels(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : undefined;
  if (!list) throw new Error('labels must be a comma-separated list such as "person, car"');
  const labels = list.map((l) => String(l).trim().toLowerCase()).filter((l) => l !== '');
  const unknown = labels.filter((l) => !COCO_LABELS.includes(l));
  if (unknown.length)
    throw new Error(`unknown label(s) ${unknown.join(', ')}: the model knows the 80 COCO labels (person, car, dog, cat, ...)`);
  return labels.length ? [...new Set(labels)] : undefined;
}
