/**
 * Roles, users, API tokens, the audit and the first admin (issue 23) against a real cloud
 * runtime (its flow's access-control node on a real SQLite file): each login is checked against
 * the route table's role, whichever way it logs in (session, token, Basic); tokens carry a
 * scope and can be revoked; bad input is a 4xx with the reason; every change is in the audit,
 * without its secrets. (The first admin: access-control.first-run.test.ts, a runtime of its own.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import type { RunningRuntime } from '../../../cli/runtime/runtime';
import type { AuditEntry, NewToken, SessionRow, TokenInfo, UserInfo } from '../../../nodes/lib/contract/access';
import type { SessionInfo } from '../../../nodes/lib/contract/dashboard-api';
import type { CameraList } from '../../../nodes/lib/contract/api-rows';
import { API_PATHS } from '../../../nodes/lib/contract/api-paths';
import { FIRST_CAMERA_PAGE, FIRST_VIEW_REQUESTS, type FirstViewAnswers } from '../../../nodes/lib/contract/first-view';
import { Connection } from '../../../nodes/lib/store/sqlite';
import { apiLogin, OPERATOR, startRolesCloud, VIEWER, type CloudPorts, type Login } from '../../support/access';
import { API_AUTH, LOGINS } from '../../support/cli';
import { connected, topics } from '../../support/fixtures';
import { waitFor } from '../../support/wait';

const CAMERA = 'cam-1';

describe('roles, users, tokens and the audit', () => {
  let runtime: RunningRuntime;
  let dataDir: string;
  const api = (path: string, init: RequestInit & { as?: Login | string } = {}) => {
    const { as = API_AUTH, ...rest } = init;
    const headers: Record<string, string> = { ...(rest.body !== undefined && { 'content-type': 'application/json' }) };
    if (typeof as === 'string') headers.authorization = as;
    else Object.assign(headers, { cookie: as.cookie, 'x-csrf-token': as.csrf });
    return fetch(`${runtime.url}${path}`, { ...rest, headers: { ...headers, ...(rest.headers as Record<string, string>) } });
  };
  const post = (path: string, body: unknown, as?: Login | string) => api(path, { method: 'POST', body: JSON.stringify(body), as });
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;

  let ports: CloudPorts;
  before(async () => {
    // A camera the mode commands can go to.
    ({ runtime, ports, dataDir } = await startRolesCloud(CAMERA));
  });
  after(() => runtime?.stop());

  it('refuses a viewer every change with 403 and the reason, and lets it read', async () => {
    const vera = await apiLogin(runtime.url, VIEWER);
    assert.equal((await api('/api/cameras', { as: vera })).status, 200);
    const mode = await post('/api/control/mode/cam-1/ARMED', {}, vera);
    assert.equal(mode.status, 403);
    assert.match(await errorOf(mode), /needs the operator role; "vera" is a viewer/);
    const users = await api('/api/users', { as: vera });
    assert.equal(users.status, 403);
    assert.match(await errorOf(users), /needs the admin role/);
    const session = (await (await api('/api/session', { as: vera })).json()) as SessionInfo;
    assert.equal(session.role, 'viewer');
  });

  it('lets an operator change a mode but not open enrolment', async () => {
    const otto = await apiLogin(runtime.url, OPERATOR);
    const mode = await post('/api/control/mode/cam-1/ARMED', {}, otto);
    assert.notEqual(mode.status, 403, await mode.clone().text());
    assert.ok(mode.status < 500);
    const enrol = await post('/api/gateway/open-enrolment', {}, otto);
    assert.equal(enrol.status, 403);
    assert.match(await errorOf(enrol), /needs the admin role; "otto" is an operator/);
  });

  it('makes tokens with a scope, shows each once, and forgets a revoked one', async () => {
    const made = await post('/api/tokens', { name: 'wall-screen', role: 'viewer', cameras: ['cam-a'] });
    assert.equal(made.status, 201, await made.clone().text());
    const token = (await made.json()) as NewToken;
    assert.match(token.token, /^pgt_/);
    const list = (await (await api('/api/tokens')).json()) as { tokens: TokenInfo[] };
    const listed = list.tokens.find((t) => t.id === token.id)!;
    assert.deepEqual([listed.name, listed.role, listed.cameras], ['wall-screen', 'viewer', ['cam-a']]);
    assert.ok(!JSON.stringify(list).includes(token.token), 'the token is never listed');
    const db = await Connection.open(`${dataDir}/picam-guardian.db`, true);
    const stored = await db.all<{ sha256: string }>('SELECT sha256 FROM api_tokens');
    await db.close();
    assert.deepEqual(
      stored.map((r) => r.sha256),
      [createHash('sha256').update(token.token).digest('hex')],
      'only its hash is kept',
    );

    const bearer = `Bearer ${token.token}`;
    assert.equal((await api('/api/cameras', { as: bearer })).status, 200);
    assert.notEqual((await api('/api/sensors/cam-a', { as: bearer })).status, 403, 'its own camera');
    const other = await api('/api/sensors/cam-b', { as: bearer });
    assert.equal(other.status, 403);
    assert.match(await errorOf(other), /may not use camera "cam-b"/);
    assert.equal((await post('/api/control/reboot/cam-a', {}, bearer)).status, 403, 'a viewer token reboots nothing');

    assert.equal((await api(`/api/tokens/${token.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await api('/api/cameras', { as: bearer })).status, 401, 'a revoked token logs in no more');
    const again = await api(`/api/tokens/${token.id}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
  });

  it('limits a login to its cameras: lists leave the others out, and so does the live feed', async () => {
    const limited = async (cameras: string[]) =>
      `Bearer ${((await (await post('/api/tokens', { name: `only-${cameras[0]}`, role: 'viewer', cameras })).json()) as NewToken).token}`;
    const mine = await limited([CAMERA, 'feed-a']);
    const others = await limited(['feed-b']);
    const ids = async (as: string) =>
      ((await (await api('/api/cameras', { as })).json()) as { cameras: Array<{ camera_id: string }> }).cameras.map((c) => c.camera_id);
    assert.deepEqual(await ids(mine), [CAMERA]);
    assert.deepEqual(await ids(others), []);
    assert.ok((await ids(API_AUTH)).includes(CAMERA), 'an unlimited login sees it');
    // A page of the list (the dashboard's first view) counts and pages this login's cameras, not the installation's.
    const page = async (as: string) => (await (await api('/api/cameras?limit=1', { as })).json()) as CameraList;
    assert.deepEqual(
      [await page(mine), await page(others)].map((p) => [p.total, p.cameras.map((c) => c.camera_id)]),
      [
        [1, [CAMERA]],
        [0, []],
      ],
    );
    assert.ok((await page(API_AUTH)).total >= 1);

    // Two feeds; two new devices connect, feed-a first: each feed gets its own camera's messages only.
    const feed = (authorization: string) =>
      new Promise<{ ws: WebSocket; got: Array<{ type: string; deviceId?: string }> }>((resolve, reject) => {
        const ws = new WebSocket(`${runtime.url.replace('http', 'ws')}/api/ws`, { headers: { authorization } });
        const got: Array<{ type: string; deviceId?: string }> = [];
        ws.on('message', (data) => got.push(JSON.parse(String(data)) as { type: string; deviceId?: string }));
        ws.once('open', () => resolve({ ws, got }));
        ws.once('error', reject);
      });
    const a = await feed(mine);
    const b = await feed(others);
    try {
      // Each device publishes under its own client id (the broker confines a device to its topics).
      const now = Math.floor(Date.now() / 1000);
      for (const id of ['feed-a', 'feed-b']) {
        const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { ...LOGINS.devices, clientId: id, reconnectPeriod: 0 });
        await device.publishAsync(topics.connection(id, 'picam'), JSON.stringify(connected(now)), { qos: 1 });
        await device.endAsync();
      }
      const devices = (got: Array<{ deviceId?: string }>) => got.map((m) => m.deviceId).filter(Boolean);
      await waitFor('feed-b on its feed', async () => (devices(b.got).includes('feed-b') ? true : undefined));
      await waitFor('feed-a on its feed', async () => (devices(a.got).includes('feed-a') ? true : undefined));
      assert.ok(!devices(b.got).includes('feed-a'), 'the feed limited to feed-b never got feed-a, which connected first');
      assert.ok(!devices(a.got).includes('feed-b'));
    } finally {
      a.ws.close();
      b.ws.close();
    }
  });

  it("writes a login's own first-view answers into its dashboard page, and none for a visit without a session", async () => {
    // A camera that is not hers.
    const other = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, {
      ...LOGINS.devices,
      clientId: 'not-lenas',
      reconnectPeriod: 0,
    });
    await other.publishAsync(topics.connection('not-lenas', 'picam'), JSON.stringify(connected(Math.floor(Date.now() / 1000))), { qos: 1 });
    await other.endAsync();
    await waitFor('the other camera listed', async () =>
      ((await (await api('/api/cameras')).json()) as CameraList).cameras.some((c) => c.camera_id === 'not-lenas') ? true : undefined,
    );
    assert.equal((await post('/api/users', { name: 'lena', password: 'lena-password-1', role: 'viewer', cameras: [CAMERA] })).status, 201);
    const lena = await apiLogin(runtime.url, { username: 'lena', password: 'lena-password-1' });
    const answersIn = async (as?: Login) => {
      const res = await fetch(`${runtime.url}/dashboard/`, { headers: as ? { cookie: as.cookie } : {} });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const json = /<script type="application\/json" id="first-view-answers">(.*?)<\/script>/s.exec(await res.text())?.[1];
      return json === undefined ? undefined : (JSON.parse(json) as FirstViewAnswers);
    };
    const answers = await answersIn(lena);
    assert.deepEqual(Object.keys(answers ?? {}).sort(), [...FIRST_VIEW_REQUESTS].sort(), 'every first-view request answered');
    const session = answers![API_PATHS.session]!;
    assert.equal(session.status, 200);
    assert.deepEqual([(session.body as SessionInfo).user, (session.body as SessionInfo).cameras], ['lena', [CAMERA]]);
    // The same answers her own requests get: the camera limit applies (the installation has more cameras than hers).
    const cameras = answers![FIRST_CAMERA_PAGE]!.body as CameraList;
    assert.deepEqual([cameras.total, cameras.cameras.map((c) => c.camera_id)], [1, [CAMERA]]);
    assert.deepEqual(cameras, await (await api(FIRST_CAMERA_PAGE, { as: lena })).json());

    assert.equal(await answersIn(), undefined, 'nobody logged in');
    assert.equal(await answersIn({ ...lena, cookie: `${lena.cookie.split('=')[0]}=forged` }), undefined, 'a forged cookie');
    const [ended] = ((await (await api('/api/users/lena/sessions')).json()) as { sessions: SessionRow[] }).sessions;
    assert.equal((await api(`/api/users/lena/sessions/${ended!.id}`, { method: 'DELETE' })).status, 204);
    assert.equal(await answersIn(lena), undefined, 'an ended session');
  });

  it('holds the camera limit where a route names its camera only indirectly, and keeps the metrics for operators', async () => {
    const limited = async (cameras: string[]) =>
      `Bearer ${((await (await post('/api/tokens', { name: `one-${cameras[0]}`, role: 'viewer', cameras })).json()) as NewToken).token}`;
    const mine = await limited([CAMERA]);
    const others = await limited(['cam-z']);

    // A command by its id: its row names the camera.
    const sent = await post(`/api/control/mode/${CAMERA}/ARMED`, {});
    assert.ok(sent.status < 300, await sent.clone().text());
    const { requestId } = ((await sent.json()) as { data: { requestId: string } }).data;
    assert.equal((await api(`/api/commands/${requestId}`, { as: mine })).status, 200);
    const refused = await api(`/api/commands/${requestId}`, { as: others });
    assert.equal(refused.status, 403);
    assert.match(await errorOf(refused), /may not see another camera's command/);
    assert.ok(!(await api(`/api/commands/${requestId}`, { as: others }).then((r) => r.text())).includes(CAMERA), 'nothing of the row');

    // An event's media by its id: the stored upload names the camera.
    const db = await Connection.open(`${dataDir}/picam-guardian.db`);
    await db.run('INSERT INTO file_uploads (event_id, camera_id, file_type, file_path, file_size, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)', [
      'evt-limited-1',
      CAMERA,
      'thumbnail',
      '/nonexistent/thumb.jpg',
      10,
      Date.now(),
    ]);
    await db.close();
    for (const path of ['thumbnail/evt-limited-1', 'recording/evt-limited-1', 'playlist/evt-limited-1.m3u8']) {
      const theirs = await api(`/api/media/${path}`, { as: others });
      assert.equal(theirs.status, 403, `${path}: ${await theirs.clone().text()}`);
      assert.match(await errorOf(theirs), /may not see the cameras of event evt-limited-1/);
      const named = await api(`/api/media/${path}?camera=${CAMERA}`, { as: others });
      assert.equal(named.status, 403, `${path} naming the camera`);
      assert.notEqual((await api(`/api/media/${path}`, { as: mine })).status, 403, `${path}: its own camera's`);
    }

    // Metrics: counts, memory and camera ids, for whoever runs the system.
    const vera = await apiLogin(runtime.url, VIEWER);
    const metrics = await api('/metrics', { as: vera });
    assert.equal(metrics.status, 403);
    assert.match(await errorOf(metrics), /needs the operator role; "vera" is a viewer/);
    const otto = await apiLogin(runtime.url, OPERATOR);
    const scraped = await api('/metrics', { as: otto });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /^# HELP picam_messages_received_total/m);
  });

  it('answers bad input with a 4xx and the reason', async () => {
    const cases: Array<[string, Promise<Response>, number, RegExp]> = [
      ['bad role', post('/api/users', { name: 'bob', password: 'long-enough-1', role: 'root' }), 400, /role must be/],
      ['empty password', post('/api/users', { name: 'bob', password: '', role: 'viewer' }), 400, /password is empty/],
      ['weak password', post('/api/users', { name: 'bob', password: 'short', role: 'viewer' }), 400, /shorter than 8/],
      ['bad name', post('/api/users', { name: 'bob smith', password: 'long-enough-1', role: 'viewer' }), 400, /name must be/],
      [
        'bad cameras',
        post('/api/users', { name: 'bob', password: 'long-enough-1', role: 'viewer', cameras: 'all' }),
        400,
        /cameras must be/,
      ],
      ['environment user', post('/api/users', { name: VIEWER.username, password: 'long-enough-1', role: 'viewer' }), 409, /exists already/],
      ['unknown user', post('/api/users/nobody', { role: 'viewer' }), 404, /no user "nobody"/],
      ['remove unknown user', api('/api/users/nobody', { method: 'DELETE' }), 404, /no user "nobody"/],
      ['change env user', post(`/api/users/${VIEWER.username}`, { role: 'admin' }), 409, /set in the environment/],
      ['nothing to change', post('/api/users/nobody', {}), 400, /at least one of/],
      ['bad token role', post('/api/tokens', { name: 'x', role: 'boss' }), 400, /role must be/],
      ['bad token id', api('/api/tokens/abc', { method: 'DELETE' }), 400, /positive whole number/],
      [
        'malformed JSON',
        api('/api/users', { method: 'POST', body: '{"name":', headers: { 'content-type': 'application/json' } }),
        400,
        /./,
      ],
    ];
    for (const [what, pending, status, reason] of cases) {
      const res = await pending;
      assert.equal(res.status, status, `${what}: ${await res.clone().text()}`);
      assert.match(await errorOf(res), reason, what);
    }
    const added = await post('/api/users', { name: 'dora', password: 'dora-password-1', role: 'viewer' });
    assert.equal(added.status, 201);
    const dup = await post('/api/users', { name: 'dora', password: 'dora-password-2', role: 'admin' });
    assert.equal(dup.status, 409);
    assert.match(await errorOf(dup), /exists already/);
    const users = (await (await api('/api/users')).json()) as { users: UserInfo[] };
    assert.deepEqual(
      users.users.find((u) => u.name === 'dora'),
      { ...users.users.find((u) => u.name === 'dora')!, role: 'viewer', source: 'store', cameras: null },
      'the duplicate changed nothing',
    );
  });

  it('applies a role change at once, lists and ends sessions, and logs out a removed user', async () => {
    assert.equal((await post('/api/users', { name: 'erin', password: 'erin-password-1', role: 'viewer' })).status, 201);
    const erin = await apiLogin(runtime.url, { username: 'erin', password: 'erin-password-1' });
    assert.equal((await post('/api/control/mode/cam-1/PRIVACY', {}, erin)).status, 403);
    assert.equal((await post('/api/users/erin', { role: 'operator' })).status, 200);
    assert.notEqual((await post('/api/control/mode/cam-1/PRIVACY', {}, erin)).status, 403, 'operator from the next request on');

    const sessions = (await (await api('/api/users/erin/sessions')).json()) as { sessions: SessionRow[] };
    assert.equal(sessions.sessions.length, 1);
    assert.equal((await api(`/api/users/erin/sessions/${sessions.sessions[0]!.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await api('/api/cameras', { as: erin })).status, 401, 'an ended session is logged out');

    const again = await apiLogin(runtime.url, { username: 'erin', password: 'erin-password-1' });
    assert.equal((await api('/api/users/erin', { method: 'DELETE' })).status, 204);
    assert.equal((await api('/api/cameras', { as: again })).status, 401, 'a removed user is logged out');
  });

  it('keeps each change in the audit, without its secrets', async () => {
    assert.equal((await post('/api/users', { name: 'fred', password: 'fred-secret-pw', role: 'operator' })).status, 201);
    assert.equal((await post('/api/users/fred', { password: 'fred-secret-pw2', cameras: ['cam-a'] })).status, 200);
    const otto = await apiLogin(runtime.url, OPERATOR);
    const mode = await post(`/api/control/mode/${CAMERA}/LIVESTREAMONLY`, {}, otto);
    assert.equal(mode.status, 202, await mode.clone().text());
    const vera = await apiLogin(runtime.url, VIEWER);
    assert.equal((await api('/api/audit', { as: vera })).status, 403);
    // The guard writes an entry once the answer has gone out: wait for it rather than race it.
    const audit = await waitFor('the mode change in the audit', async () => {
      const page = (await (await api('/api/audit')).json()) as { entries: AuditEntry[] };
      return page.entries.some((e) => e.actor === 'otto') ? page : undefined;
    });
    const find = (actor: string, action: string, target: string) =>
      audit.entries.find((e) => e.actor === actor && e.action === action && e.target === target);
    const added = find('viewer', 'add user', 'fred');
    assert.ok(added, JSON.stringify(audit.entries.slice(0, 5)));
    assert.equal(added.role, 'admin');
    assert.match(added.detail, /operator/);
    assert.match(find('viewer', 'change user', 'fred')!.detail, /password reset/);
    const modeEntry = find('otto', 'POST /api/control/mode/:id/:mode', `${CAMERA} LIVESTREAMONLY`);
    assert.equal(modeEntry?.role, 'operator', 'an operator’s mode change');
    assert.ok(find('viewer', 'revoke API token', 'wall-screen'));
    assert.ok(!JSON.stringify(audit).includes('fred-secret-pw'), 'no password in the audit');
    assert.ok(
      audit.entries.every((e, i, all) => i === 0 || all[i - 1]!.id > e.id),
      'newest first',
    );
  });
});
