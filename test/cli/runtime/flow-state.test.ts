/**
 * A runtime opens its doors only once its flows run. Node-RED's own start resolves before it
 * has even read the flow file; the storage here takes its time over that read, as a slow SD
 * card or a loaded machine does, so a runtime that opened at once answered the API's routes
 * with 404 (and /healthz with "started") until the flows caught up, and started the installed
 * flow a second time when the late read arrived.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, it } from 'node:test';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import { API_AUTH, cloudRoleEnv } from '../../support/cli';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';

const READ_DELAY_MS = 1500;

/** Node-RED's file storage, with its flow file read late. */
function slowStorage(): Record<string, unknown> {
  const nodeRed = createRequire(require.resolve('node-red'));
  const local = nodeRed('@node-red/runtime/lib/storage/localfilesystem') as Record<string, (...a: unknown[]) => Promise<unknown>>;
  return {
    ...local,
    getFlows: async (...args: unknown[]) => {
      await new Promise((resolve) => setTimeout(resolve, READ_DELAY_MS));
      return local.getFlows!(...args);
    },
  };
}

let runtime: RunningRuntime;
const errors: string[] = [];

before(async () => {
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  const role = settingsFor(cloudRoleEnv(tempDir('flow-start-'), ports, { PICAM_ROLE: 'cloud', PICAM_LOG_LEVEL: 'error' }));
  role.node.storageModule = slowStorage();
  const capture = { level: 'error', metrics: false, audit: false, handler: () => (m: { msg: unknown }) => void errors.push(String(m.msg)) };
  role.node.logging = { ...(role.node.logging as object), capture };
  runtime = await startRuntime(role);
});
after(() => runtime?.stop());

it('answers the API from the moment it is up, and says so on /healthz', async () => {
  const health = (await (await fetch(`${runtime.url}/healthz`)).json()) as { flows: string };
  assert.equal(health.flows, 'started');
  // Through the late read and after it: the routes stay, the flows are not started twice.
  for (const until = Date.now() + READ_DELAY_MS + 1000; Date.now() < until; ) {
    const res = await fetch(`${runtime.url}/api/status`, { headers: { authorization: API_AUTH } });
    assert.equal(res.status, 200, `GET /api/status answered ${res.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(errors, [], 'nothing logged as an error (a second start would fail to bind its ports)');
});

it("loads none of the bench's stock node modules that a checkout has (the MongoDB driver alone held 17.8 MB)", () => {
  const loaded = Object.keys(require.cache).filter((f) => /node_modules\/(node-red-contrib-aedes|node-red-node-sqlite|mongodb)\/.*\.js$/.test(f));
  assert.deepEqual(loaded, []);
});
