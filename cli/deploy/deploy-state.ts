/**
 * What deploy remembers, on the runtime and locally.
 *
 * On the runtime: the deployed flow's name and version, in a `comment` node
 * with a fixed id on the flow's first tab. A node is part of the flows, so it
 * survives restarts, GET /flows returns it, and the editor shows it; the record
 * sits in the comment's `info` (a property the comment node defines), because
 * the editor drops properties a node does not define when a user deploys from it.
 *
 * Locally: the flows a deploy or rollback replaced, one file per runtime and
 * role, for `rollback`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FlowNode } from '../flows/flow-file';

export const RECORD_ID = 'picam-guardian.deployment';

export interface DeploymentRecord {
  flow: string;
  version: string;
  deployedAt: string;
}

const RECORD_JSON = /```json\n([\s\S]*?)\n```/;

export function readRecord(flows: readonly FlowNode[]): DeploymentRecord | undefined {
  const node = flows.find((n) => n.id === RECORD_ID);
  const m = typeof node?.info === 'string' ? RECORD_JSON.exec(node.info) : null;
  if (!m) return undefined;
  try {
    const r = JSON.parse(m[1]!) as Partial<DeploymentRecord>;
    return typeof r.flow === 'string' && typeof r.version === 'string'
      ? { flow: r.flow, version: r.version, deployedAt: String(r.deployedAt ?? '') }
      : undefined;
  } catch {
    return undefined; // edited by hand: as if there were none
  }
}

export const withoutRecord = (flows: readonly FlowNode[]): FlowNode[] => flows.filter((n) => n.id !== RECORD_ID);

/** The flow plus its record, placed below the first tab's nodes. */
export function withRecord(nodes: readonly FlowNode[], record: DeploymentRecord): FlowNode[] {
  const tab = nodes.find((n) => n.type === 'tab');
  if (!tab) throw new Error('the flow has no tab to keep its version record on');
  const onTab = nodes.filter((n) => n.z === tab.id && typeof n.y === 'number');
  const y = Math.max(0, ...onTab.map((n) => n.y as number)) + 80;
  const info = [
    'Written by `picam-guardian deploy`: the flow version this runtime runs.',
    'Deploy reads it to refuse downgrades; `picam-guardian pull` leaves it out of the flow file. Do not edit.',
    '',
    '```json',
    JSON.stringify(record, null, 2),
    '```',
  ].join('\n');
  const node: FlowNode = {
    id: RECORD_ID,
    type: 'comment',
    z: tab.id,
    name: `deployed: ${record.flow} flow ${record.version}`,
    info,
    x: 200,
    y,
    wires: [],
  };
  return [...withoutRecord(nodes), node];
}

export interface SavedFlows {
  url: string;
  role: string;
  savedAt: string;
  rev: string;
  flows: FlowNode[];
}

/** ~/.picam-guardian/deploy/<host-port>/<role>/ (or below `base`). */
export function stateDirFor(url: string, role: string, base?: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const host = `${u.hostname}-${port}`.replace(/[^A-Za-z0-9._-]/g, '_');
  return join(base ?? join(homedir(), '.picam-guardian', 'deploy'), host, role);
}

export const previousFile = (dir: string) => join(dir, 'previous.json');

export function readPrevious(dir: string): SavedFlows | undefined {
  const file = previousFile(dir);
  if (!existsSync(file)) return undefined;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedFlows;
  if (!Array.isArray(saved.flows)) throw new Error(`${file} holds no flows`);
  return saved;
}

/** Stages what the runtime runs now (before a deploy or a rollback replaces it) as the previous flows. */
export function stageCurrent(dir: string, url: string, role: string, current: { rev: string; flows: FlowNode[] }) {
  return stagePrevious(dir, { url, role, savedAt: new Date().toISOString(), rev: current.rev, flows: current.flows });
}

/**
 * Saves the flows about to be replaced in two steps: `stage` before the deploy,
 * `commit` after it succeeded, so a refused deploy leaves the last good
 * previous.json in place.
 */
export function stagePrevious(dir: string, saved: SavedFlows): { commit(): void; discard(): void } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pending = `${previousFile(dir)}.pending`;
  writeFileSync(pending, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  return {
    commit: () => renameSync(pending, previousFile(dir)),
    discard: () => rmSync(pending, { force: true }),
  };
}
