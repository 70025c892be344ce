/**
 * The first admin (issue 23) on a fresh cloud install (no API user, no PICAM_DASHBOARD_USERS):
 * the first-run routes make one admin, from this machine or with the one-time code printed in
 * the runtime's log, and never another once an admin exists. (A runtime of its own: Node-RED
 * is one per process.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningRuntime } from '../../../cli/runtime/runtime';
import type { UserInfo } from '../../../nodes/lib/contract/access';
import { apiLogin, startAccessCloud } from '../../support/access';
import { waitFor } from '../../support/wait';

describe('the first admin', () => {
  let runtime: RunningRuntime;
  const printed: string[] = [];
  const write = process.stdout.write.bind(process.stdout);

  before(async () => {
    // The one-time code is printed in the runtime's log (Node-RED logs to stdout).
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      printed.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    ({ runtime } = await startAccessCloud({ PICAM_API_USER: '', PICAM_API_PASSWORD_HASH: '' }));
  });
  after(async () => {
    process.stdout.write = write;
    await runtime?.stop();
  });

  it('is offered while no admin exists, from this machine or with the code from the log', async () => {
    const info = await (await fetch(`${runtime.url}/api/first-run`)).json();
    assert.deepEqual(info, { needed: true, local: true });
    assert.equal((await fetch(`${runtime.url}/api/cameras`)).status, 401, 'still nobody gets in without logging in');

    // Through a proxy (a forwarded request is not this machine): the code is needed.
    const viaProxy = (body: unknown) =>
      fetch(`${runtime.url}/api/first-run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
        body: JSON.stringify(body),
      });
    const noCode = await viaProxy({ name: 'root', password: 'root-password-1' });
    assert.equal(noCode.status, 403);
    assert.match(((await noCode.json()) as { error: string }).error, /one-time code printed in the runtime log/);
    const wrongCode = await viaProxy({ name: 'root', password: 'root-password-1', code: 'guess' });
    assert.equal(wrongCode.status, 403);
    const line = await waitFor(
      'the code in the log',
      async () => printed.join('').match(/one-time code (\S+) on its first-run page/) ?? undefined,
    );
    const weak = await viaProxy({ name: 'root', password: 'short', code: line[1] });
    assert.equal(weak.status, 400);
    const made = await viaProxy({ name: 'root', password: 'root-password-1', code: line[1] });
    assert.equal(made.status, 201, await made.clone().text());

    assert.deepEqual(await (await fetch(`${runtime.url}/api/first-run`)).json(), { needed: false, local: true });
    const second = await fetch(`${runtime.url}/api/first-run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mallory', password: 'mallory-password' }),
    });
    assert.equal(second.status, 409, 'once an admin exists, no other is made this way');
    const root = await apiLogin(runtime.url, { username: 'root', password: 'root-password-1' });
    assert.equal(root.info.role, 'admin');
    const users = await fetch(`${runtime.url}/api/users`, { headers: { cookie: root.cookie } });
    assert.equal(users.status, 200);
    assert.deepEqual(
      ((await users.json()) as { users: UserInfo[] }).users.map((u) => [u.name, u.role]),
      [['root', 'admin']],
    );
    const audit = await fetch(`${runtime.url}/api/audit`, { headers: { cookie: root.cookie } });
    const entries = ((await audit.json()) as { entries: Array<{ actor: string; action: string; target: string }> }).entries;
    assert.ok(entries.some((e) => e.actor === 'first-run' && e.action === 'add user' && e.target === 'root'));
  });
});
