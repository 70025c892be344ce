/**
 * How the Node-RED editor draws a flow, near enough to check a layout without
 * a browser: a node's box from its label (the editor's own formula, with
 * Helvetica's character widths standing in for the browser's text measure),
 * a group's box around its members, and the problems a reader would see:
 * nodes outside any group, nodes drawn over each other, wires crossing from
 * one group to another (link nodes carry those), groups over each other.
 */
import type { FlowNode } from '../../cli/flows/flow-file';

export interface Box {
  /** left, top, width, height: the editor's coordinates (a node's x/y is its centre) */
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Helvetica's advance widths (per 1000 em) for ASCII; other characters count as 800. */
const WIDTHS: Record<string, number> = Object.fromEntries(
  [
    [' !,./:;I[\\]ftij|l', [278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 222, 222, 260, 222]],
    ['"\'()*-`r{}', [355, 191, 333, 333, 389, 333, 333, 333, 334, 334]],
    ['#$0123456789?_abdeghnopqu', Array(25).fill(556)],
    ['+<=>~', Array(5).fill(584)],
    ['%', [889]],
    ['&ABEKPSVXY', Array(10).fill(667)],
    ['CDHNRUw', Array(7).fill(722)],
    ['FTZ', Array(3).fill(611)],
    ['GOQ', Array(3).fill(778)],
    ['Jcksvxyz', Array(8).fill(500)],
    ['Lm', [556, 833]],
    ['M', [833]],
    ['W', [944]],
    ['@', [1015]],
    ['^', [469]],
  ].flatMap(([chars, widths]) => [...(chars as string)].map((c, i) => [c, (widths as number[])[i]!])),
);

/**
 * The width of a label in the editor's node font (14 px). Helvetica is the
 * narrowest font a browser picks; 15 % more covers Linux Chromium's DejaVu Sans
 * (measured in the editor: no node drawn wider than this says).
 */
export function textWidth(text: string, px = 14): number {
  let units = 0;
  for (const c of text) units += WIDTHS[c] ?? 800;
  return Math.ceil((units * px * 1.15) / 1000);
}

/** Nodes the editor draws without an input port (the label gets 7 px less). */
const NO_INPUT = new Set(['comment', 'inject', 'http in', 'link in', 'catch', 'status', 'picam-broker', 'mqtt-ingest']);
/** What the editor shows for a node without a name, for the types our flows use. */
function defaultLabel(n: FlowNode): string {
  switch (n.type) {
    case 'http in':
      return `[${String(n.method)}] ${String(n.url)}`;
    case 'http response':
      return 'http';
    case 'debug':
      return 'msg.payload';
    case 'catch':
    case 'status':
      return `${n.type}: ${Array.isArray(n.scope) ? n.scope.length : 'all'}`;
    default:
      return n.type;
  }
}

export const isLinkNode = (n: FlowNode) => n.type === 'link in' || n.type === 'link out';

export function nodeLabel(n: FlowNode): string {
  return typeof n.name === 'string' && n.name ? n.name : defaultLabel(n);
}

/** A node's box as the editor draws it (RED.view's calculateNodeDimensions). */
export function nodeBox(n: FlowNode): Box {
  const outputs = Array.isArray(n.wires) ? n.wires.length : 0;
  const hideLabel = 'l' in n ? n.l === false : isLinkNode(n);
  const h = Math.max(30, outputs * 15);
  const w = hideLabel ? 30 : Math.max(100, 20 * Math.ceil((textWidth(nodeLabel(n)) + 50 + (NO_INPUT.has(n.type) ? 0 : 7)) / 20));
  // The editor draws an inject node's button on its left and a debug node's on its right.
  const left = n.type === 'inject' ? BUTTON : 0;
  const right = n.type === 'debug' ? BUTTON : 0;
  return { x: (n.x as number) - w / 2 - left, y: (n.y as number) - h / 2, w: w + left + right, h };
}

const BUTTON = 20;

/** The editor's margin around a group's members. */
export const GROUP_MARGIN = 26;

/** The box the editor draws for a group of these members (RED.view's group redraw). */
export function groupBox(members: readonly FlowNode[]): Box {
  const boxes = members.map(nodeBox);
  const x = Math.min(...boxes.map((b) => b.x)) - GROUP_MARGIN;
  const y = Math.min(...boxes.map((b) => b.y)) - GROUP_MARGIN;
  const right = Math.max(...boxes.map((b) => b.x + b.w)) + GROUP_MARGIN;
  const bottom = Math.max(...boxes.map((b) => b.y + b.h)) + GROUP_MARGIN;
  return { x, y, w: right - x, h: bottom - y };
}

export const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;

/** Nodes drawn on a tab: not tabs, groups or config nodes (those have no position). */
export const isDrawn = (n: FlowNode) => n.type !== 'tab' && n.type !== 'group' && typeof n.x === 'number' && typeof n.y === 'number';

/** What a reader of the editor would trip over; empty when the layout is clean. */
export function layoutProblems(flow: readonly FlowNode[]): string[] {
  const problems: string[] = [];
  const byId = new Map(flow.map((n) => [n.id, n]));
  const drawn = flow.filter(isDrawn);
  const groups = flow.filter((n) => n.type === 'group');
  const groupBoxOf = (g: FlowNode): Box => ({ x: g.x as number, y: g.y as number, w: g.w as number, h: g.h as number });

  for (const n of drawn) {
    const g = typeof n.g === 'string' ? byId.get(n.g) : undefined;
    if (!g || g.type !== 'group') problems.push(`${n.id} is in no group`);
    else if (!(g.nodes as string[]).includes(n.id)) problems.push(`${n.id} says it is in ${g.id}, which does not list it`);
    else if (g.z !== n.z) problems.push(`${n.id} is on another tab than its group ${g.id}`);
    else if (!inside(nodeBox(n), groupBoxOf(g))) problems.push(`${n.id} sticks out of its group ${g.id}`);
  }
  for (const g of groups) {
    for (const id of g.nodes as string[]) {
      if (byId.get(id)?.g !== g.id) problems.push(`group ${g.id} lists ${id}, which is not in it`);
    }
  }
  for (const [i, a] of drawn.entries()) {
    for (const b of drawn.slice(i + 1)) {
      if (a.z === b.z && overlaps(nodeBox(a), nodeBox(b))) problems.push(`${a.id} and ${b.id} are drawn over each other`);
    }
    for (const g of groups) {
      if (g.z === a.z && a.g !== g.id && overlaps(nodeBox(a), groupBoxOf(g))) problems.push(`${a.id} is drawn inside group ${g.id}`);
    }
  }
  for (const [i, a] of groups.entries()) {
    for (const b of groups.slice(i + 1)) {
      if (a.z === b.z && overlaps(groupBoxOf(a), groupBoxOf(b))) problems.push(`groups ${a.id} and ${b.id} overlap`);
    }
  }
  for (const n of drawn) {
    for (const to of ((n.wires as string[][] | undefined) ?? []).flat()) {
      if (byId.get(to)?.g !== n.g) problems.push(`${n.id} is wired across groups to ${to} (use a link out / link in pair)`);
    }
  }
  return problems;
}
