/**
 * `picam-guardian deploy` to several runtimes, as a cluster's are deployed (issue 21 item 5):
 * two real cloud runtimes (the built CLI, each in a process of its own) started with a
 * placeholder flow. A runtime that refuses stops the deploy before anything changed anywhere;
 * otherwise each runtime gets the flow, with its result reported one line each; rollback goes
 * to each as well. Needs the build (npm test builds first).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deployCli } from '../../cli/deploy/deploy-cli';
import { readRecord } from '../../cli/deploy/deploy-state';
import type { FlowNode } from '../../cli/flows/flow-file';
import { adminLogin, cloudRoleEnv, LOGINS, startCli, type CliProcess } from '../support/cli';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const dir = tempDir('picam-deploy-many-');
const stateDir = join(dir, 'state');
const PASSWORD_ENV = { PICAM_DEPLOY_PASSWORD: LOGINS.admin.password };
const INITIAL: FlowNode[] = [
  { id: 'initial.tab', type: 'tab', label: 'Before the deploy', disabled: false, info: '' },
  { id: 'initial.note', type: 'comment', z: 'initial.tab', name: 'placeholder', info: '', x: 150, y: 60, wires: [] },
];

interface Runtime {
  cli: CliProcess;
  admin: string;
  token: string;
}
const runtimes: Runtime[] = [];

async function cli(argv: string[], env: Record<string, string> = PASSWORD_ENV): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await deployCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function flowsOf(r: Runtime): Promise<FlowNode[]> {
  const res = await fetch(`${r.admin}/flows`, { headers: { authorization: `Bearer ${r.token}`, 'Node-RED-API-Version': 'v2' } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { flows: FlowNode[] }).flows;
}

const both = () => runtimes.flatMap((r) => ['--url', r.admin]);
const loginArgs = ['--user', LOGINS.admin.username, '--state-dir', stateDir];

before(async () => {
  writeFileSync(join(dir, 'initial.json'), JSON.stringify(INITIAL));
  for (const name of ['one', 'two']) {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    mkdirSync(join(dir, name));
    const cli = startCli(['start', '--role', 'cloud', '--flows', join(dir, 'initial.json')], cloudRoleEnv(join(dir, name), ports));
    runtimes.push({ cli, admin: `http://127.0.0.1:${ports.http}/admin`, token: '' });
  }
  for (const r of runtimes) {
    const res = await waitFor(
      `the runtime at ${r.admin}`,
      async () => {
        const l = await adminLogin(r.admin).catch(() => undefined);
        return l?.ok ? l : undefined;
      },
      90_000,
    );
    r.token = ((await res.json()) as { access_token: string }).access_token;
    await waitFor('the placeholder flow', async () => ((await flowsOf(r))?.length === INITIAL.length ? true : undefined));
  }
});

after(async () => {
  for (const r of runtimes) {
    const code = await r.cli.stop();
    assert.equal(code, 0, `the runtime stops cleanly; its output:\n${r.cli.output()}`);
  }
});

describe('deploy to several runtimes', () => {
  it('deploys nothing anywhere when one runtime refuses, and says which', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/admin`;
    const r = await cli(['deploy', 'cloud', ...both(), '--url', closed, ...loginArgs]);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`^picam-guardian deploy: nothing deployed: ${closed}: cannot reach Node-RED`));
    assert.equal(r.err.trim().split('\n').length, 1, 'one line');
    for (const rt of runtimes) assert.deepEqual(await flowsOf(rt), INITIAL, `${rt.admin} unchanged`);
  });

  it('refuses a URL listed twice, --rev with several runtimes, and pull from several', async () => {
    const twice = await cli(['deploy', 'cloud', '--url', `${runtimes[0]!.admin},${runtimes[0]!.admin}/`, ...loginArgs]);
    assert.match(twice.err, /is listed twice/);
    assert.match((await cli(['deploy', 'cloud', ...both(), '--rev', 'abc', ...loginArgs])).err, /--rev names one runtime’s revision/);
    assert.match((await cli(['pull', 'cloud', ...both(), '--user', 'admin'])).err, /pull reads one runtime: give one --url/);
  });

  it('a dry run on runtimes listed in PICAM_DEPLOY_URL changes nothing', async () => {
    const env = { ...PASSWORD_ENV, PICAM_DEPLOY_URL: runtimes.map((r) => r.admin).join(', ') };
    const r = await cli(['deploy', 'cloud', '--dry-run', ...loginArgs], env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /== runtime 1 of 2: /);
    assert.match(r.out, /== runtime 2 of 2: /);
    assert.match(r.out, /^dry run:$/m);
    for (const rt of runtimes) assert.deepEqual(await flowsOf(rt), INITIAL);
  });

  it('deploys the flow to every runtime and reports each one', async () => {
    const r = await cli(['deploy', 'cloud', ...both(), ...loginArgs]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^deployed to 2 of 2 runtimes:$/m);
    for (const rt of runtimes) {
      assert.match(r.out, new RegExp(`^  ${rt.admin}: deployed \\d+\\.\\d+\\.\\d+ \\(rev [0-9a-f]{12}\\)$`, 'm'));
      assert.equal(readRecord(await flowsOf(rt))?.flow, 'cloud', `${rt.admin} runs the cloud flow`);
    }
    const again = await cli(['deploy', 'cloud', ...both(), ...loginArgs]);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /^deployed to 0 of 2 runtimes:$/m, 'already deployed and unchanged: nothing to do on either');
  });

  it('rolls every runtime back to the flows its own deploy replaced', async () => {
    const r = await cli(['rollback', 'cloud', ...both(), ...loginArgs]);
    assert.equal(r.code, 0, r.err);
    for (const rt of runtimes) assert.deepEqual(await flowsOf(rt), INITIAL, `${rt.admin} back to its placeholder`);
  });
});
