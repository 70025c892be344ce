/**
 * End to end against a real cloud runtime (the built CLI), the way the shipped
 * nginx or Caddy on the same host reach it: every request from 127.0.0.1, the
 * real client named in X-Forwarded-For.
 *
 * - Local hooks: MediaMTX's auth hook answers only on the 127.0.0.1 internal
 *   listener; the public port never answers it (no password oracle), in any spelling.
 * - Lockouts: each limiter (Basic, editor login, WebSocket token) counts the
 *   client the proxy names, so one guesser does not lock everyone out, and the
 *   guesser itself is refused.
 * - Malformed requests: 400/413/415 with a JSON reason, never a 500.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import WebSocket from 'ws';
import { adminLogin, API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess } from '../support/cli';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const dir = tempDir('picam-http-hardening-');
const TOKEN = 'hardening-test-token-0123456789abcdef';
const PI_PASSWORD = 'pi-stream-secret';
let runtime: CliProcess;
let base = '';
let internal = '';
let wsBase = '';
let gateway = '';

/** As nginx's `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for` passes on a client at `client`. */
const via = (client: string, headers: Record<string, string> = {}) => ({ 'x-forwarded-for': client, ...headers });
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const authAsk = (password: string) =>
  JSON.stringify({
    user: 'picam-1',
    password,
    token: '',
    ip: '203.0.113.9',
    action: 'publish',
    path: 'picam-1',
    protocol: 'rtsp',
    id: '',
    query: '',
  });

before(async () => {
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort(), gateway: await freePort() };
  const internalPort = await freePort();
  runtime = startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(join(dir, 'data'), ports, {
      PICAM_INTERNAL_PORT: String(internalPort),
      PICAM_MEDIAMTX_DEVICES: `picam-1:${bcrypt.hashSync(PI_PASSWORD, 4)}`,
      PICAM_API_TOKENS: `ci:${createHash('sha256').update(TOKEN).digest('hex')}`,
    }),
  );
  base = `http://127.0.0.1:${ports.http}`;
  wsBase = `ws://127.0.0.1:${ports.http}`;
  internal = `http://127.0.0.1:${internalPort}`;
  gateway = `http://127.0.0.1:${ports.gateway}`;
  // With the API token: the Basic login must not be verified (and remembered) before the lockout test.
  const byToken = { authorization: `Bearer ${TOKEN}` };
  await waitFor(
    'the API',
    async () => ((await fetch(`${base}/api/status`, { headers: byToken }).catch(() => undefined))?.ok ? true : undefined),
    60_000,
  );
});

after(async () => {
  const code = await runtime.stop();
  assert.equal(code, 0, `the runtime stops cleanly; its output:\n${runtime.output()}`);
});

