/**
 * The package as a Node-RED user gets it: `npm pack`ed, unpacked into the
 * node_modules of a plain Node-RED's user directory (its dependencies linked
 * from this repository instead of downloaded), and that Node-RED started with
 * its own red.js. Our nodes load without errors and both flows are offered
 * under Import → Examples.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
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
  for (const dep of Object.keys(pkg.dependencies)) symlinkSync(join(root, 'node_modules', dep), join(userDir, 'node_modules', dep), 'dir');

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  red = spawn(process.execPath, [join(root, 'node_modules', 'node-red', 'red.js'), '--userDir', userDir, '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  red.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  red.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor('Node-RED', async () => ((await fetch(`${base}/settings`).catch(() => undefined))?.ok ? true : undefined), 30_000);
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

it('offers the cloud and Pi flows under Import → Examples, exactly as in flows/', async () => {
  const modules = (await (await fetch(`${base}/library/examples/flows/`)).json()) as string[];
  assert.ok(modules.includes('picam-guardian'), `examples of ${modules.join(', ')}`);
  const listing = (await (await fetch(`${base}/library/examples/flows/picam-guardian`)).json()) as Array<{ fn?: string }>;
  assert.deepEqual(listing.map((e) => e.fn).sort(), ['cloud', 'pi'], 'only the flows: no other file becomes an example');
  for (const flow of ['cloud', 'pi']) {
    const res = await fetch(`${base}/library/examples/flows/picam-guardian/${flow}`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(await res.text()), JSON.parse(readFileSync(join(root, 'flows', `${flow}.json`), 'utf8')));
  }
});
