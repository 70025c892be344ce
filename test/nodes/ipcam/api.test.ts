/**
 * Adding IP cameras without editing JSON: the ipcam node's API with a real
 * database file and a real RTSP camera. A camera is tested, refused with the
 * check's one-line reason or added, listed without its password, kept across
 * a redeploy, switched to PRIVACY and removed; bad input gets a 4xx with a reason.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import databaseNode from '../../../nodes/picam-database/picam-database';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { FakeOnvif } from '../../support/fake-onvif';
import { freePort } from '../../support/ports';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';
import { Connection } from '../../../nodes/lib/store/sqlite';
import { Collector, helper, rows, spy, text, until, useNodeRed } from '../../support/node-helper';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;

useNodeRed();

let httpNode: RequestListener | undefined;
const exposeHttpNode = (RED: { httpNode: RequestListener }) => void (httpNode = RED.httpNode);
let server: Server | undefined;
async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  if (!server) {
    server = createServer((req, res) => httpNode!(req, res));
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  }
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ipcams${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: kept as text */
  }
  return { status: res.status, body };
}
const post = (path: string, body: unknown) => api(path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
after(() => server?.close());

const dir = tempDir('picam-ipcam-api-');
const file = join(dir, 'events.db');
const SECRET = 'ipcam-api-credential-secret';

/** `secret`: the runtime's credentialSecret (false: it has none). */
async function load(secret: string | false = SECRET) {
  helper.settings({ userDir: dir, credentialSecret: secret });
  await helper.load(
    [databaseNode, ipcamNode, exposeHttpNode],
    [
      { id: 'db', type: 'picam-database', file, maxBatch: 100, maxDelayMs: 5, synchronous: 'NORMAL' },
      { id: 'ipc', type: 'ipcam', database: 'db', heartbeatSeconds: 1, wires: [['mqtt'], [], []] },
      { id: 'mqtt', type: 'helper' },
    ],
  );
  return new Collector('mqtt');
}

/** Every byte of the database as it is on disk: the file and its write-ahead log. */
const onDisk = () => Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));

