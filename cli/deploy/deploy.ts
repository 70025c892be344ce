/**
 * picam-guardian deploy | rollback | pull | format-flows: the repository's
 * versioned flows onto a running Node-RED through its Admin API, and edits made
 * in the editor back into the repository. docs/deploy.md is the user's guide;
 * the command line is deploy-cli.ts, several runtimes at once deploy-many.ts.
 *
 * A deploy is a full replacement of the runtime's flows by the flow file (plus
 * the version record): the file in the repository is the source of truth, and
 * the diff printed first shows everything a deploy would remove.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { selectBroker, type BrokerMode } from '../flows/broker-choice';
import { AdminApi, AdminApiError, type Login, type NodeSet } from './admin-api';
import {
  CORE_TYPES,
  FlowFileError,
  OTHER_MODULE_TYPES,
  checkFlow,
  formatFlow,
  metaFileFor,
  modulesFor,
  packageInfo,
  readFlow,
  readFlowMeta,
  type FlowMeta,
  type FlowNode,
  type FlowRole,
} from '../flows/flow-file';
import { diffFlows, formatDiff, isEmptyDiff } from './flow-diff';
import { RECORD_ID, previousFile, readPrevious, readRecord, stageCurrent, stateDirFor, withRecord, withoutRecord } from './deploy-state';
import { compare as compareVersions, satisfies } from 'semver';
import { packageRoot } from '../flows/package-root';

/** A refusal: the command understood the situation and will not go on. */
export class DeployError extends Error {
  override name = 'DeployError';
}

/** Revisions are SHA-256 hex: the first 12 digits tell them apart in a log line. */
const short = (rev: string) => rev.slice(0, 12);

export const defaultFlowFile = (role: FlowRole) => join(packageRoot(), 'flows', `${role}.json`);

export interface Target {
  /** the editor's address, i.e. the Admin API root: http://host:1880/admin */
  url: string;
  login: Login;
  role: FlowRole;
  log?: (line: string) => void;
}

// ---------------------------------------------------------------- checks

/** The flow file and its metadata, checked; a FlowFileError says what is wrong. */
export function loadForDeploy(file: string, role: FlowRole): { nodes: FlowNode[]; meta: FlowMeta } {
  const nodes = readFlow(file);
  const meta = readFlowMeta(metaFileFor(file), role);
  const problems = checkFlow(nodes).problems;
  for (const [module, types] of Object.entries(modulesFor(nodes).modules)) {
    if (!(module in meta.modules))
      problems.push(`${metaFileFor(file)} does not list module ${module}, which ${types.join(', ')} come from`);
  }
  if (nodes.some((n) => n.id === RECORD_ID))
    problems.push(`node "${RECORD_ID}" is the deploy's version record and belongs on the runtime only`);
  if (problems.length > 0) throw new FlowFileError(`${file} cannot be deployed: ${problems.join('; ')}`);
  return { nodes, meta };
}

/** Types a flow may use that no module registers. */
const STRUCTURAL = new Set(['tab', 'subflow', 'group']);

/** What the runtime lacks for the flow, one line per module or type; empty when it has everything. */
export function missingModules(
  role: FlowRole,
  meta: FlowMeta,
  nodes: readonly FlowNode[],
  nodeRedVersion: string | undefined,
  sets: NodeSet[],
): string[] {
  const problems: string[] = [];
  const failed = new Set<string>();
  for (const [module, range] of Object.entries(meta.modules)) {
    const installed = sets.filter((s) => s.module === module);
    const version = module === 'node-red' ? nodeRedVersion : installed[0]?.version;
    if (module !== 'node-red' && installed.length === 0)
      problems.push(`the runtime lacks module ${module} (the ${role} flow needs ${module} ${range})`);
    else if (module !== 'node-red' && !installed.some((s) => s.enabled))
      problems.push(`module ${module} is installed on the runtime but disabled`);
    else if (!version || !satisfies(version.replace(/-git$/, ''), range)) {
      problems.push(`the runtime has ${module} ${version ?? '(unknown version)'}; the ${role} flow needs ${module} ${range}`);
    } else continue;
    failed.add(module);
  }
  const known = new Set(sets.filter((s) => s.enabled).flatMap((s) => s.types));
  const derived = modulesFor(nodes).modules;
  const moduleOf = (type: string) => Object.entries(derived).find(([, types]) => types.includes(type))?.[0];
  for (const type of new Set(nodes.map((n) => n.type))) {
    if (known.has(type) || STRUCTURAL.has(type) || type.startsWith('subflow:')) continue;
    const module = moduleOf(type);
    if (module && failed.has(module)) continue; // already said
    problems.push(`the runtime has no node type "${type}"${module ? ` (from ${module})` : ''}`);
  }
  return problems;
}

// ---------------------------------------------------------------- deploy

