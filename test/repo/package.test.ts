/**
 * The package a user installs into Node-RED (`npm pack`): every node listed
 * under "node-red" exists with its editor file and help, and the flows ship as
 * examples. Needs the build (npm test builds first).
 */
import { EDITOR_SCRIPTS } from '../../nodes/lib/editor/build';
import { packedFiles } from '../support/npm-pack';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  keywords: string[];
  'node-red': { version: string; nodes: Record<string, string> };
  dependencies: Record<string, string>;
  license: string;
  repository?: { type: string; url: string };
  bugs?: { url: string };
  homepage?: string;
  [field: string]: unknown;
};

it('is a Node-RED 4.1+ module whose tarball holds each node with its editor, help and messages', () => {
  assert.ok(pkg.keywords.includes('node-red'));
  assert.equal(pkg['node-red'].version, '>=4.1.0');
  assert.ok(!('node-red' in pkg.dependencies), 'Node-RED is the host, not a dependency');
  const files = packedFiles();
  const types = Object.keys(pkg['node-red'].nodes);
  assert.deepEqual(types.sort(), [
    'access-control',
    'amqp-ingest',
    'command-sender',
    'dashboard-feed',
    'ha-discovery',
    'hivecam-gateway',
    'ipcam',
    'mediamtx-health',
    'mediamtx-server',
    'mqtt-api',
    'mqtt-ingest',
    'mqtt-outbox',
    'mqtt-processor',
    'ntfy-alert',
    'object-detector',
    'picam-broker',
    'picam-database',
    'pushover-alert',
    'recorder',
    'rpicam-rtsp',
    'sensehat-in',
    'sensehat-out',
    'sqlite-events',
    'telegram-alert',
    'telegram-bot',
    'vbc01-live',
    'webhook-alert',
    'webpush-alert',
  ]);
  for (const [type, file] of Object.entries(pkg['node-red'].nodes)) {
    const dir = file.replace(/[^/]+$/, '');
    for (const f of [file, file.replace(/\.js$/, '.html'), `${dir}locales/en-US/${type}.html`, `${dir}locales/en-US/${type}.json`]) {
      assert.ok(files.has(f), `${f} is in the package`);
    }
    const editor = readFileSync(join(root, file.replace(/\.js$/, '.html')), 'utf8');
    const configNode = type === 'picam-database' || type === 'telegram-bot' || type === 'mediamtx-server';
    assert.match(editor, configNode ? /category: 'config'/ : /category: 'PiCam Guardian'/);
  }
  assert.ok(files.has('examples/cloud.json'), 'the cloud flow is under Import → Examples');
  // Node-RED serves a module's resources/ at /resources/<name>/: the editor rows several nodes share.
  for (const script of EDITOR_SCRIPTS)
    assert.ok(files.has(`resources/${script.file}`), `the shared editor script ${script.file} is in the package`);
});

it('ships its licence, says where its repository is, and carries no source maps', () => {
  const files = packedFiles();
  assert.equal(pkg.license, 'Apache-2.0');
  assert.ok(files.has('LICENSE'), 'LICENSE is in the package');
  const licence = readFileSync(join(root, 'LICENSE'), 'utf8');
  assert.match(licence, /^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\//);
  assert.match(licence, /END OF TERMS AND CONDITIONS/);
  assert.match(licence, /Copyright \d{4} The PiCam Guardian authors/);

  assert.equal(pkg.repository?.type, 'git');
  const repo = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  assert.match(repo, /^https:\/\//);
  assert.equal(pkg.bugs?.url, `${repo}/issues`);
  assert.equal(pkg.homepage, `${repo}#readme`);

  const maps = [...files].filter((f) => f.endsWith('.map'));
  assert.deepEqual(maps, [], 'no source maps in the package');
  for (const file of [...files].filter((f) => /^dist\/.*\.js$/.test(f))) {
    assert.doesNotMatch(readFileSync(join(root, file), 'utf8'), /sourceMappingURL/, `${file} points to no map`);
  }
});

it('needs no other Node-RED node module at run time: the stock ones the benchmark compares with are dev-only', () => {
  const runtimeDeps = { ...pkg.dependencies, ...(pkg.optionalDependencies as object), ...(pkg.peerDependencies as object) };
  for (const dev of ['node-red-contrib-aedes', 'node-red-node-sqlite']) {
    assert.ok(!(dev in runtimeDeps), `${dev} is not installed with the package`);
    assert.ok(dev in (pkg.devDependencies as object), `${dev} is still there for bench/baseline-flow.json`);
  }
});
