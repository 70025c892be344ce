import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import express, { type Request, type Response } from 'express';
import { decide, mediamtxAuthHandler, parseAuthConfig, type AuthConfig, type AuthRequest } from '../../../cli/runtime/mediamtx-auth';

// Cost 4 keeps the tests fast; the code reads the cost from the hashes.
const hash = (password: string) => bcrypt.hashSync(password, 4);
const ENV = {
  PICAM_MEDIAMTX_DEVICES: ` picam-1:${hash('pi1')}, picam-2:${hash('pi2')} `,
  PICAM_MEDIAMTX_VIEWERS: `alice:${hash('alice-pw')}`,
  PICAM_MEDIAMTX_MONITOR: `monitor:${hash('mon-pw')}`,
};
const config: AuthConfig = parseAuthConfig(ENV);

const ask = (fields: Partial<AuthRequest>): AuthRequest => ({
  user: '',
  password: '',
  token: '',
  ip: '203.0.113.7',
  action: 'read',
  path: 'picam-1',
  protocol: 'rtsp',
  id: '',
  query: '',
  ...fields,
});
const device = { user: 'picam-1', password: 'pi1' };
const viewer = { user: 'alice', password: 'alice-pw' };
const monitor = { user: 'monitor', password: 'mon-pw' };

describe('mediamtx auth: parseAuthConfig', () => {
  it('reads devices (path = user name), viewers and the monitor', () => {
    assert.deepEqual(
      config.devices.map((d) => [d.user, d.path]),
      [
        ['picam-1', 'picam-1'],
        ['picam-2', 'picam-2'],
      ],
    );
    assert.deepEqual(
      config.viewers.map((v) => v.user),
      ['alice'],
    );
    assert.equal(config.monitor?.user, 'monitor');
  });

  it('allows an empty environment: nobody may do anything', async () => {
    const empty = parseAuthConfig({});
    assert.deepEqual(empty, { devices: [], viewers: [] });
    assert.equal((await decide(empty, ask({ ...viewer }))).allow, false);
  });

  it('names the variable and entry of a malformed one', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ PICAM_MEDIAMTX_DEVICES: 'picam-1' }, /PICAM_MEDIAMTX_DEVICES entry 1: expected USER:BCRYPT_HASH/],
      [
        { PICAM_MEDIAMTX_VIEWERS: `alice:${hash('x')},bob:secret` },
        /PICAM_MEDIAMTX_VIEWERS entry 2 \("bob"\): the password is not a bcrypt hash/,
      ],
      [{ PICAM_MEDIAMTX_DEVICES: `cams/1:${hash('x')}` }, /PICAM_MEDIAMTX_DEVICES entry 1: user name "cams\/1" must match/],
      [{ PICAM_MEDIAMTX_VIEWERS: `:${hash('x')}` }, /user name "" must match/],
      [{ PICAM_MEDIAMTX_DEVICES: `pi:${hash('x')}`, PICAM_MEDIAMTX_VIEWERS: `pi:${hash('y')}` }, /user "pi" is listed twice/],
      [{ PICAM_MEDIAMTX_MONITOR: `a:${hash('x')},b:${hash('y')}` }, /PICAM_MEDIAMTX_MONITOR: expected one/],
    ];
    for (const [env, message] of bad) assert.throws(() => parseAuthConfig(env), message);
  });
});

