/**
 * End to end: `picam-guardian deploy | rollback | pull` against a real Node-RED
 * runtime in the cloud role (adminAuth on), started with a small placeholder
 * flow. The "done when" of issue 9: flows/cloud.json deployed to this second
 * runtime runs there, and rollback restores the flows it replaced.
 * Needs the build (npm test builds first): one test runs the built CLI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deployCli } from '../../cli/deploy/deploy-cli';
import { RECORD_ID, readRecord, withoutRecord } from '../../cli/deploy/deploy-state';
import { diffFlows, isEmptyDiff } from '../../cli/deploy/flow-diff';
import { formatFlow, readFlow, type FlowNode } from '../../cli/flows/flow-file';
import { adminLogin, API_AUTH, CLI, cloudRoleEnv, LOGINS, startCli, type CliProcess } from '../support/cli';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const root = join(__dirname, '..', '..');
const CLOUD_FLOW = join(root, 'flows', 'cloud.json');
const CLOUD_META = join(root, 'flows', 'flows.meta.json');
const dir = tempDir('picam-deploy-');
const stateDir = join(dir, 'state');
const PASSWORD_ENV = { PICAM_DEPLOY_PASSWORD: LOGINS.admin.password };

/** What the runtime starts with: the flows a deploy replaces and a rollback brings back. */
const INITIAL: FlowNode[] = [
  { id: 'initial.tab', type: 'tab', label: 'Before the deploy', disabled: false, info: '' },
  { id: 'initial.note', type: 'comment', z: 'initial.tab', name: 'placeholder', info: '', x: 150, y: 60, wires: [] },
  { id: 'initial.tick', type: 'inject', z: 'initial.tab', name: 'tick', props: [{ p: 'payload' }], repeat: '', once: false, payloadType: 'date', x: 130, y: 120, wires: [['initial.log']] },
  { id: 'initial.log', type: 'debug', z: 'initial.tab', name: 'log', active: true, complete: 'false', x: 310, y: 120, wires: [] },
]; // prettier-ignore

let runtime: CliProcess;
let base: string;
let admin: string;
let token: string;

/** The deploy commands in this process, as `picam-guardian <argv>` would run them. */
async function cli(argv: string[], env: Record<string, string> = PASSWORD_ENV): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await deployCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The built CLI as a user runs it. */
function builtCli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', HOME: dir, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr });
    });
  });
}

const login = () => ['--url', admin, '--user', LOGINS.admin.username, '--state-dir', stateDir];

async function runtimeFlows(): Promise<{ rev: string; flows: FlowNode[] }> {
  const res = await fetch(`${admin}/flows`, { headers: { authorization: `Bearer ${token}`, 'Node-RED-API-Version': 'v2' } });
  assert.equal(res.status, 200);
  return (await res.json()) as { rev: string; flows: FlowNode[] };
}

/** The cloud flow's version as shipped (flows/flows.meta.json). */
const SHIPPED = (JSON.parse(readFileSync(CLOUD_META, 'utf8')) as { cloud: { version: string } }).cloud.version;
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A copy of the cloud flow and its metadata in a folder of its own, changed by `edit`. */
function variant(
  name: string,
  edit: { version?: string; modules?: Record<string, string>; nodes?: (n: FlowNode[]) => FlowNode[] },
): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const meta = JSON.parse(readFileSync(CLOUD_META, 'utf8')) as Record<string, { version: string; modules: Record<string, string> }>;
  meta.cloud = { version: edit.version ?? meta.cloud!.version, modules: { ...meta.cloud!.modules, ...edit.modules } };
  writeFileSync(join(folder, 'flows.meta.json'), JSON.stringify(meta, null, 2));
  const nodes = readFlow(CLOUD_FLOW);
  writeFileSync(join(folder, 'cloud.json'), formatFlow(edit.nodes ? edit.nodes(nodes) : nodes));
  return join(folder, 'cloud.json');
}

const oneLine = (text: string) => assert.equal(text.trim().split('\n').length, 1, `one line: ${text}`);