export interface DeployOptions extends Target {
  file?: string;
  force?: boolean;
  dryRun?: boolean;
  /** deploy only while the runtime is still at this revision (as printed by a dry run) */
  rev?: string;
  /** base of the local state, default ~/.picam-guardian/deploy */
  stateDir?: string;
  /** which way device traffic comes in (cli/flows/broker-choice.ts); the cloud flow ships `embedded` */
  broker?: BrokerMode;
}

export interface DeployResult {
  deployed: boolean;
  /** the runtime's revision afterwards */
  rev: string;
  version: string;
}

export async function deploy(o: DeployOptions): Promise<DeployResult> {
  const log = o.log ?? (() => undefined);
  const file = resolve(o.file ?? defaultFlowFile(o.role));
  const loaded = loadForDeploy(file, o.role);
  const meta = loaded.meta;
  const nodes = selectBroker(loaded.nodes, o.broker ?? 'embedded');
  const api = await AdminApi.connect(o.url, o.login);
  try {
    const [settings, sets] = await Promise.all([api.settings(), api.nodes()]);
    const missing = missingModules(o.role, meta, nodes, settings.version, sets);
    if (missing.length > 0) throw new DeployError(missing.join('; '));
    const current = await api.flows();
    const record = readRecord(current.flows);
    log(
      `runtime: Node-RED ${settings.version ?? '?'} at ${api.url}, rev ${short(current.rev)}, ${record ? `running the ${record.flow} flow ${record.version} (deployed ${record.deployedAt})` : 'no deployed flow version recorded'}`,
    );
    const needs = Object.entries(meta.modules).map(([m, r]) => `${m} ${r}`);
    log(`flow: ${o.role} ${meta.version} from ${file} (${nodes.length} nodes); needs ${needs.join(', ')}: all on the runtime`);
    const diff = diffFlows(withoutRecord(current.flows), nodes);
    for (const line of formatDiff(diff)) log(line);

    if (record && record.flow !== o.role) {
      if (!o.force)
        throw new DeployError(
          `the runtime runs the ${record.flow} flow (${record.version}); deploying the ${o.role} flow would replace it: check --url, or use --force`,
        );
      log(`replacing the ${record.flow} flow with the ${o.role} flow (--force)`);
    } else if (record && compareVersions(record.version, meta.version) > 0) {
      if (!o.force)
        throw new DeployError(
          `refusing to downgrade the ${o.role} flow from ${record.version} (on the runtime) to ${meta.version} (${file}): use --force to deploy it anyway`,
        );
      log(`downgrading the ${o.role} flow from ${record.version} to ${meta.version} (--force)`);
    } else if (record?.version === meta.version && isEmptyDiff(diff) && !o.force) {
      log(`the ${o.role} flow ${meta.version} is already deployed and unchanged: nothing to do (--force deploys it again)`);
      return { deployed: false, rev: current.rev, version: meta.version };
    } else if (record?.version === meta.version && !isEmptyDiff(diff)) {
      log(
        `note: the runtime's nodes differ from the file at the same version ${meta.version}: edits made in the editor are replaced (pull them first to keep them), or the file changed without a version bump`,
      );
    }
    if (o.dryRun) {
      log(`dry run: nothing deployed (to deploy only if the runtime is still at this revision: --rev ${current.rev})`);
      return { deployed: false, rev: current.rev, version: meta.version };
    }

    const dir = stateDirFor(api.url, o.role, o.stateDir);
    const staged = stageCurrent(dir, api.url, o.role, current);
    let rev: string;
    try {
      rev = await api.setFlows(
        o.rev ?? current.rev,
        withRecord(nodes, { flow: o.role, version: meta.version, deployedAt: new Date().toISOString() }),
      );
    } catch (err) {
      staged.discard();
      throw err;
    }
    staged.commit();
    log(
      `deployed the ${o.role} flow ${meta.version} to ${api.url} (rev ${short(current.rev)} → ${short(rev)}); the replaced flows are in ${previousFile(dir)}`,
    );
    log(`undo: picam-guardian rollback ${o.role} --url ${api.url}${o.stateDir ? ` --state-dir ${o.stateDir}` : ''}`);
    return { deployed: true, rev, version: meta.version };
  } finally {
    await api.close();
  }
}

// ---------------------------------------------------------------- rollback

export interface RollbackOptions extends Target {
  dryRun?: boolean;
  stateDir?: string;
}

