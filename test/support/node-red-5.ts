/**
 * A plain Node-RED 5 running under Node 22, both from the npm registry (the only
 * download a test may make), and this package installed into its user directory
 * with npm as a Node-RED user would. Kept in `<os temp>/picam-guardian-node-red-5`:
 * the first run downloads and builds (the SQLite driver is compiled for Node 22,
 * about 2 minutes), later runs only reinstall the packed module (seconds).
 *
 * Node 22 is npm's `node-<platform>-<arch>` package: the binary (and the headers
 * node-gyp needs) that the `node` package's install script would fetch, without
 * running that script.
 */
import { isAlive } from './processes';
import { withoutNpmVariables } from './npm-pack';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CACHE = join(tmpdir(), 'picam-guardian-node-red-5');
const NODE_PACKAGE = `node-${process.platform}-${process.arch}`;

export interface NodeRed5 {
  /** the Node 22 binary */
  node: string;
  /** node-red's red.js */
  redJs: string;
  /** the user directory with picam-guardian installed in node_modules */
  userDir: string;
  nodeRedVersion: string;
  /** what was downloaded or built this time, for the test's log */
  installed: string[];
  /** gives the cache to the next run (another worktree may be waiting) */
  release(): void;
}

/** npm's own script, so that npm can be run under the Node 22 binary (its install scripts then build for Node 22). */
function npmCli(): string {
  const execPath = process.env.npm_execpath;
  if (execPath?.endsWith('npm-cli.js')) return execPath;
  const root = execFileSync('npm', ['root', '-g'], { encoding: 'utf8', env: withoutNpmVariables() }).trim();
  return join(root, 'npm', 'bin', 'npm-cli.js');
}

/** The newest version matching `spec` on the registry, or undefined when the registry cannot be reached. */
function latest(name: string, spec: string): string | undefined {
  try {
    const out = execFileSync('npm', ['view', `${name}@${spec}`, 'version', '--json', '--fetch-timeout=20000', '--fetch-retries=1'], {
      encoding: 'utf8',
      env: withoutNpmVariables(),
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    const versions = JSON.parse(out) as string | string[];
    return Array.isArray(versions) ? versions.at(-1) : versions;
  } catch {
    return undefined;
  }
}

/** The version installed under `dir` from an earlier run, for running without the registry. */
function cachedVersion(prefix: string): string | undefined {
  if (!existsSync(CACHE)) return undefined;
  return readdirSync(CACHE)
    .filter((d) => d.startsWith(prefix) && existsSync(join(CACHE, d, 'complete')))
    .map((d) => d.slice(prefix.length))
    .sort()
    .at(-1);
}

export interface Versions {
  node: string;
  nodeRed: string;
}

/**
 * The Node 22 and Node-RED 5 to test with: the newest on the registry, or those
 * of an earlier run when the registry cannot be reached. A string says why the
 * test cannot run here.
 */
export function nodeRed5Versions(): Versions | string {
  if (process.platform === 'win32') return 'the Node 22 package from npm is laid out differently on Windows';
  const node = latest(NODE_PACKAGE, '22') ?? cachedVersion(`${NODE_PACKAGE}-`);
  const nodeRed = latest('node-red', '5') ?? cachedVersion('node-red-');
  if (!node || !nodeRed) return 'the npm registry cannot be reached and no earlier run left Node 22 and Node-RED 5 in the cache';
  return { node, nodeRed };
}

/** One installer of the cache at a time (several worktrees share the machine); a dead holder's lock is taken over. */
async function lock(): Promise<() => void> {
  mkdirSync(CACHE, { recursive: true });
  const dir = join(CACHE, 'lock');
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (!holderAlive(dir)) rmSync(dir, { recursive: true, force: true });
    else await new Promise((r) => setTimeout(r, 1000));
  }
}

function holderAlive(dir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  } catch {
    return true; // created a moment ago, pid not written yet
  }
  return isAlive(pid);
}

/** Installs `spec` into `<CACHE>/<name>` once; a folder without its `complete` mark is a broken earlier try. */
function once(name: string, install: (dir: string) => void, installed: string[]): string {
  const dir = join(CACHE, name);
  if (existsSync(join(dir, 'complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  install(dir);
  writeFileSync(join(dir, 'complete'), new Date().toISOString());
  installed.push(name);
  return dir;
}

/** Removes what older versions left, so the cache does not grow with every release. */
function dropOlder(prefix: string, keep: string): void {
  for (const d of readdirSync(CACHE)) if (d.startsWith(prefix) && d !== keep) rmSync(join(CACHE, d), { recursive: true, force: true });
}

/**
 * Node 22, Node-RED 5 and the packed module `tgz` installed into the user
 * directory. Holds the cache until `release()`.
 */
export async function installNodeRed5(versions: Versions, tgz: string): Promise<NodeRed5> {
  const release = await lock();
  try {
    const installed: string[] = [];
    const npm = npmCli();
    const nodeName = `${NODE_PACKAGE}-${versions.node}`;
    const nodeDir = once(
      nodeName,
      (dir) =>
        execFileSync('npm', ['install', '--prefix', dir, `${NODE_PACKAGE}@${versions.node}`, '--no-audit', '--no-fund'], {
          env: withoutNpmVariables(),
          stdio: 'ignore',
        }),
      installed,
    );
    const nodeHome = join(nodeDir, 'node_modules', NODE_PACKAGE);
    const node = join(nodeHome, 'bin', 'node');
    // npm under Node 22 with Node 22's headers: native modules (sqlite3) are built for it, without any other download.
    const runNpm = (args: string[], cwd: string) =>
      execFileSync(node, [npm, ...args, '--no-audit', '--no-fund'], {
        cwd,
        env: withoutNpmVariables({ PATH: `${join(nodeHome, 'bin')}:${process.env.PATH ?? ''}`, npm_config_nodedir: nodeHome }),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    const redName = `node-red-${versions.nodeRed}`;
    const redDir = once(redName, (dir) => runNpm(['install', '--prefix', dir, `node-red@${versions.nodeRed}`], dir), installed);
    dropOlder(`${NODE_PACKAGE}-`, nodeName);
    dropOlder('node-red-', redName);

    // The user directory outlives each run: the SQLite driver built there is reused; the module is reinstalled every time.
    const userDir = join(CACHE, `user-node${versions.node.split('.')[0]}`);
    mkdirSync(userDir, { recursive: true });
    if (!existsSync(join(userDir, 'package.json'))) {
      // npm 11 runs a dependency's install script only when allowed: the README tells users the same.
      writeFileSync(
        join(userDir, 'package.json'),
        JSON.stringify({ name: 'node-red-project', private: true, allowScripts: { sqlite3: true } }),
      );
    }
    const hadDriver = existsSync(join(userDir, 'node_modules', 'sqlite3', 'build', 'Release', 'node_sqlite3.node'));
    // The Sense HAT's optional native modules are the Pi's: the cloud flow does not load them.
    runNpm(['install', '--prefix', userDir, tgz, '--omit=optional'], userDir);
    if (!hadDriver) installed.push('sqlite3 built for Node 22');
    return {
      node,
      redJs: join(redDir, 'node_modules', 'node-red', 'red.js'),
      userDir,
      nodeRedVersion: versions.nodeRed,
      installed,
      release,
    };
  } catch (err) {
    release();
    throw err;
  }
}