before(async () => {
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  base = `http://127.0.0.1:${ports.http}`;
  admin = `${base}/admin`;
  writeFileSync(join(dir, 'initial.json'), JSON.stringify(INITIAL));
  mkdirSync(join(dir, 'data'));
  runtime = startCli(['start', '--role', 'cloud', '--flows', join(dir, 'initial.json')], cloudRoleEnv(join(dir, 'data'), ports));
  const res = await waitFor(
    'the runtime’s admin API',
    async () => {
      const r = await adminLogin(admin).catch(() => undefined);
      return r?.ok ? r : undefined;
    },
    60_000,
  );
  token = ((await res.json()) as { access_token: string }).access_token;
  // The flows are installed just after the API answers: GET /flows says null until then.
  await waitFor('the placeholder flow', async () => ((await runtimeFlows())?.flows?.length === INITIAL.length ? true : undefined));
});

after(async () => {
  const code = await runtime?.stop();
  assert.equal(code, 0, `the runtime stops cleanly; its output:\n${runtime?.output()}`);
});

describe('deploy refuses, with one clear line and exit code 1', () => {
  it('a wrong password (the built CLI)', async () => {
    const r = await builtCli(['deploy', 'cloud', ...login()], { PICAM_DEPLOY_PASSWORD: 'not-the-password' });
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(
      r.err,
      /^picam-guardian deploy: login refused at http:\/\/127\.0\.0\.1:\d+\/admin: wrong user name or password for "admin"$/m,
    );
    oneLine(r.err);
  });

  it('no login, a refused token, a password that is not set', async () => {
    assert.match(
      (await cli(['deploy', 'cloud', '--url', admin, '--state-dir', stateDir])).err,
      /requires a login: use --user NAME \(password in PICAM_DEPLOY_PASSWORD\) or --token/,
    );
    assert.match(
      (await cli(['deploy', 'cloud', '--url', admin, '--token', 'bogus'])).err,
      /refused the login \(401\): the token is wrong or has expired/,
    );
    const r = await cli(['deploy', 'cloud', ...login()], {});
    assert.equal(r.code, 1);
    assert.match(r.err, /set PICAM_DEPLOY_PASSWORD to the password of "admin" \(the command does not prompt\)/);
  });

  it('an unreachable runtime: nothing listening, a host that does not exist, a wrong admin path', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/admin`;
    const r = await cli(['deploy', 'cloud', '--url', closed, '--user', 'admin']);
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      `picam-guardian deploy: cannot reach Node-RED at ${closed}: connection refused (is Node-RED running, and on this port?)`,
    );
    assert.match(
      (await cli(['deploy', 'cloud', '--url', 'http://picam-nowhere.invalid:1880/admin', '--user', 'admin'])).err,
      /cannot reach Node-RED at .*: host not found/,
    );
    assert.match(
      (await cli(['deploy', 'cloud', '--url', `${base}/wrong-path`, '--user', 'admin'])).err,
      /does not answer like a Node-RED editor \(GET \/auth\/login: HTTP 401\): is the admin path right/,
    );
  });

  it('an invalid flow file: not JSON, not a flow, a secret, a missing config node, no version', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad, { recursive: true });
    copyFileSync(CLOUD_META, join(bad, 'flows.meta.json'));
    const attempt = async (text: string) => {
      writeFileSync(join(bad, 'cloud.json'), text);
      const r = await cli(['deploy', 'cloud', ...login(), '--file', join(bad, 'cloud.json')]);
      assert.equal(r.code, 1);
      oneLine(r.err);
      return r.err;
    };
    assert.match(await attempt('[{"id": "x", '), /cloud\.json is not valid JSON/);
    assert.match(await attempt('{"flows": []}'), /cloud\.json is not a Node-RED flow \(expected a JSON array of nodes\)/);
    const cloud = readFlow(CLOUD_FLOW);
    const secret = cloud.map((n) =>
      n.id === 'cloud.command-sender' ? { ...n, credentials: { user: '${MQTT_USERNAME}', password: 'plain-text-secret' } } : n,
    );
    const err = await attempt(JSON.stringify(secret));
    assert.match(err, /credentials\.password holds a value, not a \$\{VAR\} reference \(flow files never contain secrets\)/);
    assert.ok(!err.includes('plain-text-secret'));
    assert.match(
      await attempt(JSON.stringify(cloud.filter((n) => n.id !== 'cloud.db'))),
      /database refers to config node "cloud\.db", which is not in the flow/,
    );
    writeFileSync(join(bad, 'flows.meta.json'), '{}');
    assert.match(await attempt(JSON.stringify(cloud)), /flows\.meta\.json has no entry for the cloud flow/);
  });

  it('a module the runtime lacks, or has in a version the flow does not accept', async () => {
    const lacking = await cli([
      'deploy',
      'cloud',
      ...login(),
      '--file',
      variant('lacking', { modules: { 'node-red-contrib-nonexistent': '^1.0.0' } }),
    ]);
    assert.equal(lacking.code, 1);
    assert.match(
      lacking.err,
      /the runtime lacks module node-red-contrib-nonexistent \(the cloud flow needs node-red-contrib-nonexistent \^1\.0\.0\)/,
    );
    const old = await cli(['deploy', 'cloud', ...login(), '--file', variant('too-old', { modules: { 'picam-guardian': '>=9.0.0' } })]);
    assert.match(old.err, /the runtime has picam-guardian \d+\.\d+\.\d+; the cloud flow needs picam-guardian >=9\.0\.0/);
    const unknownType = variant('unknown-type', {
      nodes: (n) => [...n, { id: 'cloud.odd', type: 'node-red-node-odd', z: 'cloud.tab', wires: [] }],
    });
    assert.match(
      (await cli(['deploy', 'cloud', ...login(), '--file', unknownType])).err,
      /the runtime has no node type "node-red-node-odd"/,
    );
    const { flows } = await runtimeFlows();
    assert.deepEqual(flows, INITIAL, 'nothing was deployed');
  });
});

describe('deploy, rollback and pull', () => {
  let initialRev: string;

  it('a dry run shows the diff and changes nothing', async () => {
    initialRev = (await runtimeFlows()).rev;
    const r = await cli(['deploy', 'cloud', ...login(), '--dry-run']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /no deployed flow version recorded/);
    assert.match(r.out, /^ {2}\+ cloud\.processor \(mqtt-processor/m);
    assert.match(r.out, /^ {2}- initial\.tick \(inject "tick"\)$/m);
    assert.match(r.out, new RegExp(`${readFlow(CLOUD_FLOW).length} added, 0 changed, 4 removed`), 'every node of the file is new here');
    assert.match(r.out, new RegExp(`dry run: nothing deployed .*--rev ${initialRev}`));
    const after = await runtimeFlows();
    assert.equal(after.rev, initialRev);
    assert.deepEqual(after.flows, INITIAL);
    assert.ok(!existsSync(stateDir), 'no state written');
  });

  it('deploys flows/cloud.json with the built CLI: the runtime runs it and records its version', async () => {
    const r = await builtCli(['deploy', 'cloud', ...login()], PASSWORD_ENV);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(
      r.out,
      new RegExp(`deployed the cloud flow ${escaped(SHIPPED)} to http://127\\.0\\.0\\.1:\\d+/admin \\(rev \\w+ → \\w+\\)`),
    );
    const { flows } = await runtimeFlows();
    assert.ok(isEmptyDiff(diffFlows(withoutRecord(flows), readFlow(CLOUD_FLOW))), 'GET /flows shows exactly the file’s nodes');
    assert.deepEqual(readRecord(flows), { flow: 'cloud', version: SHIPPED, deployedAt: readRecord(flows)!.deployedAt });
    assert.equal(flows.find((n) => n.id === RECORD_ID)!.z, 'cloud.tab');
    // Running, not only stored: the flow's API answers (behind the API login the cloud role requires).
    await waitFor('the deployed API', async () =>
      (await fetch(`${base}/api/status`, { headers: { authorization: API_AUTH } })).status === 200 ? true : undefined,
    );
    const saved = JSON.parse(readFileSync(join(stateDir, `127.0.0.1-${new URL(base).port}`, 'cloud', 'previous.json'), 'utf8')) as {
      flows: FlowNode[];
    };
    assert.deepEqual(saved.flows, INITIAL, 'the replaced flows are kept for rollback');
  });

  it('deploying the same version again changes nothing', async () => {
    const before = (await runtimeFlows()).rev;
    const r = await cli(['deploy', 'cloud', ...login()]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`the cloud flow ${escaped(SHIPPED)} is already deployed and unchanged: nothing to do`));
    assert.equal((await runtimeFlows()).rev, before);
  });

  it('rollback restores the previous flows', async () => {
    const r = await cli(['rollback', 'cloud', ...login()]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`rolling back .* from the cloud flow ${escaped(SHIPPED)} .* to flows without a version record`));
    assert.deepEqual((await runtimeFlows()).flows, INITIAL);
    await waitFor('the API to go', async () =>
      (await fetch(`${base}/api/status`, { headers: { authorization: API_AUTH } })).status === 404 ? true : undefined,
    );
  });

  it('refuses a stale revision: someone deployed since the flows were read', async () => {
    assert.equal((await cli(['deploy', 'cloud', ...login()])).code, 0);
    const staleRev = (await runtimeFlows()).rev;
    const renamed = variant('renamed', {
      version: '99.0.0',
      nodes: (n) => n.map((x) => (x.id === 'cloud.processor' ? { ...x, name: 'renamed processor' } : x)),
    });
    // Another deploy lands between the review (a dry run prints the rev) and ours.
    assert.equal((await cli(['deploy', 'cloud', ...login(), '--file', renamed, '--dry-run'])).code, 0);
    assert.equal((await cli(['deploy', 'cloud', ...login(), '--force'])).code, 0);
    const current = await runtimeFlows();
    assert.notEqual(current.rev, staleRev);
    const r = await cli(['deploy', 'cloud', ...login(), '--file', renamed, '--rev', staleRev]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      new RegExp(`the runtime's flows changed since revision ${staleRev} was read \\(someone deployed in between\\): nothing deployed`),
    );
    oneLine(r.err);
    assert.equal((await runtimeFlows()).rev, current.rev, 'nothing deployed');
    assert.deepEqual(readRecord((await runtimeFlows()).flows)?.version, SHIPPED);
  });

  it('refuses a downgrade without --force and allows it with --force; rollback undoes it', async () => {
    const older = variant('older', { version: '0.9.0' });
    const refused = await cli(['deploy', 'cloud', ...login(), '--file', older]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.err,
      new RegExp(
        `refusing to downgrade the cloud flow from ${escaped(SHIPPED)} \\(on the runtime\\) to 0\\.9\\.0 \\(.*older/cloud\\.json\\): use --force`,
      ),
    );
    assert.equal(readRecord((await runtimeFlows()).flows)?.version, SHIPPED);
    const forced = await cli(['deploy', 'cloud', ...login(), '--file', older, '--force']);
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.out, new RegExp(`downgrading the cloud flow from ${escaped(SHIPPED)} to 0\\.9\\.0 \\(--force\\)`));
    assert.equal(readRecord((await runtimeFlows()).flows)?.version, '0.9.0');
    assert.equal((await cli(['rollback', 'cloud', ...login()])).code, 0);
    assert.equal(readRecord((await runtimeFlows()).flows)?.version, SHIPPED);
  });

  it('pull brings an edit made in the editor back into the file, in the stable format, credentials kept', async () => {
    // An edit as the editor would deploy it.
    const { rev, flows } = await runtimeFlows();
    const edited = flows.map((n) => (n.id === 'cloud.processor' ? { ...n, name: 'edited in the editor' } : n));
    const res = await fetch(`${admin}/flows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'Node-RED-API-Version': 'v2', 'content-type': 'application/json' },
      body: JSON.stringify({ rev, flows: edited }),
    });
    assert.equal(res.status, 200);
    const repo = variant('pulled', {});
    const r = await cli(['pull', 'cloud', ...login(), '--file', repo]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ {2}~ cloud\.processor \(mqtt-processor "edited in the editor"\): name$/m);
    assert.match(r.out, /bump it and note the change in CHANGELOG\.md/);
    const expected = readFlow(CLOUD_FLOW).map((n) => (n.id === 'cloud.processor' ? { ...n, name: 'edited in the editor' } : n));
    assert.equal(readFileSync(repo, 'utf8'), formatFlow(expected), 'only the edit differs; the ${VAR} credentials stay');
  });

  it('pull into a new file takes ${VAR} text credentials from the runtime and reports the passwords it cannot get', async () => {
    const fresh = join(dir, 'fresh', 'cloud.json');
    mkdirSync(join(dir, 'fresh'));
    const r = await cli(['pull', 'cloud', ...login(), '--file', fresh]);
    assert.equal(r.code, 0, r.err);
    const nodes = readFlow(fresh);
    assert.ok(!nodes.some((n) => n.id === RECORD_ID), 'the version record stays on the runtime');
    assert.deepEqual(nodes.find((n) => n.id === 'cloud.command-sender')!.credentials, { user: '${MQTT_USERNAME}' });
    assert.match(
      r.out,
      /warning: node "cloud\.command-sender" \(command-sender\) has a password on the runtime that is not in the file: add it as a \$\{VAR\} reference/,
    );
  });
});
