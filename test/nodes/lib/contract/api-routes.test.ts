/**
 * The route table (nodes/lib/contract/api-routes.ts) against a real cloud runtime: every /api
 * route the runtime really serves is in the table, with its method, and every route in the
 * table is really served (issue 14: one place answers "who serves /api/X"); and none answers
 * hostile input with a 5xx (issue 13: bad input gets a clear error, never a 500).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  API_PATHS,
  API_ROUTES,
  apiUrl,
  isApiRole,
  LIVE_FEED_PATH,
  matchRoute,
  type ApiRoute,
} from '../../../../nodes/lib/contract/api-routes';
import { settingsFor } from '../../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../../cli/runtime/runtime';
import { API_AUTH, cloudRoleEnv } from '../../../support/cli';
import { freePort } from '../../../support/ports';
import { tempDir } from '../../../support/tmp';
import { waitFor } from '../../../support/wait';

const ROOT = join(__dirname, '..', '..', '..', '..');

/** The parts of Express 4's router that say what is mounted where (no public API lists routes). */
interface Layer {
  regexp: RegExp;
  route?: { path: string | RegExp; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}
type Routable = { _router?: { stack: Layer[] } };

/** The route layer that would answer `method url` in `stack`, looking into mounted routers. */
function routeFor(stack: Layer[], method: string, url: string): Layer | undefined {
  for (const layer of stack) {
    if (layer.route) {
      if (layer.route.methods[method.toLowerCase()] && layer.regexp.test(url)) return layer;
    } else if (layer.handle.stack) {
      const m = layer.regexp.exec(url);
      if (!m) continue;
      const found = routeFor(layer.handle.stack, method, url.slice(m[0].length) || '/');
      if (found) return found;
    }
  }
  return undefined;
}

/** Every route layer in `stack` and the routers mounted in it, with the URL prefix it sits under. */
function allRoutes(stack: Layer[], prefix = ''): Array<{ layer: Layer; path: string; methods: string[] }> {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const path = typeof layer.route.path === 'string' ? prefix + layer.route.path : `${prefix}${String(layer.route.path)}`;
      return [{ layer, path, methods: Object.keys(layer.route.methods).map((m) => m.toUpperCase()) }];
    }
    if (!layer.handle.stack) return [];
    // A literal mount path, as express writes it: ^\/api\/media\/?(?=\/|$)
    const mount = layer.regexp.source
      .replace(/^\^/, '')
      .replace(/\\\/\?\(\?=\\\/\|\$\)$/, '')
      .replace(/\\\//g, '/');
    return allRoutes(layer.handle.stack, prefix + mount);
  });
}

/** Express makes an app's router on its first route: none yet is an empty stack. */
const stackOf = (app: Routable): Layer[] => app._router?.stack ?? [];

/** A URL the route answers: each `:name` filled in. */
const sampleUrl = (r: ApiRoute) => r.path.replace(/:(\w+)/g, (_m, name: string) => `${name}-1`);

