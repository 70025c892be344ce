/**
 * The package as a Node-RED user gets it: `npm pack`ed, unpacked into the
 * node_modules of a plain Node-RED's user directory (its dependencies linked
 * from this repository instead of downloaded), and that Node-RED started with
 * its own red.js. Our nodes load without errors; both whole-system flows and one
 * small flow per node (examples/nodes/<node-type>.json, a submenu of Import →
 * Examples) are offered; every example names only types this Node-RED knows, and
 * the per-node ones, deployed together, start no listener on a fixed port (a
 * broker on 1883 inside the user's Node-RED is what issue 22 asked us to stop).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, it } from 'node:test';
import { RUNTIME_START_MS } from '../support/cli';
import { firstEphemeralPort, listeningPorts } from '../support/listening';
import { freePort } from '../support/ports';
import { packModule } from '../support/npm-pack';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const dir = tempDir('picam-examples-');
const userDir = join(dir, 'user');
let red: ChildProcess | undefined;
let base = '';
let output = '';

before(async () => {
  const tgz = packModule(dir);
  const installed = join(userDir, 'node_modules', 'picam-guardian');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', installed, '--strip-components=1']);
  for (const dep of Object.keys(pkg.dependencies)) {
    const link = join(userDir, 'node_modules', dep);
    mkdirSync(dirname(link), { recursive: true }); // a scoped package (@tensorflow/...) sits in its scope's folder
    symlinkSync(join(root, 'node_modules', dep), link, 'dir');
  }

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  red = spawn(process.execPath, [join(root, 'node_modules', 'node-red', 'red.js'), '--userDir', userDir, '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  red.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  red.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(
    'Node-RED',
    async () => ((await fetch(`${base}/settings`).catch(() => undefined))?.ok ? true : undefined),
    RUNTIME_START_MS,
  );
});

after(async () => {
  if (red && red.exitCode === null) {
    red.kill('SIGTERM');
    await new Promise((ok) => red!.once('exit', ok));
  }
});

it('loads every node of the packed module without errors', async () => {
  const sets = (await (await fetch(`${base}/nodes`, { headers: { accept: 'application/json' } })).json()) as Array<{
    module: string;
    types: string[];
    enabled: boolean;
    err?: string;
  }>;
  const ours = sets.filter((s) => s.module === 'picam-guardian');
  assert.deepEqual(
    ours.filter((s) => s.err).map((s) => `${s.types.join()}: ${s.err}`),
    [],
    output,
  );
  const types = ours.flatMap((s) => s.types).sort();
  const declared = Object.keys(
    (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: object } })['node-red'].nodes,
  );
  for (const type of declared) assert.ok(types.includes(type), `${type} is registered`);
});

interface FlowNode {
  id: string;
  type: string;
  [property: string]: unknown;
}

const exampleDir = join(root, 'examples');
const nodeExamples = readdirSync(join(exampleDir, 'nodes'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''))
  .sort();
const readExample = (path: string) => JSON.parse(readFileSync(join(exampleDir, `${path}.json`), 'utf8')) as FlowNode[];
const declaredTypes = Object.keys(
  (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { 'node-red': { nodes: object } })['node-red'].nodes,
);

/** Node types that open a listening socket, and the properties that hold its ports. */
const LISTENERS: Record<string, string[]> = {
  'picam-broker': ['port', 'wsPort', 'tlsPort'],
  'hivecam-gateway': ['port'],
  'aedes broker': ['mqtt_port', 'mqtt_ws_port'],
};

it('offers the cloud and Pi flows under Import → Examples, exactly as in flows/', async () => {
  const listing = (await (await fetch(`${base}/library/examples/flows/picam-guardian`)).json()) as Array<string | { fn?: string }>;
  const files = listing.filter((e): e is { fn: string } => typeof e === 'object' && !!e.fn).map((e) => e.fn);
  assert.deepEqual(files.sort(), ['cloud', 'pi'], 'only the flows at the top: no other file becomes an example');
  assert.ok(listing.includes('nodes'), `the per-node examples are a submenu: ${JSON.stringify(listing)}`);
  for (const flow of ['cloud', 'pi']) {
    const res = await fetch(`${base}/library/examples/flows/picam-guardian/${flow}`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(await res.text()), JSON.parse(readFileSync(join(root, 'flows', `${flow}.json`), 'utf8')));
  }
});

