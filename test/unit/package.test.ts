/**
 * The package a user installs into Node-RED (`npm pack`): every node listed
 * under "node-red" exists with its editor file and help, and the flows ship as
 * examples. Needs the build (npm test builds first).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  keywords: string[];
  'node-red': { version: string; nodes: Record<string, string> };
  dependencies: Record<string, string>;
};

it('is a Node-RED 4.1+ module whose tarball holds each node with its editor, help and messages', () => {
  assert.ok(pkg.keywords.includes('node-red'));
  assert.equal(pkg['node-red'].version, '>=4.1.0');
  assert.ok(!('node-red' in pkg.dependencies), 'Node-RED is the host, not a dependency');
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // Under `npm test` npm may still run the build and print it first: the JSON is the tail.
  const json = out.slice(out.search(/^\[/m));
  const files = new Set((JSON.parse(json) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  const types = Object.keys(pkg['node-red'].nodes);
  assert.deepEqual(types.sort(), [
    'command-sender',
    'dashboard-feed',
    'hivecam-gateway',
    'mediamtx-health',
    'mediamtx-server',
    'mqtt-ingest',
    'mqtt-outbox',
    'mqtt-processor',
    'picam-broker',
    'picam-database',
    'rpicam-rtsp',
    'sensehat-in',
    'sensehat-out',
    'sqlite-events',
    'telegram-alert',
    'telegram-bot',
    'webhook-alert',
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
});
