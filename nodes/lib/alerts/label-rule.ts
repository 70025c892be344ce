/**
 * "Alert me only for people": an alert node's rule that lets a camera's activity
 * alerts through only when its object detector saw one of the given labels (issue
 * 20). Written as `person` (every camera) or per camera as
 * `driveway=person; garden=person, dog` (camera ids or names). Cameras the rule
 * does not name, and alerts other than activity, are not affected.
 */
import { parseLabels } from '../detect/filter';
import type { Alert } from '../types';

/** camera id or name → labels; '*' for every camera */
export type LabelRule = ReadonlyMap<string, readonly string[]>;

const EVERY_CAMERA = '*';

/** Parses the editor's text; an empty one is no rule. Throws with the reason on an unknown label. */
export function parseLabelRule(text: string | undefined): LabelRule | undefined {
  const src = (text ?? '').trim();
  if (!src) return undefined;
  const rule = new Map<string, string[]>();
  for (const part of src
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const camera = eq < 0 ? EVERY_CAMERA : part.slice(0, eq).trim();
    if (!camera) throw new Error(`"${part}": a camera id before "=" is missing`);
    const labels = parseLabels(eq < 0 ? part : part.slice(eq + 1));
    if (!labels) throw new Error(`"${part}": no label given (for example person)`);
    rule.set(camera, labels);
  }
  return rule;
}

/** Why the alert is held back, or undefined when it may go. */
export function labelRuleVerdict(rule: LabelRule | undefined, alert: Partial<Alert>): string | undefined {
  if (!rule || alert.kind !== 'activity') return undefined;
  const labels = rule.get(String(alert.deviceId ?? '')) ?? rule.get(String(alert.deviceName ?? '')) ?? rule.get(EVERY_CAMERA);
  if (!labels) return undefined;
  const seen = alert.detection?.label;
  if (seen && labels.includes(seen)) return undefined;
  return `only ${labels.join(', ')}: the detector saw ${seen ?? 'nothing it counts'}`;
}