it('offers one small example per node type under Import → Examples → picam-guardian → nodes', async () => {
  const listing = (await (await fetch(`${base}/library/examples/flows/picam-guardian/nodes`)).json()) as Array<{ fn?: string }>;
  assert.deepEqual(listing.map((e) => e.fn).sort(), nodeExamples);
  const missing = declaredTypes.filter((t) => !nodeExamples.includes(t));
  assert.deepEqual(missing, [], 'every node of the package has examples/nodes/<node-type>.json');
  for (const name of nodeExamples) {
    const flow = readExample(`nodes/${name}`);
    assert.ok(
      flow.some((n) => n.type === name),
      `examples/nodes/${name}.json uses a ${name} node`,
    );
    const res = await fetch(`${base}/library/examples/flows/picam-guardian/nodes/${name}`);
    assert.equal(res.status, 200, name);
    assert.deepEqual(JSON.parse(await res.text()), flow);
  }
});

it('names in every example only node types this plain Node-RED has', async () => {
  const sets = (await (await fetch(`${base}/nodes`, { headers: { accept: 'application/json' } })).json()) as Array<{ types: string[] }>;
  const known = new Set([...sets.flatMap((s) => s.types), 'tab', 'subflow', 'group', 'junction']);
  const files = [...['cloud', 'pi'], ...nodeExamples.map((n) => `nodes/${n}`)];
  const unknown = files.flatMap((f) =>
    readExample(f)
      .filter((n) => !known.has(n.type) && !n.type.startsWith('subflow:'))
      .map((n) => `examples/${f}.json: ${n.type}`),
  );
  assert.deepEqual(unknown, []);
});

it('starts no listener on a fixed port when every per-node example is deployed', async () => {
  const fixed = nodeExamples.flatMap((name) =>
    readExample(`nodes/${name}`).flatMap((n) =>
      (LISTENERS[n.type] ?? [])
        .filter((p) => n[p] !== undefined && n[p] !== '' && String(n[p]) !== '0')
        .map((p) => `examples/nodes/${name}.json: ${n.type} ${p} ${String(n[p])}`),
    ),
  );
  assert.deepEqual(fixed, [], 'a listener in an example takes the port the system picks (0)');

  const all = nodeExamples.flatMap((name) => readExample(`nodes/${name}`));
  const ids = all.map((n) => n.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique across examples (ex.<node-type>.…), so two can be imported side by side');
  const started = output.split('Started flows').length;
  const res = await fetch(`${base}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'node-red-deployment-type': 'full' },
    body: JSON.stringify([
      { id: 'ex.tab', type: 'tab', label: 'examples' },
      ...all.map((n) => (n.z || !('x' in n) ? n : { ...n, z: 'ex.tab' })),
    ]),
  });
  assert.ok(res.ok, `deploy: ${res.status} ${await res.text()}`);
  await waitFor('the examples started', async () => (output.split('Started flows').length > started ? true : undefined), 30_000);
  assert.doesNotMatch(output, /Waiting for missing types/);
  // The broker example listens on a port the system picked: seeing it shows the ports are read.
  const admin = Number(new URL(base).port);
  const ports = await waitFor('the broker example listening', async () => {
    const p = listeningPorts(red!.pid!).filter((port) => port !== admin);
    return p.length > 0 ? p : undefined;
  });
  const low = firstEphemeralPort();
  assert.deepEqual(
    ports.filter((p) => p < low),
    [],
    `ports below ${low} were chosen in a flow, not by the system:\n${output}`,
  );
});
