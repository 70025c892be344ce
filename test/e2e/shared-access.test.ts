/**
 * Two cloud runtimes on one PostgreSQL store, as HAProxy spreads a cluster's requests (issue 21
 * item 5): a logout through one is refused by the other at once (and its live feed there
 * closes within seconds); wrong passwords spread over
 * both block the client as many on one would, and so do camera ids guessed at both gateways;
 * the camera gateway's enrolment window opened through one lets a camera enrol through the other. Each runtime is the built CLI in a process
 * of its own (`start --role cloud` with PICAM_DB_URL), with the same environment file's logins
 * and credential secret, as a cluster's runtimes have.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import bcrypt from 'bcryptjs';
import WebSocket from 'ws';
import { makeCertificates } from '../../cli/commands/certs';
import { LOGIN_LIMITS } from '../../dashboard/server/sessions';
import { DEFAULT_FAILURE_LIMITS } from '../../nodes/lib/failure-limiter';
import { API_AUTH, cloudRoleEnv, startCli, type CliProcess } from '../support/cli';
import { describeWithPostgres } from '../support/postgres';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const dir = tempDir('picam-shared-access-');
const ALICE = { username: 'alice', password: 'alice-password-1' };
const CAMERA = '0123456789ABCDEF0123456789ABCDEF';

interface Runtime {
  cli: CliProcess;
  base: string;
  gateway: string;
}

describeWithPostgres('two runtimes sharing one PostgreSQL store', (postgres) => {
  const runtimes: Runtime[] = [];
  let a: Runtime;
  let b: Runtime;

  before(async () => {
    const url = await postgres().createDatabase();
    const certDir = join(dir, 'certs');
    await makeCertificates({ dir: certDir, brokerHosts: ['127.0.0.1'], bits: 2048 });
    // One environment file for both, as every runtime of a cluster has: the same logins, hashes and secret.
    const shared = cloudRoleEnv(
      dir,
      { http: 0, mqtt: 0, ws: 0 },
      {
        PICAM_DB_URL: url,
        PICAM_CERT_DIR: certDir,
        PICAM_DASHBOARD_USERS: `${ALICE.username}:${bcrypt.hashSync(ALICE.password, 4)}`,
      },
    );
    for (const name of ['a', 'b']) {
      const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort(), gateway: await freePort() };
      mkdirSync(join(dir, name));
      const env = { ...shared, ...cloudRoleEnv(join(dir, name), ports), ...pick(shared) };
      const cli = startCli(['start', '--role', 'cloud'], env);
      runtimes.push({ cli, base: `http://127.0.0.1:${ports.http}`, gateway: `http://127.0.0.1:${ports.gateway}` });
    }
    [a, b] = runtimes as [Runtime, Runtime];
    for (const r of runtimes) {
      // Ready once its access-control node attached the store (the first-run route answers).
      await waitFor(
        `the runtime at ${r.base}`,
        async () => ((await fetch(`${r.base}/api/first-run`).catch(() => undefined))?.status === 200 ? true : undefined),
        90_000,
      );
    }
  });

  after(async () => {
    for (const r of runtimes) {
      const code = await r.cli.stop();
      assert.equal(code, 0, `the runtime stops cleanly; its output:\n${r.cli.output()}`);
    }
  });

  /** A browser behind HAProxy: its own address in X-Forwarded-For (loopback is a trusted proxy). */
  const login = (r: Runtime, password: string, client: string) =>
    fetch(`${r.base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
      body: JSON.stringify({ username: ALICE.username, password, remember: false }),
    });
  const session = (r: Runtime, cookie: string) => fetch(`${r.base}/api/session`, { headers: { cookie } });

  it('refuses a session on one runtime as soon as it logged out through the other', async () => {
    const res = await login(a, ALICE.password, '198.51.100.1');
    assert.equal(res.status, 200, await res.clone().text());
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    assert.equal((await session(b, cookie)).status, 200, 'the other runtime accepts the session (one credential secret)');
    const feed = await openFeed(b, cookie);
    const feedClosed = new Promise<number>((resolve) => feed.once('close', (code) => resolve(code)));
    const out = await fetch(`${a.base}/api/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken } });
    assert.equal(out.status, 204);
    // No wait: the logout was committed before its answer.
    assert.equal((await session(b, cookie)).status, 401, 'logged out through a: refused by b at once');
    assert.equal((await fetch(`${b.base}/api/cameras`, { headers: { cookie } })).status, 401, 'the API too');
    assert.equal((await session(a, cookie)).status, 401);
    // Its live feed on b closes too, at b's next look-up (every few seconds), as a logout there would close it.
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still open after 30 s'), 30_000).unref());
    assert.equal(await Promise.race([feedClosed, timeout]), 4001);
  });

  it('blocks a client whose wrong passwords were spread over both runtimes, on both', async () => {
    const guesser = '203.0.113.50';
    for (let i = 0; i < LOGIN_LIMITS.maxFailures; i++) {
      const res = await login(i % 2 ? a : b, `wrong-guess-${i}`, guesser);
      assert.equal(res.status, 401, `guess ${i + 1}`);
    }
    for (const r of [a, b]) {
      const res = await login(r, ALICE.password, guesser);
      assert.equal(res.status, 429, `${r.base}: even the right password waits`);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
    }
    assert.equal((await login(b, ALICE.password, '198.51.100.2')).status, 200, 'another client is not blocked');
  });

  it("blocks a client guessing camera ids through both runtimes' gateways, on both", async () => {
    const guess = (r: Runtime, i: number) =>
      fetch(`${r.gateway}/hivecam/cert/${i.toString(16).toUpperCase().padStart(32, 'A')}`, {
        headers: { 'x-forwarded-for': '203.0.113.77' },
      });
    for (let i = 0; i < DEFAULT_FAILURE_LIMITS.maxFailures; i++)
      assert.equal((await guess(i % 2 ? a : b, i)).status, 403, `guess ${i + 1}`);
    for (const r of [a, b]) assert.equal((await guess(r, 99)).status, 429, `${r.gateway} refuses the guesser`);
  });

  it('lets a user made, and a token made or revoked, through one runtime count on the other within seconds', async () => {
    const api = (r: Runtime, path: string, init: RequestInit = {}) =>
      fetch(`${r.base}${path}`, { ...init, headers: { authorization: API_AUTH, 'content-type': 'application/json', ...init.headers } });
    const listed = async (r: Runtime, what: 'users' | 'tokens', name: string) =>
      ((await (await api(r, `/api/${what}`)).json()) as Record<string, Array<{ name: string }>>)[what]!.some((x) => x.name === name);
    const BOB = { name: 'bob', password: 'bob-password-1' };
    assert.equal((await api(a, '/api/users', { method: 'POST', body: JSON.stringify({ ...BOB, role: 'viewer' }) })).status, 201);
    await waitFor('b to know bob', async () => ((await listed(b, 'users', 'bob')) ? true : undefined), 30_000);
    const bob = await fetch(`${b.base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.3' },
      body: JSON.stringify({ username: BOB.name, password: BOB.password, remember: false }),
    });
    assert.equal(bob.status, 200, 'bob, made through a, logs in through b');

    const made = (await (
      await api(a, '/api/tokens', { method: 'POST', body: JSON.stringify({ name: 'wall', role: 'viewer' }) })
    ).json()) as {
      id: number;
      token: string;
    };
    await waitFor('b to know the token', async () => ((await listed(b, 'tokens', 'wall')) ? true : undefined), 30_000);
    const withToken = () => fetch(`${b.base}/api/cameras`, { headers: { authorization: `Bearer ${made.token}` } });
    assert.equal((await withToken()).status, 200);
    assert.equal((await api(a, `/api/tokens/${made.id}`, { method: 'DELETE' })).status, 204);
    await waitFor('b to forget the token', async () => ((await listed(b, 'tokens', 'wall')) ? undefined : true), 30_000);
    assert.equal((await withToken()).status, 401, 'revoked through a: refused by b');
  });

  it('lets a camera enrol through one runtime in the window opened through the other', async () => {
    const cert = () => fetch(`${b.gateway}/hivecam/cert/${CAMERA}`);
    assert.equal((await cert()).status, 403, 'closed: an unregistered camera gets no keys');
    const opened = await fetch(`${a.base}/api/gateway/enrolment`, {
      method: 'POST',
      headers: { authorization: API_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ minutes: 5 }),
    });
    assert.equal(opened.status, 200, await opened.clone().text());
    const cameras = (await (await fetch(`${b.base}/api/gateway/cameras`, { headers: { authorization: API_AUTH } })).json()) as {
      enrolmentOpen: boolean;
    };
    assert.equal(cameras.enrolmentOpen, true, 'b reports the window a opened');
    const keys = await cert();
    assert.equal(keys.status, 200, await keys.clone().text());
    assert.match(((await keys.json()) as { privateKey: string }).privateKey, /PRIVATE KEY/);
    // Closed through b: a refuses the next stranger.
    const closed = await fetch(`${b.base}/api/gateway/enrolment`, {
      method: 'POST',
      headers: { authorization: API_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ minutes: 0 }),
    });
    assert.equal(closed.status, 200);
    assert.equal((await fetch(`${a.gateway}/hivecam/cert/${CAMERA.replace('0', 'F')}`)).status, 403);
  });
});

/** A browser's live feed on `r` with the session `cookie`, once it said hello. */
async function openFeed(r: Runtime, cookie: string): Promise<WebSocket> {
  const ws = new WebSocket(`${r.base.replace('http', 'ws')}/api/ws`, { headers: { cookie } });
  await new Promise<void>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => reject(new Error(`the live feed answered ${res.statusCode}`)));
    ws.once('message', () => resolve());
  });
  return ws;
}

/** What must be the same on every runtime: the logins (hashes included), the secret, the database, the certificates. */
function pick(env: Record<string, string>): Record<string, string> {
  const keys = [
    'PICAM_DB_URL',
    'PICAM_CERT_DIR',
    'PICAM_DASHBOARD_USERS',
    'PICAM_CREDENTIAL_SECRET',
    'PICAM_ADMIN_PASSWORD_HASH',
    'PICAM_API_PASSWORD_HASH',
  ];
  return Object.fromEntries(keys.map((k) => [k, env[k]!]));
}
