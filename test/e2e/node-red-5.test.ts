/**
 * Node-RED 5 on Node 22, as a user of the current release gets them: a plain
 * `node-red@5` from npm run by a Node 22 binary from npm, this package
 * `npm pack`ed and `npm install`ed into its user directory (the SQLite driver
 * built there for Node 22), the shipped cloud flow with the cloud role's
 * settings and logins, and a device that connects to the flow's own broker and
 * is then listed by the API. The rest of the suite runs on the machine's Node 20
 * and Node-RED 4.1.
 *
 * Downloads and builds once into test/support/node-red-5.ts's cache (first run
 * about 3 minutes, later runs about 20 s); skipped, saying why, only when the
 * npm registry cannot be reached and nothing is cached.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { settingsFor } from '../../cli/runtime/roles';
import { adminLogin, API_AUTH, cloudRoleEnv, LOGINS } from '../support/cli';
import { CAMERA, connected, heartbeat, topics } from '../support/fixtures';
import { installNodeRed5, nodeRed5Versions, type NodeRed5 } from '../support/node-red-5';
import { freePort } from '../support/ports';
import { packModule } from '../support/npm-pack';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const root = join(__dirname, '..', '..');
const dir = tempDir('picam-node-red-5-');
const versions = nodeRed5Versions();
const skip = typeof versions === 'string' ? versions : false;

let nr5: NodeRed5 | undefined;
let red: ChildProcess | undefined;
let exited: Promise<number | null> | undefined;
let output = '';
let base = '';
let mqttUrl = '';
let device: MqttClient | undefined;

const api = (path: string) => fetch(`${base}${path}`, { headers: { authorization: API_AUTH } });

before(async () => {
  if (typeof versions === 'string') return;
  const tgz = packModule(dir);
  nr5 = await installNodeRed5(versions, tgz);
  if (nr5.installed.length > 0) console.log(`# installed into ${nr5.userDir}/..: ${nr5.installed.join(', ')}`);

  // The cloud role's own settings (logins, admin path, flow values) from cli/runtime/roles.ts, as a plain settings file:
  // no picam-guardian runtime around Node-RED, and the module loaded from the user directory where npm put it.
  const [http, mqttPort, ws] = [await freePort(), await freePort(), await freePort()];
  const role = settingsFor({ ...cloudRoleEnv(dir, { http, mqtt: mqttPort, ws }), PICAM_ROLE: 'cloud' });
  assert.deepEqual(role.problems, []);
  const flowFile = join(dir, 'flows.json');
  copyFileSync(join(root, 'flows', 'cloud.json'), flowFile);
  const settingsFile = join(dir, 'settings.js');
  const { nodesDir: _ours, ...plain } = role.node;
  writeFileSync(settingsFile, `module.exports = ${JSON.stringify({ ...plain, userDir: nr5.userDir, flowFile }, null, 2)};\n`);

  red = spawn(nr5.node, [nr5.redJs, '--settings', settingsFile], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...role.flowEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  red.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  red.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  exited = new Promise((resolve) => red!.once('exit', resolve));
  base = `http://127.0.0.1:${http}`;
  mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  await waitFor(
    'the API on Node-RED 5',
    async () => {
      if (red!.exitCode !== null) throw new Error(`Node-RED 5 exited with ${red!.exitCode}:\n${output}`);
      return (await api('/api/status').catch(() => undefined))?.ok ? true : undefined;
    },
    60_000,
  );
});

after(async () => {
  await device?.endAsync();
  try {
    if (red && red.exitCode === null) {
      red.kill('SIGTERM');
      const timer = setTimeout(() => red!.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, `Node-RED 5 stops cleanly: every node's close finished; its output:\n${output}`);
    }
  } finally {
    nr5?.release();
  }
});

it('runs a plain Node-RED 5 under Node 22 with every node of the packed module loaded', { skip }, async () => {
  assert.match(execFileSync(nr5!.node, ['--version'], { encoding: 'utf8' }), /^v22\./);
  const token = ((await (await adminLogin(`${base}/admin`)).json()) as { access_token: string }).access_token;
  const auth = { authorization: `Bearer ${token}` };
  const settings = (await (await fetch(`${base}/admin/settings`, { headers: auth })).json()) as { version: string };
  assert.match(settings.version, /^5\./, 'Node-RED 5');
  const sets = (await (await fetch(`${base}/admin/nodes`, { headers: { ...auth, accept: 'application/json' } })).json()) as Array<{
    module: string;
    types: string[];
    err?: string;
  }>;
  const ours = sets.filter((s) => s.module === 'picam-guardian');
  assert.deepEqual(
    ours.filter((s) => s.err).map((s) => `${s.types.join()}: ${s.err}`),
    [],
  );
  // As many types as the package declares (each node file registers one).
  const declared = Object.keys(
    (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { 'node-red': { nodes: object } })['node-red'].nodes,
  ).length;
  assert.equal(ours.flatMap((s) => s.types).length, declared, `all ${declared} node types are registered`);
  assert.doesNotMatch(output, /\[error\]/, `the cloud flow starts without errors:\n${output}`);
});

it('stores a device that connects to the cloud flow’s broker and lists it in the API', { skip }, async () => {
  // Device clocks must be near the runtime's: recent timestamps.
  const now = Math.floor(Date.now() / 1000);
  device = await mqtt.connectAsync(mqttUrl, { ...LOGINS.devices, clientId: CAMERA, reconnectPeriod: 0 });
  await device.publishAsync(topics.connection(), JSON.stringify(connected(now - 20)), { qos: 1 });
  await device.publishAsync(topics.status(), JSON.stringify(heartbeat(now - 10)), { qos: 1 });

  const camera = await waitFor('the camera in GET /api/cameras', async () => {
    const res = await api('/api/cameras');
    assert.equal(res.status, 200);
    const { cameras } = (await res.json()) as { cameras: Array<Record<string, unknown>> };
    return cameras.find((c) => c.camera_id === CAMERA && c.battery_level === 87);
  });
  assert.equal(camera.camera_name, 'Front Door');
  assert.equal(camera.connection_status, 'connected');
  assert.equal(camera.firmware_version, 'V0_0_00_117RC_svn1356');
  assert.equal((await fetch(`${base}/api/cameras`)).status, 401, 'the API keeps its login on Node-RED 5');
});
