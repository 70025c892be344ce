/**
 * The repository's flow files: reading them, one stable text format (so an
 * edit made in the Node-RED editor and pulled back reads well in a diff), the
 * checks a flow must pass before it is deployed, and the version metadata kept
 * beside the flows in flows/flows.meta.json (a flow file is a bare JSON array
 * of nodes, so it has no place of its own for a version).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from './package-root';
import { valid as validVersion, validRange } from 'semver';

export type FlowRole = 'pi' | 'cloud';
export const FLOW_ROLES: readonly FlowRole[] = ['pi', 'cloud'];

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  credentials?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A flow file that cannot be deployed: not JSON, not a flow, or failed checks. */
export class FlowFileError extends Error {
  override name = 'FlowFileError';
}

// ---------------------------------------------------------------- reading

export function parseFlow(text: string, source: string): FlowNode[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new FlowFileError(`${source} is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data)) throw new FlowFileError(`${source} is not a Node-RED flow (expected a JSON array of nodes)`);
  data.forEach((n: unknown, i) => {
    const node = n as Partial<FlowNode> | null;
    if (typeof node !== 'object' || node === null || Array.isArray(node) || typeof node.id !== 'string' || typeof node.type !== 'string') {
      throw new FlowFileError(`${source} is not a Node-RED flow: entry ${i} is not a node with a string id and type`);
    }
  });
  return data as FlowNode[];
}

export function readFlow(file: string): FlowNode[] {
  if (!existsSync(file)) throw new FlowFileError(`flow file ${file} does not exist`);
  return parseFlow(readFileSync(file, 'utf8'), file);
}

// ---------------------------------------------------------------- stable format

/** Tabs and subflow definitions keep their relative order: it is the order of the editor's tabs. */
const isContainer = (n: FlowNode) => n.type === 'tab' || n.type === 'subflow';
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Tabs first, then every other node by (z, id): config nodes (no z) lead, each tab's nodes stay together. */
export function sortFlow(nodes: readonly FlowNode[]): FlowNode[] {
  const containers = nodes.filter(isContainer);
  const rest = nodes.filter((n) => !isContainer(n)).sort((a, b) => byString(a.z ?? '', b.z ?? '') || byString(a.id, b.id));
  return [...containers, ...rest];
}

/** Each node reads from its identity (id, type, z, name or label), then its properties in alphabetical order. */
const HEAD_KEYS = ['id', 'type', 'z', 'name', 'label'];

function sortKeys(value: unknown, head: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v)); // array order is meaning (wires, rules)
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  const first = head.filter((k) => k in obj);
  const others = keys.filter((k) => !head.includes(k)).sort(byString);
  return Object.fromEntries([...first, ...others].map((k) => [k, sortKeys(obj[k])]));
}

export function canonicalNode(node: FlowNode): FlowNode {
  return sortKeys(node, HEAD_KEYS) as FlowNode;
}

/** The one text form of a flow in the repository: sorted, two-space JSON, trailing newline. */
export function formatFlow(nodes: readonly FlowNode[]): string {
  return `${JSON.stringify(sortFlow(nodes).map(canonicalNode), null, 2)}\n`;
}

// ---------------------------------------------------------------- checks

/** For each node type, the properties that name a config node and the config node's type. */
export type ConfigRefs = Record<string, Record<string, string>>;

/** The core nodes' config references (from their editor definitions in @node-red/nodes). */
const CORE_CONFIG_REFS: ConfigRefs = {
  'mqtt in': { broker: 'mqtt-broker' },
  'mqtt out': { broker: 'mqtt-broker' },
  'mqtt-broker': { tls: 'tls-config' },
  'http request': { tls: 'tls-config', proxy: 'http proxy' },
  'websocket in': { server: 'websocket-listener', client: 'websocket-client' },
  'websocket out': { server: 'websocket-listener', client: 'websocket-client' },
  'websocket-client': { tls: 'tls-config' },
  'tcp in': { tls: 'tls-config' },
  'tcp out': { tls: 'tls-config' },
};

/** The types Node-RED 4.1 registers itself (no module to install). */
export const CORE_TYPES: ReadonlySet<string> = new Set([
  'tab', 'subflow', 'group', 'junction', 'unknown', 'global-config',
  'inject', 'debug', 'complete', 'catch', 'status', 'link in', 'link out', 'link call', 'comment',
  'function', 'switch', 'change', 'range', 'template', 'delay', 'trigger', 'exec', 'rbe',
  'tls-config', 'http proxy', 'mqtt in', 'mqtt out', 'mqtt-broker', 'http in', 'http response', 'http request',
  'websocket in', 'websocket out', 'websocket-listener', 'websocket-client', 'tcp in', 'tcp out', 'tcp request',
  'udp in', 'udp out', 'split', 'join', 'sort', 'batch', 'csv', 'html', 'json', 'xml', 'yaml',
  'file', 'file in', 'watch',
]); // prettier-ignore

/** Node types of other modules our flows use, by module. Add a module here when a flow starts using it. */
export const OTHER_MODULE_TYPES: Readonly<Record<string, readonly string[]>> = {
  // The benchmark's stock baseline flow (bench/baseline-flow.json); the cloud flow embeds picam-broker.
  'node-red-contrib-aedes': ['aedes broker'],
};

const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export interface FlowCheck {
  /** one line each; empty when the flow may be deployed */
  problems: string[];
  /** every ${NAME} the flow reads (Node-RED substitutes whole property values only) */
  envVars: string[];
  types: string[];
}

export interface CheckOptions {
  /** types the target knows; unset: types are not checked */
  knownTypes?: ReadonlySet<string>;
  configRefs?: ConfigRefs;
}

const label = (n: FlowNode) => `node "${n.id}" (${n.type}${typeof n.name === 'string' && n.name ? ` "${n.name}"` : ''})`;

export function checkFlow(nodes: readonly FlowNode[], options: CheckOptions = {}): FlowCheck {
  const problems: string[] = [];
  const refs = { ...CORE_CONFIG_REFS, ...(options.configRefs ?? packageInfo().configRefs) };
  const byId = new Map<string, FlowNode>();
  for (const n of nodes) {
    if (byId.has(n.id)) problems.push(`${label(n)}: the id is used twice`);
    byId.set(n.id, n);
  }
  const subflows = new Set(nodes.filter((n) => n.type === 'subflow').map((n) => `subflow:${n.id}`));
  const envVars = new Set<string>();

  for (const n of nodes) {
    if (options.knownTypes && !options.knownTypes.has(n.type) && !subflows.has(n.type)) {
      problems.push(`${label(n)}: unknown node type "${n.type}"`);
    }
    if (n.z !== undefined && n.z !== '' && !isContainer(byId.get(n.z) ?? ({ type: '' } as FlowNode))) {
      problems.push(`${label(n)}: its tab or subflow "${n.z}" is not in the flow`);
    }
    for (const [prop, configType] of Object.entries(refs[n.type] ?? {})) {
      const ref = n[prop];
      if (ref === undefined || ref === '') continue; // not set: the node reports that itself
      const target = typeof ref === 'string' ? byId.get(ref) : undefined;
      if (!target) problems.push(`${label(n)}: ${prop} refers to config node "${String(ref)}", which is not in the flow`);
      else if (target.type !== configType)
        problems.push(`${label(n)}: ${prop} refers to "${target.id}" of type ${target.type}, not ${configType}`);
    }
    problems.push(...groupProblems(n, byId));
    const outputs = Array.isArray(n.wires) ? (n.wires as unknown[]).flat() : [];
    const links = Array.isArray(n.links) ? (n.links as unknown[]) : [];
    for (const to of [...outputs, ...links]) {
      if (typeof to !== 'string' || !byId.has(to)) problems.push(`${label(n)}: is wired to "${String(to)}", which is not in the flow`);
    }
    // catch, status and complete nodes watch a list of nodes (or all: null)
    for (const watched of Array.isArray(n.scope) ? (n.scope as unknown[]) : []) {
      if (typeof watched !== 'string' || !byId.has(watched))
        problems.push(`${label(n)}: watches "${String(watched)}", which is not in the flow`);
    }
    if (n.credentials !== undefined) {
      if (typeof n.credentials !== 'object' || n.credentials === null || Array.isArray(n.credentials)) {
        problems.push(`${label(n)}: credentials must be an object of \${VAR} references`);
      } else {
        for (const [key, value] of Object.entries(n.credentials)) {
          // Never echo the value: it may be the secret we refuse.
          if (value !== '' && !(typeof value === 'string' && ENV_REF.test(value))) {
            problems.push(`${label(n)}: credentials.${key} holds a value, not a \${VAR} reference (flow files never contain secrets)`);
          }
        }
      }
    }
    collectEnv(n, envVars);
  }
  return { problems, envVars: [...envVars].sort(byString), types: [...new Set(nodes.map((n) => n.type))].sort(byString) };
}

/**
 * A group lists its members (`nodes`) and each member names its group (`g`);
 * the editor silently repairs a mismatch, so the file would change on the
 * next pull. Both sides must agree.
 */
function groupProblems(n: FlowNode, byId: ReadonlyMap<string, FlowNode>): string[] {
  const problems: string[] = [];
  if (n.g !== undefined) {
    const group = typeof n.g === 'string' ? byId.get(n.g) : undefined;
    if (group?.type !== 'group') problems.push(`${label(n)}: its group "${String(n.g)}" is not in the flow`);
    else if (!Array.isArray(group.nodes) || !group.nodes.includes(n.id))
      problems.push(`${label(n)}: its group "${group.id}" does not list it`);
  }
  if (n.type === 'group') {
    for (const id of Array.isArray(n.nodes) ? (n.nodes as unknown[]) : []) {
      const member = typeof id === 'string' ? byId.get(id) : undefined;
      if (!member) problems.push(`${label(n)}: lists "${String(id)}", which is not in the flow`);
      else if (member.g !== n.id) problems.push(`${label(n)}: lists "${member.id}", which is not in this group`);
    }
  }
  return problems;
}

function collectEnv(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    const m = ENV_REF.exec(value);
    if (m) into.add(m[1]!);
  } else if (Array.isArray(value)) {
    for (const v of value) collectEnv(v, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) collectEnv(v, into);
  }
}

// ---------------------------------------------------------------- this package and the modules a flow needs

export interface PackageInfo {
  name: string;
  version: string;
  /** the Node-RED versions the package supports ("node-red".version) */
  nodeRed: string;
  types: string[];
  configRefs: ConfigRefs;
}

const packages = new Map<string, PackageInfo>();

/** Our node types (package.json "node-red".nodes) and their config references, read from their editor definitions. */
export function packageInfo(root = packageRoot()): PackageInfo {
  const known = packages.get(root);
  if (known) return known;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    'node-red': { version?: string; nodes: Record<string, string> };
  };
  const configRefs: ConfigRefs = {};
  for (const [type, js] of Object.entries(pkg['node-red'].nodes)) {
    const html = [join(root, js.replace(/\.js$/, '.html')), join(root, js.replace(/^dist\//, '').replace(/\.js$/, '.html'))].find((f) =>
      existsSync(f),
    );
    if (html) configRefs[type] = editorConfigRefs(readFileSync(html, 'utf8'));
  }
  const info = {
    name: pkg.name,
    version: pkg.version,
    nodeRed: pkg['node-red'].version ?? '*',
    types: Object.keys(pkg['node-red'].nodes),
    configRefs,
  };
  packages.set(root, info);
  return info;
}

/**
 * The `defaults` entries of an editor definition that carry a `type` are
 * config node references (`db: { value: '', type: 'picam-database' }`).
 */
export function editorConfigRefs(html: string): Record<string, string> {
  const refs: Record<string, string> = {};
  const start = html.search(/\bdefaults\s*:\s*\{/);
  if (start < 0) return refs;
  // The defaults block, up to its closing brace.
  const open = html.indexOf('{', start);
  let depth = 0;
  let end = open;
  for (; end < html.length; end++) {
    if (html[end] === '{') depth++;
    else if (html[end] === '}' && --depth === 0) break;
  }
  for (const m of html.slice(open + 1, end).matchAll(/(\w+)\s*:\s*\{[^{}]*?\btype\s*:\s*['"]([^'"]+)['"]/g)) refs[m[1]!] = m[2]!;
  return refs;
}

/**
 * The modules a flow's node types come from: "node-red" for core types, this
 * package for its own, OTHER_MODULE_TYPES for the rest. Types none of these
 * know are returned as unknown.
 */
export function modulesFor(nodes: readonly FlowNode[], pkg = packageInfo()): { modules: Record<string, string[]>; unknown: string[] } {
  const modules: Record<string, string[]> = {};
  const unknown: string[] = [];
  const subflows = new Set(nodes.filter((n) => n.type === 'subflow').map((n) => `subflow:${n.id}`));
  for (const type of new Set(nodes.map((n) => n.type))) {
    if (subflows.has(type)) continue;
    const module = CORE_TYPES.has(type)
      ? 'node-red'
      : pkg.types.includes(type)
        ? pkg.name
        : Object.entries(OTHER_MODULE_TYPES).find(([, types]) => types.includes(type))?.[0];
    if (module) (modules[module] ??= []).push(type);
    else unknown.push(type);
  }
  return { modules, unknown };
}

// ---------------------------------------------------------------- versions

export interface FlowMeta {
  /** the flow's semantic version: bump it with every change, and note the change in flows/CHANGELOG.md */
  version: string;
  /** module name → npm-style range of versions the flow works with ("node-red" is the runtime itself) */
  modules: Record<string, string>;
}

export const META_FILE = 'flows.meta.json';

/** The metadata lives beside the flow file, so a copied folder of flows keeps its versions. */
export const metaFileFor = (flowFile: string) => join(dirname(flowFile), META_FILE);

export function readFlowMeta(metaFile: string, role: string): FlowMeta {
  if (!existsSync(metaFile)) throw new FlowFileError(`${metaFile} does not exist: the ${role} flow has no version`);
  let all: unknown;
  try {
    all = JSON.parse(readFileSync(metaFile, 'utf8'));
  } catch (err) {
    throw new FlowFileError(`${metaFile} is not valid JSON (${(err as Error).message})`);
  }
  const meta = (all as Record<string, Partial<FlowMeta>> | null)?.[role];
  if (!meta) throw new FlowFileError(`${metaFile} has no entry for the ${role} flow`);
  if (typeof meta.version !== 'string' || !validVersion(meta.version)) {
    throw new FlowFileError(`${metaFile}: the ${role} flow's version "${String(meta.version)}" is not a semantic version (x.y.z)`);
  }
  const modules = meta.modules ?? {};
  for (const [name, range] of Object.entries(modules)) {
    if (typeof range !== 'string' || !validRange(range))
      throw new FlowFileError(`${metaFile}: ${role} module ${name} has an invalid version range "${String(range)}"`);
  }
  return { version: meta.version, modules };
}