describe('the /api route table', () => {
  let runtime: RunningRuntime;
  let app: Routable;
  let httpNode: Routable;

  before(async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    const env = cloudRoleEnv(tempDir('api-routes-'), ports, { PICAM_ROLE: 'cloud' });
    runtime = await startRuntime(settingsFor(env));
    app = (runtime.server as Server).listeners('request')[0] as unknown as Routable;
    httpNode = ((await import('node-red')).default as unknown as { httpNode: Routable }).httpNode;
    // The camera gateway mounts its media routes once its database is open.
    await waitFor('the gateway media routes', async () => routeFor(stackOf(httpNode), 'GET', '/api/media/usage'));
  });
  after(() => runtime?.stop());

  const served = (method: string, url: string) => routeFor(stackOf(app), method, url) ?? routeFor(stackOf(httpNode), method, url);

  it('lists every /api route the cloud runtime serves, with its method', () => {
    const table = API_ROUTES.filter((r) => r.path !== LIVE_FEED_PATH);
    const answeredByTable = new Set(table.map((r) => served(r.method, sampleUrl(r))));
    const registered = [...allRoutes(stackOf(app)), ...allRoutes(stackOf(httpNode))].filter((r) => r.path.startsWith('/api'));
    assert.ok(registered.length >= 20, `the walk finds the routes (found ${registered.length})`);
    const missing = registered.filter((r) => !answeredByTable.has(r.layer)).map((r) => `${r.methods.join(',')} ${r.path}`);
    assert.deepEqual(missing, [], 'served but not in nodes/lib/contract/api-routes.ts');
  });

  it('serves every route in the table, with the owner the table names', () => {
    const notServed = API_ROUTES.filter((r) => r.path !== LIVE_FEED_PATH && !served(r.method, sampleUrl(r))).map(
      (r) => `${r.method} ${r.path}`,
    );
    assert.deepEqual(notServed, []);
    const flow = JSON.parse(readFileSync(join(ROOT, 'flows', 'cloud.json'), 'utf8')) as Array<{
      type: string;
      method?: string;
      url?: string;
    }>;
    const fromFlow = flow
      .filter((n) => n.type === 'http in' && n.url?.startsWith('/api'))
      .map((n) => `${n.method!.toUpperCase()} ${n.url}`)
      .sort();
    const flowOwned = API_ROUTES.filter((r) => r.owner === 'cloud-flow')
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    assert.deepEqual(flowOwned, fromFlow, "the cloud flow's http in nodes are the routes the table gives to cloud-flow");
  });

  it('answers the live feed path with a WebSocket upgrade, and only there', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${runtime.url}${LIVE_FEED_PATH}`, {
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version': '13',
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('upgrade', () => resolve(101));
      req.on('error', reject);
      req.end();
    });
    // No session: the upgrade handler (dashboard/server) refuses before any Express route sees it.
    assert.equal(status, 401);
    assert.equal(served('GET', LIVE_FEED_PATH), undefined, 'no Express route shadows the feed');
  });

  // Last: these requests change what they may (users, cameras, settings).
  it('answers hostile path values, query strings and bodies on every route without a 5xx', async () => {
    const values = ['%00', '..%2F..%2Fetc%2Fpasswd', 'a'.repeat(2000), '%E0%A4%A', '__proto__'];
    const queries = ['limit=-1&offset=1e400', 'limit[a]=1', 'from=hello&to=-5', 'cursor=%00zz', 'camera=a&camera=b', 'x[__proto__][y]=1'];
    const json = (body: unknown) => ['application/json', JSON.stringify(body)] as const;
    const bodies: ReadonlyArray<readonly [string, string]> = [
      ['application/json', 'null'],
      ['application/json', '[1]'],
      ['application/json', '{"__proto__":{"admin":true}}'],
      json({ name: 123, url: {}, password: [], role: null, cameras: 'x', mode: 5, zones: 'z', days: -1, enabled: 'yes' }),
      ['application/json', `${'['.repeat(3000)}${']'.repeat(3000)}`],
      ['text/plain', 'hello'],
    ];
    const requests: Array<{ method: string; url: string; body?: readonly [string, string] }> = [];
    for (const r of API_ROUTES.filter((r) => r.path !== LIVE_FEED_PATH && r.path !== API_PATHS.logout)) {
      for (const v of values) requests.push({ method: r.method, url: r.path.replace(/:\w+/g, v) });
      for (const q of queries) requests.push({ method: r.method, url: `${sampleUrl(r)}?${q}` });
      if (r.method !== 'GET') for (const body of bodies) requests.push({ method: r.method, url: sampleUrl(r), body });
    }
    const failed: string[] = [];
    const send = async ({ method, url, body }: (typeof requests)[number]) => {
      const res = await fetch(`${runtime.url}${url}`, {
        method,
        headers: { authorization: API_AUTH, ...(body && { 'content-type': body[0] }) },
        body: body?.[1],
      });
      const text = await res.text();
      if (res.status >= 500)
        failed.push(`${res.status} ${method} ${url.slice(0, 120)} ${body?.[1].slice(0, 40) ?? ''}: ${text.slice(0, 160)}`);
    };
    // A few at a time, as a client would send them.
    for (let i = 0; i < requests.length; i += 8) await Promise.all(requests.slice(i, i + 8).map(send));
    assert.ok(requests.length > 500, `${requests.length} requests`);
    assert.deepEqual(failed, []);
    assert.equal((await fetch(`${runtime.url}/healthz`)).status, 200, 'the runtime is fine afterwards');
  });
});

describe('the paths the code takes from the table', () => {
  it('are each a route of the table (a name for a path nobody serves would send requests nowhere)', () => {
    const routed = new Set(API_ROUTES.map((r) => r.path));
    assert.deepEqual(
      Object.entries(API_PATHS).filter(([, path]) => !routed.has(path)),
      [],
    );
  });

  it('fill each :name with its value, encoded, and refuse a missing one instead of requesting a literal :id', () => {
    assert.equal(apiUrl(API_PATHS.controlMode, { id: 'cam 1/a', mode: 'armed' }), '/api/control/mode/cam%201%2Fa/armed');
    assert.equal(apiUrl(API_PATHS.mediaPlaylist, { eventId: 'e#7' }), '/api/media/playlist/e%237.m3u8');
    assert.equal(apiUrl(API_PATHS.cameras), '/api/cameras');
    assert.throws(() => apiUrl(API_PATHS.controlSound, { id: 'cam-1' }), /control\/sound\/:id\/:sound: no value for :sound/);
  });
});

describe('the roles in the table (issue 23)', () => {
  it('give every route a role, the camera parameter of a per-camera route is in its path, and admin routes are the admin pages’', () => {
    for (const r of API_ROUTES) {
      assert.ok(isApiRole(r.role), `${r.method} ${r.path} has a role`);
      if (r.camera) assert.ok(r.path.includes(`:${r.camera}`), `${r.method} ${r.path}: :${r.camera} is in the path`);
      if (r.auth === 'public') assert.equal(r.role, 'viewer', `${r.method} ${r.path}: public, so nobody's role`);
    }
    const admin = (path: string, method = 'POST') => API_ROUTES.find((r) => r.path === path && r.method === method)?.role;
    assert.equal(admin(API_PATHS.gatewayCommand), 'admin', 'enrolment');
    assert.equal(admin(API_PATHS.ipcams), 'admin', 'adding a camera');
    assert.equal(admin(API_PATHS.ipcam, 'DELETE'), 'admin', 'removing a camera');
    assert.equal(admin(API_PATHS.controlZones), 'admin');
    assert.equal(admin(API_PATHS.controlMode), 'operator');
    assert.equal(admin(API_PATHS.controlReboot), 'operator');
    assert.equal(admin(API_PATHS.audit, 'GET'), 'admin');
    assert.equal(admin(API_PATHS.deadLetters, 'GET'), 'admin');
    assert.equal(admin(API_PATHS.cameras, 'GET'), 'viewer');
  });

  it('match a request to its route and its decoded parameters, as the guard does', () => {
    const m = matchRoute('POST', '/api/control/mode/cam%201/ARMED');
    assert.equal(m?.route.path, API_PATHS.controlMode);
    assert.deepEqual(m?.params, { id: 'cam 1', mode: 'ARMED' });
    assert.equal(matchRoute('DELETE', '/api/ipcams/porch')?.route.role, 'admin');
    assert.equal(matchRoute('GET', '/api/ipcams/porch'), undefined, 'no GET of one IP camera');
    assert.equal(matchRoute('POST', '/api/users/vera')?.route.path, API_PATHS.user);
    assert.equal(matchRoute('GET', '/api/nothing'), undefined);
    assert.equal(matchRoute('POST', '/api/ipcams')?.route.path, API_PATHS.ipcams, 'the router answers without the slash too');
    assert.equal(matchRoute('GET', '/api/ipcams')?.route.lists, 'id');
  });
});