describe('mediamtx auth: decide', () => {
  const cases: Array<[string, Partial<AuthRequest>, boolean]> = [
    ['a device publishes to its own path', { ...device, action: 'publish', path: 'picam-1' }, true],
    ['a device publishes to another path', { ...device, action: 'publish', path: 'picam-2' }, false],
    // The live video of a camera the Pi hosts (nodes/ipcam/live-relay.ts): {pi}.{camera}, its own only.
    ['a device relays a camera it hosts', { ...device, action: 'publish', path: 'picam-1.door' }, true],
    ["a device relays another device's hosted camera", { ...device, action: 'publish', path: 'picam-2.door' }, false],
    ['a device publishes to a deeper path under its name', { ...device, action: 'publish', path: 'picam-1.door.x' }, false],
    ['a device publishes to a path that only starts like its own', { ...device, action: 'publish', path: 'picam-10' }, false],
    ['a dashboard stream token publishes a hosted path', { action: 'publish', path: 'picam-1.door', token: 'abc' }, false],
    ['a viewer reads a hosted path', { ...viewer, action: 'read', path: 'picam-1.door', protocol: 'webrtc' }, true],
    ['a viewer publishes', { ...viewer, action: 'publish', path: 'alice' }, false],
    ['a viewer reads', { ...viewer, action: 'read', path: 'picam-2', protocol: 'webrtc' }, true],
    ['a viewer plays back', { ...viewer, action: 'playback' }, true],
    ['a device reads', { ...device, action: 'read' }, false],
    ['an unknown user reads', { user: 'mallory', password: 'pi1', action: 'read' }, false],
    ['the monitor uses the API', { ...monitor, action: 'api', path: '' }, true],
    ['the monitor reads metrics', { ...monitor, action: 'metrics', path: '' }, true],
    ['the monitor reads a stream', { ...monitor, action: 'read' }, false],
    ['a device uses the API', { ...device, action: 'api', path: '' }, false],
    ['a device reads metrics', { ...device, action: 'metrics', path: '' }, false],
    ['a viewer uses the API', { ...viewer, action: 'api', path: '' }, false],
    ['the monitor uses pprof', { ...monitor, action: 'pprof', path: '' }, false],
    ['a viewer uses pprof', { ...viewer, action: 'pprof', path: '' }, false],
    ['an unknown action', { ...viewer, action: 'delete' }, false],
    ['a wrong password', { user: 'picam-1', password: 'pi2', action: 'publish', path: 'picam-1' }, false],
    ['an empty user', { action: 'read' }, false],
    ['an empty user with a token', { action: 'read', token: 'abc' }, false],
  ];
  for (const [name, fields, allow] of cases)
    it(`${allow ? 'allows' : 'refuses'} ${name}`, async () => {
      const decision = await decide(config, ask(fields));
      assert.equal(decision.allow, allow, decision.reason);
      assert.ok(decision.reason.length > 0);
    });

  it('gives the reason for a refusal', async () => {
    assert.equal((await decide(config, ask({ user: 'picam-1', password: 'nope' }))).reason, 'wrong password');
    assert.equal((await decide(config, ask({ user: 'nobody', password: 'x' }))).reason, 'unknown user');
    assert.equal((await decide(config, ask({}))).reason, 'no credentials');
  });
});

describe('mediamtx auth: express handler', () => {
  const warnings: string[] = [];
  const log = { warn: (m: string) => warnings.push(m), debug: () => {} };
  let server: Server;
  let base: string;

  before(async () => {
    const app = express();
    app.post('/mediamtx/auth', mediamtxAuthHandler(config, log));
    app.post('/parsed/auth', express.json(), mediamtxAuthHandler(config, log));
    server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((ok) => server.close(() => ok())));

  const post = async (body: string, route = '/mediamtx/auth') => {
    const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers 200 {"status":"ok"} to allow', async () => {
    for (const route of ['/mediamtx/auth', '/parsed/auth'])
      assert.deepEqual(await post(JSON.stringify(ask({ ...device, action: 'publish' })), route), { status: 200, body: { status: 'ok' } });
  });

  it('answers 401 without saying why, and logs the refusal without the password', async () => {
    warnings.length = 0;
    const res = await post(JSON.stringify(ask({ user: 'picam-1', password: 'guess-123', action: 'publish', path: 'picam-2' })));
    assert.deepEqual(res, { status: 401, body: { status: 'error', error: 'authentication error' } });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /refused action=publish path=picam-2 user=picam-1 .*wrong password/);
    assert.doesNotMatch(warnings[0]!, /guess-123/);
  });

  it('answers 401 to the first, credential-less try without a warning', async () => {
    warnings.length = 0;
    assert.equal((await post(JSON.stringify(ask({})))).status, 401);
    assert.deepEqual(warnings, []);
  });

  it('answers 400 to a malformed body', async () => {
    for (const body of [
      '{not json',
      '[]',
      '"read"',
      JSON.stringify({ user: 'alice', password: 1, action: 'read' }),
      JSON.stringify({ user: 'alice' }),
    ]) {
      const res = await post(body);
      assert.equal(res.status, 400, body);
      assert.equal(res.body.status, 'error');
    }
    assert.equal((await post('x'.repeat(20_000))).status, 400);
  });

  it('answers 403 to a caller that is not on loopback, unless told otherwise', async () => {
    const call = (loopbackOnly: boolean | undefined) =>
      new Promise<number>((ok) => {
        const req = { socket: { remoteAddress: '198.51.100.4' }, body: ask({ ...viewer }) } as unknown as Request;
        const res = {
          statusCode: 0,
          headersSent: false,
          status: (s: number) => ((res.statusCode = s), res),
          json: () => ok(res.statusCode),
        };
        mediamtxAuthHandler(config, log, { loopbackOnly })(req, res as unknown as Response);
      });
    assert.equal(await call(undefined), 403);
    assert.equal(await call(false), 200);
  });
});