describe('local-only hooks are never answered on the public port', () => {
  const post = (url: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('answers MediaMTX on the internal listener: 200 for the right password, 401 for a wrong one', async () => {
    assert.equal((await post(`${internal}/mediamtx/auth`, authAsk(PI_PASSWORD))).status, 200);
    assert.equal((await post(`${internal}/mediamtx/auth`, authAsk('wrong'))).status, 401);
  });

  it('refuses a relayed request on the internal listener too (a proxy pointed there by mistake)', async () => {
    const relayed: Array<Record<string, string>> = [
      { 'x-forwarded-for': '203.0.113.9' },
      { forwarded: 'for=203.0.113.9' },
      { 'x-real-ip': '203.0.113.9' },
    ];
    for (const header of relayed) {
      assert.equal((await post(`${internal}/mediamtx/auth`, authAsk(PI_PASSWORD), header)).status, 403, JSON.stringify(header));
    }
  });

  it('never answers 200 or 401 to the hook on the public port, whatever the spelling or the proxy headers', async () => {
    const spellings = [
      '/mediamtx/auth',
      '/MEDIAMTX/auth',
      '/mediamtx/AUTH',
      '/mediamtx/auth/',
      '/Mediamtx/Auth/',
      '/mediamtx//auth',
      '//mediamtx/auth',
      '/%6Dediamtx/auth',
      '/mediamtx%2Fauth',
      '/mediamtx/auth?x=1',
    ];
    for (const path of spellings) {
      for (const headers of [{}, via('203.0.113.9')]) {
        for (const password of [PI_PASSWORD, 'wrong']) {
          const res = await post(`${base}${path}`, authAsk(password), headers);
          assert.ok([403, 404].includes(res.status), `${path} answered ${res.status}`);
        }
      }
    }
  });
});

describe('limits count the client the proxy names, not the proxy', () => {
  it('Basic login: a guesser is refused; another client behind the same proxy still logs in', async () => {
    const guesser = '198.51.100.10';
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${base}/api/cameras`, {
        headers: via(guesser, { authorization: basic(LOGINS.api.username, `guess-${i}`) }),
      });
      statuses.push(res.status);
    }
    assert.ok(
      statuses.slice(0, 5).every((s) => s === 401),
      `${statuses}`,
    );
    assert.equal(statuses.at(-1), 429, 'the guesser is blocked');
    const other = await fetch(`${base}/api/cameras`, { headers: via('198.51.100.11', { authorization: API_AUTH }) });
    assert.equal(other.status, 200, 'a different client behind the same proxy is not locked out');
  });

  it('Basic login: a forged X-Forwarded-For entry to the left of the real client does not get a guesser a fresh count', async () => {
    const guesser = '198.51.100.20';
    let last = 0;
    for (let i = 0; i < 8; i++) {
      // What nginx sends when the client itself wrote "X-Forwarded-For: 10.9.9.<i>": the real client is appended.
      const res = await fetch(`${base}/api/cameras`, {
        headers: via(`10.9.9.${i}, ${guesser}`, { authorization: basic(LOGINS.api.username, `guess-${i}`) }),
      });
      last = res.status;
    }
    assert.equal(last, 429);
  });

  it('editor login: guessers get 429 with Retry-After; the admin, from elsewhere, still logs in', async () => {
    const guess = (client: string, password: string) =>
      fetch(`${base}/admin/auth/token`, {
        method: 'POST',
        headers: via(client),
        body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await guess('198.51.100.30', `guess-${i}`)).status);
    assert.ok(
      statuses.slice(0, 5).every((s) => s !== 200 && s !== 429),
      `${statuses}`,
    );
    const blocked = await guess('198.51.100.30', LOGINS.admin.password);
    assert.equal(blocked.status, 429, 'blocked before the password is even checked');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    // A second guesser: together more wrong passwords for "admin" than Node-RED's own per-user count allows.
    for (let i = 0; i < 5; i++) assert.equal((await guess('198.51.100.32', `guess-${i}`)).status, 403);
    const other = await fetch(`${base}/admin/auth/token`, {
      method: 'POST',
      headers: via('198.51.100.31'),
      body: new URLSearchParams({
        client_id: 'node-red-admin',
        grant_type: 'password',
        scope: '*',
        username: LOGINS.admin.username,
        password: LOGINS.admin.password,
      }),
    });
    assert.equal(other.status, 200, 'guessers elsewhere do not lock the admin out');
    assert.equal((await adminLogin(`${base}/admin`)).status, 200, 'the proxy itself (no header) is not blocked either');
  });

  it('VBC01 gateway: behind the port-80 proxy, one camera failing does not block the others', async () => {
    await waitFor('the gateway', async () => ((await fetch(`${gateway}/hivecam/nobody`).catch(() => undefined)) ? true : undefined));
    const ask = (client: string) =>
      fetch(`${gateway}/hivecam/cert/0123456789ABCDEF0123456789ABCDEF`, { headers: via(client) }).then((r) => r.status);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(await ask('198.51.100.60'));
    assert.equal(statuses.at(-1), 429, `the failing camera is blocked: ${statuses}`);
    assert.equal(await ask('198.51.100.61'), 403, 'another camera behind the same proxy is answered, not blocked');
  });

  it('live feed WebSocket: wrong tokens count; a blocked client is refused; others get in', async () => {
    const open = (client: string, token: string) =>
      new Promise<number>((ok) => {
        const ws = new WebSocket(`${wsBase}/api/ws`, { headers: via(client, { authorization: `Bearer ${token}` }) });
        ws.on('open', () => {
          ws.close();
          ok(101);
        });
        ws.on('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
        ws.on('error', () => ok(0));
      });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await open('198.51.100.40', `wrong-token-${i}`));
    assert.ok(
      statuses.slice(0, 5).every((s) => s === 401),
      `${statuses}`,
    );
    assert.equal(await open('198.51.100.40', TOKEN), 429, 'blocked, even with the right token now');
    assert.equal(await open('198.51.100.41', TOKEN), 101, 'another client gets its feed');
  });
});

describe('malformed requests get a 4xx with a reason, never a 500', () => {
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { authorization: API_AUTH, ...init.headers } });
  const expect = async (res: Response, status: number, reason: RegExp) => {
    const text = await res.text();
    assert.equal(res.status, status, text);
    assert.match((JSON.parse(text) as { error: string }).error, reason);
  };

  it('a query parameter that is an object or a list', async () => {
    await expect(await api('/api/events?limit[toString]=1'), 400, /"limit" must be a single value/);
    await expect(await api('/api/events?limit=1&limit=2'), 400, /"limit" must be a single value, not a list/);
    await expect(await api('/api/events?from[a]=1'), 400, /"from"/);
    await expect(await api('/api/events?camera[]=x'), 400, /"camera"/);
    await expect(await api('/api/alerts?state[x]=sent'), 400, /"state"/);
    await expect(await api('/api/streams?path[]=a'), 400, /"path"/);
    await expect(await api('/api/dead-letters?offset[valueOf]=1'), 400, /"offset"/);
  });

  it('a broken JSON body', async () => {
    const res = await api('/api/control/settings/front-door', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"motionSensitivity": ',
    });
    await expect(res, 400, /not valid JSON/);
  });

  it('bad percent-encoding in the path', async () => {
    await expect(await api('/api/sensors/%E0%A4%A'), 400, /percent-encoding/);
  });

  it('a body over the limit, JSON or not', async () => {
    const big = 'x'.repeat(6 * 1024 * 1024);
    const json = await api('/api/control/settings/front-door', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: big }),
    });
    await expect(json, 413, /larger than the limit/);
    const text = await api('/api/control/settings/front-door', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big });
    await expect(text, 413, /larger than the limit/);
  });

  it('an unparseable content type or an unknown charset', async () => {
    const garbled = await api('/api/control/settings/front-door', { method: 'POST', headers: { 'content-type': ';;;' }, body: '{}' });
    assert.ok(garbled.status < 500, `garbled content type answered ${garbled.status}`);
    const charset = await api('/api/control/settings/front-door', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=klingon' },
      body: '{}',
    });
    await expect(charset, 415, /charset/);
  });

  it('the dashboard login and the editor with a broken body', async () => {
    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":',
    });
    await expect(login, 400, /not valid JSON/);
    const editor = await fetch(`${base}/admin/auth/token`, {
      method: 'POST',
      headers: via('198.51.100.50', { 'content-type': 'application/json' }),
      body: '{"username":',
    });
    await expect(editor, 400, /not valid JSON/);
  });

  it('a body of any type over the limit, a video to a route that takes none, and a multipart body of no length', async () => {
    // A video body was read whole by any route (only the clip route streams one), and its audit walked every byte:
    // 150 MB ended the process. Here 8 MB: over the limit all the same.
    const video = await api('/api/control/mode/front-door/ARMED', {
      method: 'POST',
      headers: { 'content-type': 'video/mp4' },
      body: new Uint8Array(8 * 1024 * 1024),
    });
    await expect(video, 413, /larger than the limit/);
    const chunked = await api('/api/control/mode/front-door/ARMED', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('--x\r\n'));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    await expect(chunked, 411, /multipart body needs a Content-Length/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the runtime still answers');
  });

  it('a time that is not one (Date.parse read "hello 5" as May 2001)', async () => {
    for (const q of [
      '/api/events?from=hello%205',
      '/api/events?to=camera%2012',
      '/api/events?from=-1',
      '/api/streams?path=x&from=foo%201',
    ]) {
      await expect(await api(q), 400, /must be Unix seconds, milliseconds or an ISO 8601 time/);
    }
    assert.equal((await api('/api/events?from=2026-01-01T00:00:00Z&to=2026-01-02')).status, 200, 'ISO 8601 times and dates are read');
  });

  it('more query parameters than are read (a filter past the 1000th was dropped in silence)', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => `a${i}=1`).join('&');
    await expect(await api(`/api/events?${many}&camera=front-door`), 400, /more than 1000 parameters/);
    assert.equal((await api(`/api/events?${Array.from({ length: 999 }, (_, i) => `a${i}=1`).join('&')}&limit=5`)).status, 200);
  });

  it('numbers written otherwise than in digits', async () => {
    await expect(await api('/api/audit?limit=1.5'), 400, /whole number from 1 to 1000/);
    await expect(await api('/api/tokens/1e0', { method: 'DELETE' }), 400, /positive whole number, in digits/);
  });

  it('a route that is none, or a method a route does not take: JSON, not an HTML page', async () => {
    for (const [method, path] of [
      ['GET', '/api/no-such-thing'],
      ['PROPFIND', '/api/events'],
      ['POST', '/api/events'],
    ]) {
      const res = await api(path!, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.match(((await res.json()) as { error: string }).error, new RegExp(`no route ${method} ${path}`));
    }
  });

  it('/healthz and /metrics with odd query strings', async () => {
    assert.ok((await fetch(`${base}/healthz?x[y]=1&x=2`)).status < 500);
    assert.ok((await api('/metrics?x[y]=1&x=2')).status < 500);
  });
});

describe('one spelling per route: another letter case reaches no handler past the checks', () => {
  it("refuses a viewer limited to one camera another camera's recordings and an operator's snapshot, in any case", async () => {
    const made = await fetch(`${base}/api/tokens`, {
      method: 'POST',
      headers: { authorization: API_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'wall', role: 'viewer', cameras: ['picam-1'] }),
    });
    assert.equal(made.status, 201, await made.clone().text());
    const { token } = (await made.json()) as { token: string };
    const asWall = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    for (const [asSpelled, otherCase, refused] of [
      ['/api/recordings/cam9/video', '/api/recordings/cam9/VIDEO', 403],
      ['/api/recordings/cam9/clips/ev1', '/api/Recordings/cam9/CLIPS/ev1', 403],
      ['/api/ipcams/cam9/snapshot', '/api/ipcams/cam9/Snapshot', 403],
      ['/api/ipcams/cam9/mjpeg', '/api/IPCAMS/cam9/mjpeg', 403],
    ] as const) {
      assert.equal((await asWall(asSpelled)).status, refused, asSpelled);
      const other = await asWall(otherCase);
      assert.equal(other.status, 404, otherCase);
      assert.match(((await other.json()) as { error: string }).error, /routes have one spelling/, otherCase);
    }
  });
});