/** Puts back the flows the last deploy (or rollback) replaced; the flows it replaces become the new "previous". */
export async function rollback(o: RollbackOptions): Promise<{ rev: string }> {
  const log = o.log ?? (() => undefined);
  const api = await AdminApi.connect(o.url, o.login);
  try {
    const dir = stateDirFor(api.url, o.role, o.stateDir);
    const saved = readPrevious(dir);
    if (!saved)
      throw new DeployError(`no previous ${o.role} flows saved for ${api.url} (looked for ${previousFile(dir)}): nothing to roll back to`);
    const current = await api.flows();
    const now = readRecord(current.flows);
    const then = readRecord(saved.flows);
    const version = (r: typeof now) => (r ? `the ${r.flow} flow ${r.version}` : 'flows without a version record');
    log(`rolling back ${api.url} from ${version(now)} (rev ${short(current.rev)}) to ${version(then)} saved at ${saved.savedAt}`);
    for (const line of formatDiff(diffFlows(withoutRecord(current.flows), withoutRecord(saved.flows)))) log(line);
    if (o.dryRun) {
      log('dry run: nothing rolled back');
      return { rev: current.rev };
    }
    const staged = stageCurrent(dir, api.url, o.role, current);
    let rev: string;
    try {
      rev = await api.setFlows(current.rev, saved.flows);
    } catch (err) {
      staged.discard();
      throw err;
    }
    staged.commit();
    log(`rolled back (rev ${short(current.rev)} → ${short(rev)}); the flows it replaced are saved: rollback again to undo`);
    return { rev };
  } finally {
    await api.close();
  }
}

// ---------------------------------------------------------------- pull

export interface PullOptions extends Target {
  file?: string;
  /** pull even when the runtime's record names the other flow */
  force?: boolean;
}

const ENV_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

/**
 * The runtime's flows into the flow file, stable format, without the version
 * record. The Admin API never returns credentials: each node keeps the ${VAR}
 * credentials the file already has; for other nodes the editor's view is used
 * (text fields that are ${VAR} references), and missing passwords are reported.
 */
export async function pull(o: PullOptions): Promise<{ file: string; nodes: FlowNode[]; warnings: string[] }> {
  const log = o.log ?? (() => undefined);
  const file = resolve(o.file ?? defaultFlowFile(o.role));
  const before = existsSync(file) ? readFlow(file) : [];
  const api = await AdminApi.connect(o.url, o.login);
  const warnings: string[] = [];
  let nodes: FlowNode[];
  let record: ReturnType<typeof readRecord>;
  try {
    const current = await api.flows();
    record = readRecord(current.flows);
    if (record && record.flow !== o.role && !o.force) {
      throw new DeployError(
        `the runtime runs the ${record.flow} flow; pulling it into ${file} would replace the ${o.role} flow: check --url and --file, or use --force`,
      );
    }
    const known = new Map(before.map((n) => [n.id, n]));
    nodes = [];
    for (const node of withoutRecord(current.flows)) {
      const was = known.get(node.id);
      const { credentials: _none, ...rest } = node;
      let credentials = was?.type === node.type ? was.credentials : undefined;
      if (!credentials) {
        credentials = {};
        for (const [key, value] of Object.entries(await api.credentials(node.type, node.id))) {
          if (typeof value === 'string' && ENV_REF.test(value)) credentials[key] = value;
          else if (key.startsWith('has_') && value === true)
            warnings.push(
              `node "${node.id}" (${node.type}) has a ${key.slice(4)} on the runtime that is not in the file: add it as a \${VAR} reference`,
            );
          else if (typeof value === 'string' && value !== '')
            warnings.push(
              `node "${node.id}" (${node.type}) has a ${key} on the runtime that is not a \${VAR} reference: left out of the file`,
            );
        }
      }
      nodes.push(Object.keys(credentials).length > 0 ? { ...rest, credentials } : rest);
    }
  } finally {
    await api.close();
  }
  for (const p of checkFlow(nodes).problems) warnings.push(p);
  writeFileSync(file, formatFlow(nodes));
  log(`pulled ${nodes.length} nodes from ${api.url} into ${file}`);
  for (const line of formatDiff(diffFlows(before, nodes))) log(line);
  for (const w of warnings) log(`warning: ${w}`);
  const meta = existsSync(metaFileFor(file)) ? readFlowMeta(metaFileFor(file), o.role) : undefined;
  if (meta && !isEmptyDiff(diffFlows(before, nodes))) {
    log(
      `the runtime ran the ${record?.flow ?? o.role} flow ${record?.version ?? '(unrecorded)'}; ${metaFileFor(file)} says ${meta.version}: bump it and note the change in CHANGELOG.md`,
    );
  }
  return { file, nodes, warnings };
}

// ---------------------------------------------------------------- format-flows

/** Rewrites flow files in the stable format (or, with `check`, only says which are not) and runs the checks. */
export function formatFlows(files: string[], check: boolean, log: (line: string) => void): number {
  const pkg = packageInfo();
  const knownTypes = new Set([...CORE_TYPES, ...pkg.types, ...Object.values(OTHER_MODULE_TYPES).flat()]);
  let failures = 0;
  for (const file of files) {
    const nodes = readFlow(file);
    const text = formatFlow(nodes);
    if (text !== readFileSync(file, 'utf8')) {
      if (check) {
        log(`${file}: not in the stable format (run picam-guardian format-flows)`);
        failures++;
      } else {
        writeFileSync(file, text);
        log(`${file}: formatted`);
      }
    }
    for (const p of checkFlow(nodes, { knownTypes }).problems) {
      log(`${file}: ${p}`);
      failures++;
    }
  }
  return failures === 0 ? 0 : 1;
}

export { AdminApiError, FlowFileError };
