/**
 * What a deploy would change on a runtime: nodes added, changed and removed,
 * matched by id. Credentials are left out of the comparison: the Admin API
 * never returns them, so they would always look changed.
 */
import { canonicalNode, type FlowNode } from '../flows/flow-file';

export interface NodeSummary {
  id: string;
  type: string;
  name?: string;
}

export interface FlowDiff {
  added: NodeSummary[];
  /** with the top-level properties that differ */
  changed: Array<NodeSummary & { properties: string[] }>;
  removed: NodeSummary[];
}

const summary = (n: FlowNode): NodeSummary => {
  const name = typeof n.name === 'string' && n.name ? n.name : typeof n.label === 'string' && n.label ? n.label : undefined;
  return name ? { id: n.id, type: n.type, name } : { id: n.id, type: n.type };
};

const comparable = (n: FlowNode): Record<string, unknown> => {
  const { credentials: _ignored, ...rest } = canonicalNode(n);
  return rest;
};

/** From `before` (what the runtime runs) to `after` (what would be deployed). */
export function diffFlows(before: readonly FlowNode[], after: readonly FlowNode[]): FlowDiff {
  const old = new Map(before.map((n) => [n.id, n]));
  const next = new Map(after.map((n) => [n.id, n]));
  const diff: FlowDiff = { added: [], changed: [], removed: [] };
  for (const n of after) {
    const was = old.get(n.id);
    if (!was) {
      diff.added.push(summary(n));
      continue;
    }
    const a = comparable(was);
    const b = comparable(n);
    const properties = [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
      .sort();
    if (properties.length > 0) diff.changed.push({ ...summary(n), properties });
  }
  for (const n of before) if (!next.has(n.id)) diff.removed.push(summary(n));
  return diff;
}

export const isEmptyDiff = (d: FlowDiff) => d.added.length + d.changed.length + d.removed.length === 0;

const describe = (n: NodeSummary) => `${n.id} (${n.type}${n.name ? ` "${n.name}"` : ''})`;

/** One line per node, `+` added, `~` changed (with the properties), `-` removed, and a count. */
export function formatDiff(d: FlowDiff): string[] {
  if (isEmptyDiff(d)) return ['no node changes'];
  return [
    ...d.added.map((n) => `  + ${describe(n)}`),
    ...d.changed.map((n) => `  ~ ${describe(n)}: ${n.properties.join(', ')}`),
    ...d.removed.map((n) => `  - ${describe(n)}`),
    `${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed`,
  ];
}