const ffmpegs = () =>
  spawnSync('ps', ['-eo', 'ppid=,args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.trim().startsWith(`${process.pid} `) && /ffmpeg/.test(l));

describe('ipcam API', { skip }, () => {
  const camera = new RtspCamera();
  before(() => camera.start());
  after(() => camera.stop());
  const good = () => ({
    id: 'garage',
    name: 'Garage',
    mainUrl: camera.url('main'),
    subUrl: camera.url('sub'),
    username: camera.user,
    password: camera.password,
  });
  const connected = (mqtt: Collector, id: string) =>
    until(
      `${id} connected`,
      () => mqtt.msgs.find((m) => m.topic === `prod/device/connection/ipcam/${id}` && m.payload.status === 'connected'),
      30_000,
    );

  const waitStreaming = (id: string) =>
    waitFor(
      `${id} streaming`,
      async () => (await api('')).body.cameras.find((c: { id: string; state: string }) => c.id === id && c.state === 'streaming'),
      30_000,
    );

  it('tests a camera and shows the check', async () => {
    await load();
    const r = await post('/test', good());
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, true);
    assert.deepEqual(r.body.sub, { codec: 'h264', width: 320, height: 180, fps: 10, bFrames: false });
    const wrong = await post('/test', { ...good(), password: 'nope' });
    assert.equal(wrong.status, 200);
    assert.equal(wrong.body.ok, false);
    assert.match(wrong.body.error, /^sub stream: wrong user or password for 127\.0\.0\.1:\d+\/sub \(the camera answered 401\)$/);
  });

  it('refuses bad input with a reason, and stores nothing', async () => {
    await load();
    const cases: Array<[unknown, number, RegExp]> = [
      ['{"id": "x",', 400, /not valid JSON/],
      [{ id: 'x' }, 400, /subUrl is required/],
      [{ ...good(), id: 'bad id!' }, 400, /id must match/],
      [{ ...good(), subUrl: 'http://cam/sub' }, 400, /must start with rtsp:\/\//],
      [{ ...good(), subUrl: 'rtsp://admin:pw@cam/sub' }, 400, /not in the URL/],
      [{ ...good(), mode: 'SLEEP' }, 400, /mode must be one of/],
      [{ ...good(), transport: 'sctp' }, 400, /transport must be tcp or udp/],
      [{ ...good(), password: 'wrong' }, 422, /^sub stream: wrong user or password/],
      [{ ...good(), subUrl: camera.url('nope') }, 422, /no such stream/],
    ];
    for (const [body, status, reason] of cases) {
      const r = await post('', body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.error, reason);
    }
    assert.deepEqual((await api('')).body.cameras, []);
    assert.equal((await api('/nobody/mjpeg')).status, 404);
    assert.equal((await api('/bad%20id/snapshot')).status, 400);
  });

  it('adds a camera that runs at once, lists it without its password, and keeps it across a redeploy', async () => {
    let mqtt = await load();
    const r = await post('', good());
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.camera.hasPassword, true);
    assert.ok(!JSON.stringify(r.body).includes(camera.password));
    await connected(mqtt, 'garage');
    const list = await api('');
    assert.equal(list.body.cameras.length, 1);
    assert.equal(list.body.cameras[0].id, 'garage');
    assert.equal(list.body.cameras[0].state, 'streaming');
    assert.ok(!JSON.stringify(list.body).includes(camera.password));
    // The login is sealed at rest: neither the database file nor its log holds the password.
    assert.ok(!onDisk().includes(camera.password), 'the password is in the database file in plain text');
    const [stored] = await rows<{ username: string; password: string }>(
      file,
      "SELECT username, password FROM ip_cameras WHERE id = 'garage'",
    );
    assert.match(stored!.password, /^sb1:/);
    assert.match(stored!.username, /^sb1:/);

    await helper.unload();
    mqtt = await load();
    await connected(mqtt, 'garage');

    const mode = await post('/garage/mode', { mode: 'privacy' });
    assert.equal(mode.status, 200);
    await until('no ffmpeg in PRIVACY', () => ffmpegs().length === 0, 10_000);
    await helper.unload();
    mqtt = await load();
    await until(
      'a privacy heartbeat after the redeploy',
      () => mqtt.msgs.find((m) => m.topic === 'prod/device/status/ipcam/garage' && m.payload.streamState === 'privacy'),
      10_000,
    );
    assert.equal((await post('/garage/mode', { mode: 'ON' })).status, 400);
    // Only a string is a mode: a list was taken as one, an object made a 503.
    for (const mode of [['armed'], { toString: 1 }, 1]) {
      const bad = await post('/garage/mode', { mode });
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
      assert.match(bad.body.error, /mode must be a string/);
    }
    for (const [path, body, reason] of [
      ['/onvif', { host: '127.0.0.1', port: '0x50' }, /port must be a number/],
      ['/discover', { seconds: '1e0' }, /seconds must be a number/],
    ] as const) {
      const bad = await post(path, body);
      assert.equal(bad.status, 400, JSON.stringify(bad.body));
      assert.match(bad.body.error, reason);
    }
  });

  it('takes four adds of one id at once as one after another: one camera runs, the one stored, and a delete stops it all', async () => {
    const mqtt = await load();
    const before = ffmpegs().length;
    const adds = await Promise.all([1, 2, 3, 4].map((i) => post('', { ...good(), id: 'twice', name: `take ${i}` })));
    assert.deepEqual(
      adds.map((a) => a.status),
      [201, 201, 201, 201],
    );
    await connected(mqtt, 'twice');
    const running = (await api('')).body.cameras.find((c: { id: string }) => c.id === 'twice');
    const [stored] = await rows<{ name: string }>(file, "SELECT name FROM ip_cameras WHERE id = 'twice'");
    assert.equal(running.name, stored!.name, 'the camera running is the one stored');
    assert.equal((await api('/twice', { method: 'DELETE' })).status, 204);
    // Every camera the adds started is stopped: none runs on with nothing left to stop it.
    await until('no ffmpeg of it left', () => ffmpegs().length === before || undefined, 15_000);
  });

  it('removes a camera: its processes end and it is gone after a redeploy', async () => {
    const mqtt = await load();
    const r = await post('', { ...good(), id: 'shed', mode: 'ARMED' });
    assert.equal(r.status, 201);
    await connected(mqtt, 'shed');
    assert.equal((await api('/shed', { method: 'DELETE' })).status, 204);
    assert.equal((await api('/shed', { method: 'DELETE' })).status, 404);
    await helper.unload();
    await load();
    assert.deepEqual(
      (await api('')).body.cameras.map((c: { id: string }) => c.id),
      ['garage'],
    );
    await helper.unload();
    await until('no ffmpeg left', () => ffmpegs().length === 0, 10_000);
  });

  it("skips a stored camera whose login does not open with the runtime's secret, with a one-line warning naming it", async () => {
    const mqtt = await load('another-secret');
    const warnings = spy('ipc', 'warn');
    const warning = await until('the skip warning', () => warnings.map(text).find((w) => /garage/.test(w)), 15_000);
    assert.match(warning, /^stored IP camera "garage" skipped: .*credential secret is not the one it was stored with/);
    assert.ok(!warning.includes('\n'));
    for (const leak of [camera.password, 'another-secret', SECRET]) assert.ok(!warning.includes(leak));
    assert.deepEqual((await api('')).body.cameras, []);
    assert.ok(!mqtt.msgs.some((m) => m.topic === 'prod/device/connection/ipcam/garage'));
    await helper.unload();
    // With the right secret again, the camera is back (still in PRIVACY): nothing was lost or overwritten.
    await load();
    assert.deepEqual(
      (await api('')).body.cameras.map((c: { id: string; mode: string }) => [c.id, c.mode]),
      [['garage', 'PRIVACY']],
    );
  });

  it('without a credential secret refuses to store a login (503, nothing stored), and reads old plain-text logins and seals them', async () => {
    await load(false);
    const refused = await post('', { ...good(), id: 'porch' });
    assert.equal(refused.status, 503);
    assert.match(refused.body.error, /no credential secret .*set PICAM_CREDENTIAL_SECRET/);
    assert.deepEqual(await rows(file, "SELECT id FROM ip_cameras WHERE id = 'porch'"), []);
    await helper.unload();

    // A row written before logins were sealed: still read, and sealed when loaded.
    const db = await Connection.open(file);
    await db.run("UPDATE ip_cameras SET username = ?, password = ? WHERE id = 'garage'", [camera.user, camera.password]);
    await db.close();
    await load();
    // It streams with the login as it was stored (it was in PRIVACY: streaming proves the login was read).
    assert.equal((await post('/garage/mode', { mode: 'ARMED' })).status, 200);
    await waitStreaming('garage');
    const [stored] = await rows<{ password: string }>(file, "SELECT password FROM ip_cameras WHERE id = 'garage'");
    assert.match(stored!.password, /^sb1:/);
  });

  it('finds the streams of a camera over ONVIF and adds it with them; a wrong host or ONVIF off is a clear 400/422', async () => {
    const onvif = new FakeOnvif({
      username: camera.user,
      password: camera.password,
      profiles: [
        { token: 'p0', name: 'main', width: 640, height: 360, encoding: 'H264', uri: camera.url('main') },
        { token: 'p1', name: 'sub', width: 320, height: 180, encoding: 'H264', uri: camera.url('sub') },
      ],
    });
    await onvif.start();
    try {
      const mqtt = await load();
      const login = { username: camera.user, password: camera.password };
      const found = await post('/onvif', { host: '127.0.0.1', port: onvif.port, ...login });
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.equal(found.body.mainUrl, camera.url('main'));
      assert.equal(found.body.subUrl, camera.url('sub'));
      const added = await post('', { id: 'onvif-cam', mainUrl: found.body.mainUrl, subUrl: found.body.subUrl, ...login });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      await connected(mqtt, 'onvif-cam');
      assert.equal((await api('/onvif-cam', { method: 'DELETE' })).status, 204);

      assert.equal((await post('/onvif', { host: 'bad host/x' })).status, 400);
      assert.equal((await post('/onvif', { host: '127.0.0.1', port: 70000 })).status, 400);
      const off = await post('/onvif', { host: '127.0.0.1', port: await freePort(), ...login });
      assert.equal(off.status, 422);
      assert.match(off.body.error, /is ONVIF enabled on the camera/);
      const wrong = await post('/onvif', { host: '127.0.0.1', port: onvif.port, username: camera.user, password: 'nope' });
      assert.equal(wrong.status, 422);
      assert.match(wrong.body.error, /ONVIF refused the login/);
    } finally {
      await onvif.close();
    }
  });
});
