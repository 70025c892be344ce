/**
 * Every route of the /api table (nodes/lib/contract/api-routes.ts) against a real cloud runtime,
 * fed what an attacker or a broken client sends: hostile path values, malformed and repeated
 * query parameters, bodies that are not what the route reads. DESIGN.md's rule for bad input:
 * a clear 4xx, never a 500, never a crash. One sweep over the table, so a route added later is
 * swept too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { API_PATHS, API_ROUTES, LIVE_FEED_PATH, type ApiRoute } from '../../../../nodes/lib/contract/api-routes';
import { settingsFor } from '../../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../../cli/runtime/runtime';
import { cloudRoleEnv, LOGINS } from '../../../support/cli';
import { freePort } from '../../../support/ports';
import { tempDir } from '../../../support/tmp';

/** Values for a `:name` path segment, already as they go on the wire (some percent-encoded). */
const HOSTILE_SEGMENTS = [
  'x'.repeat(3000),
  '%00',
  '..%2F..%2Fetc%2Fpasswd',
  '%E2%82',
  '%F0%9F%98%80',
  '__proto__',
  'constructor',
  '-1',
  '1e309',
  '%20',
  "'%20OR%201%3D1--",
];

/** Query strings: bad numbers, lists and objects where one value is read, broken encodings. */
const HOSTILE_QUERIES = [
  'limit=-1&offset=abc&start=1e400&end=x&before=%ZZ',
  'limit=1e309&cursor=%00%01&camera[]=a&camera[]=b',
  'camera[x]=1&type[y]=2&from=9999999999999999999999&to=-0',
  `label=${'y'.repeat(5000)}&zone=%E2%82&endpoint=%00`,
];

/** Bodies with their content types: not JSON, the wrong JSON, too deep, a prototype key. */
const HOSTILE_BODIES: Array<[string, string]> = [
  ['application/json', '{'],
  ['application/json', 'null'],
  ['application/json', '[]'],
  ['application/json', '"text"'],
  ['application/json', '{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}'],
  ['application/json', `${'['.repeat(5000)}${']'.repeat(5000)}`],
  ['application/json', JSON.stringify({ id: 1, mode: [], url: {}, seconds: 'x', zones: 'x', host: 12, name: null })],
  ['text/plain', 'hello'],
  ['application/sdp', 'v=1\r\nm=audio 0'],
  ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data\r\n\r\n'],
  ['application/octet-stream', '\u0000\u0001\u0002'],
];

const fill = (r: ApiRoute, value: string) => r.path.replace(/:(\w+)/g, value);

describe('every /api route fed hostile input', () => {
  let runtime: RunningRuntime;
  /** a dashboard session (cookie and CSRF token): what every kind of route takes, but a stream token's */
  const session: Record<string, string> = {};
  const answers: string[] = [];

  before(async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    runtime = await startRuntime(settingsFor(cloudRoleEnv(tempDir('api-hostile-'), ports, { PICAM_ROLE: 'cloud' })));
    const login = await fetch(`${runtime.url}${API_PATHS.login}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: LOGINS.api.username, password: LOGINS.api.password, remember: false }),
    });
    assert.equal(login.status, 200);
    session.cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    session['x-csrf-token'] = ((await login.json()) as { csrfToken: string }).csrfToken;
  });
  after(() => runtime?.stop());

  /** The login `route` takes (a stream token where it insists on one); logging out is swept without one, or the session would end. */
  const loginFor = async (route: ApiRoute): Promise<Record<string, string>> => {
    if (route.path === API_PATHS.logout) return {};
    if (route.auth !== 'stream-token') return session;
    const res = await fetch(`${runtime.url}${API_PATHS.streamToken}`, { headers: session });
    return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` };
  };

  const send = async (login: Record<string, string>, method: string, path: string, body?: [string, string]) => {
    const res = await fetch(`${runtime.url}${path}`, {
      method,
      headers: { ...login, ...(body ? { 'Content-Type': body[0] } : {}) },
      body: body?.[1],
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    answers.push(`${res.status} ${method} ${path.slice(0, 80)}`);
    return { status: res.status, text };
  };

  for (const route of API_ROUTES.filter((r) => r.path !== LIVE_FEED_PATH)) {
    it(`${route.method} ${route.path}: a 4xx with a reason, never a 5xx`, async () => {
      const failures: string[] = [];
      const login = await loginFor(route);
      const check = async (method: string, path: string, body?: [string, string]) => {
        const { status, text } = await send(login, method, path, body);
        if (status >= 500)
          failures.push(`${status} for ${method} ${path.slice(0, 100)} ${body ? body[1].slice(0, 40) : ''}: ${text.slice(0, 200)}`);
      };
      // All of a route's requests at once: an attacker does not wait for answers either.
      const segments = route.path.includes(':') ? HOSTILE_SEGMENTS : ['x'];
      const plain = fill(route, 'cam-1');
      await Promise.all([
        ...segments.map((segment) => check(route.method, fill(route, segment))),
        ...HOSTILE_QUERIES.map((query) => check(route.method, `${plain}?${query}`)),
        ...(route.method !== 'GET' ? HOSTILE_BODIES.map((body) => check(route.method, plain, body)) : []),
      ]);
      assert.deepEqual(failures, []);
    });
  }

  it('is still up and answering after all of it', async () => {
    const res = await fetch(`${runtime.url}${API_PATHS.status}`, { headers: session });
    assert.equal(res.status, 200, answers.slice(-5).join('\n'));
  });
});
