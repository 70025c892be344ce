/**
 * The ipcam node in a real Node-RED runtime against a real RTSP camera
 * (GStreamer's RTSP server, Digest auth): it appears as a device of type
 * ipcam (connection, heartbeat, mode), serves MJPEG from the sub stream,
 * raises motion events with thumbnails on a moving picture and none on a
 * still one, obeys PRIVACY, reports a camera that goes away once and its
 * return once, and leaves no process behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { MjpegClient } from '../../support/mjpeg-client';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { Collector, helper, node, until, useNodeRed } from '../../support/node-helper';
import databaseNode from '../../../nodes/picam-database/picam-database';
import { rows } from '../../support/records';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;

useNodeRed();

/** The helper keeps the runtime's httpNode app off its server: a module that registers no node hands it over. */
let httpNode: RequestListener | undefined;
const exposeHttpNode = (RED: { httpNode: RequestListener }) => void (httpNode = RED.httpNode);
let server: Server | undefined;
async function base(): Promise<string> {
  if (!server) {
    server = createServer((req, res) => httpNode!(req, res));
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  }
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
after(() => server?.close());

/** ffmpeg and ffprobe children of this test process. */
function ourProcesses(): string[] {
  const out = spawnSync('ps', ['-eo', 'ppid=,args='], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${process.pid} `) && /ffmpeg|ffprobe/.test(l));
}

async function load(camera: RtspCamera, props: Record<string, unknown> = {}, password = camera.password) {
  await helper.load(
    [ipcamNode, exposeHttpNode],
    [
      {
        id: 'ipc',
        type: 'ipcam',
        name: 'Porch',
        deviceId: 'porch-1',
        mainUrl: camera.url('main'),
        subUrl: camera.url('sub'),
        heartbeatSeconds: 1,
        minMotionSeconds: 0.5,
        quietSeconds: 1,
        apiPath: '/test/ipcams',
        ...props,
        wires: [['mqtt'], ['snaps'], ['states']],
      },
      { id: 'mqtt', type: 'helper' },
      { id: 'snaps', type: 'helper' },
      { id: 'states', type: 'helper' },
    ],
    { ipc: { user: camera.user, password } },
  );
  return { mqtt: new Collector('mqtt'), snaps: new Collector('snaps'), states: new Collector('states') };
}

const connections = (c: Collector) =>
  c.msgs.filter((m) => m.topic === 'prod/device/connection/ipcam/porch-1').map((m) => m.payload.status as string);
const streamStates = (c: Collector) =>
  c.msgs.filter((m) => m.topic === 'prod/device/status/ipcam/porch-1').map((m) => m.payload.streamState);

describe('ipcam node', { skip }, () => {
  const moving = new RtspCamera({ pattern: 'moving' });
  const clients: MjpegClient[] = [];
  before(() => moving.start());
  after(async () => {
    for (const c of clients) c.close();
    await moving.stop();
  });
  const mjpeg = async (path = '/test/ipcams/porch-1/mjpeg') => {
    const c = new MjpegClient();
    clients.push(c);
    await c.open(`${await base()}${path}`);
    return c;
  };

  it('appears as an ipcam device, serves MJPEG frames and raises motion with a thumbnail', async () => {
    const { mqtt } = await load(moving);
    await until('connected', () => connections(mqtt).includes('connected'), 30_000);
    const hello = mqtt.msgs.find((m) => m.topic === 'prod/device/connection/ipcam/porch-1')!;
    assert.equal(hello.retain, true);
    assert.equal(hello.payload.name, 'Porch');
    await until('a streaming heartbeat', () => streamStates(mqtt).includes('streaming'), 10_000);

    const viewer = await mjpeg();
    assert.equal(viewer.status, 200);
    assert.match(viewer.contentType, /^multipart\/x-mixed-replace; boundary=/);
    await until('three JPEG frames', () => viewer.frames.length >= 3, 20_000);
    assert.ok(viewer.frames.every((f) => f[0] === 0xff && f[1] === 0xd8));

    const start = await until(
      'motion start',
      () => mqtt.msgs.find((m) => m.topic === 'prod/device/message/ipcam/porch-1/activity/start'),
      30_000,
    );
    assert.match(start.payload.eventId, /^evt_[0-9a-f]{32}$/);
    assert.equal(start.payload.activityType, 'MOTION');
    const thumb = await until(
      'thumbnail',
      () => mqtt.msgs.find((m) => m.topic === `prod/device/message/ipcam/porch-1/activity/thumbnail/${start.payload.eventId}`),
      10_000,
    );
    assert.deepEqual([...thumb.payload.subarray(0, 2)], [0xff, 0xd8]);
  });

  it('answers a snapshot request, over the API and on its input', async () => {
    const { mqtt, snaps } = await load(moving);
    await until('connected', () => connections(mqtt).includes('connected'), 30_000);
    const res = await fetch(`${await base()}/test/ipcams/porch-1/snapshot`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    const jpeg = Buffer.from(await res.arrayBuffer());
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    node('ipc').receive({ topic: 'snapshot', payload: { requestId: 'req_7' } });
    const snap = await until('snapshot', () => snaps.msgs.find((m) => m.requestId === 'req_7'), 10_000);
    assert.equal(snap.deviceId, 'porch-1');
  });

  it('PRIVACY stops pulling the camera (no process, no MJPEG), ARMED brings it back', async () => {
    const { mqtt } = await load(moving);
    await until('connected', () => connections(mqtt).includes('connected'), 30_000);
    node('ipc').receive({ topic: 'prod/honeycomb/porch-1/system/setmode', payload: { mode: 'PRIVACY', requestId: 'r1' } });
    await until('no process left', () => ourProcesses().length === 0, 10_000);
    await until('a privacy heartbeat', () => streamStates(mqtt).includes('privacy'), 5000);
    const viewer = await mjpeg();
    assert.equal(viewer.status, 503);
    assert.match(viewer.body, /not streaming \(privacy\)/);
    assert.ok(mqtt.msgs.some((m) => m.topic.endsWith('/camera/state') && m.payload.mode === 'PRIVACY'));
    node('ipc').receive({ topic: 'mode', payload: 'ARMED' });
    await until('streaming again', () => streamStates(mqtt).lastIndexOf('streaming') > streamStates(mqtt).indexOf('privacy'), 30_000);
    const again = await mjpeg();
    assert.equal(again.status, 200);
    await until('frames again', () => again.frames.length >= 2, 20_000);
  });

  it('reports a camera that goes away once, and its return once; frames come back without a redeploy', async () => {
    const { mqtt } = await load(moving, { stallSeconds: 5 });
    await until('connected', () => connections(mqtt).includes('connected'), 30_000);
    await moving.kill();
    await until('disconnected', () => connections(mqtt).includes('disconnected'), 30_000);
    await moving.start();
    await until('connected again', () => connections(mqtt).filter((s) => s === 'connected').length === 2, 60_000);
    assert.deepEqual(connections(mqtt), ['connected', 'disconnected', 'connected'], 'once each way');
    const viewer = await mjpeg();
    await until('frames again', () => viewer.frames.length >= 2, 20_000);
  });

  it('leaves no process behind after a redeploy', async () => {
    const { mqtt } = await load(moving);
    await until('connected', () => connections(mqtt).includes('connected'), 30_000);
    assert.equal(ourProcesses().length, 2, `source and analyser: ${ourProcesses().join('; ')}`);
    await helper.unload();
    await until('no process left', () => ourProcesses().length === 0, 10_000);
  });

  it('says "wrong user or password" on its status and state, and reports the camera offline', async () => {
    const { mqtt, states } = await load(moving, {}, 'wrong-password');
    const bad = await until('offline state', () => states.msgs.find((m) => m.payload.state === 'offline'), 30_000);
    assert.match(bad.payload.error, /^sub stream: wrong user or password for 127\.0\.0\.1:\d+\/sub/);
    assert.ok(!JSON.stringify(states.msgs).includes(moving.password));
    await until('disconnected', () => connections(mqtt).includes('disconnected'), 5000);
    assert.ok(!connections(mqtt).includes('connected'));
  });
});

describe('ipcam node on a still picture', { skip }, () => {
  const still = new RtspCamera({ pattern: 'still' });
  before(() => still.start());
  after(() => still.stop());

  it('raises no motion event over 40 analysed frames', async () => {
    const { mqtt } = await load(still, { jpegFps: 5 });
    await until('connected', () => connections(mqtt).includes('connected'), 30_000);
    const viewer = new MjpegClient();
    await viewer.open(`${await base()}/test/ipcams/porch-1/mjpeg`);
    await until('40 frames', () => viewer.frames.length >= 40, 60_000);
    viewer.close();
    assert.deepEqual(
      mqtt.msgs.filter((m) => m.topic.includes('/activity/')).map((m) => m.topic),
      [],
    );
  });
});

describe('ipcam node with a database that opens late', { skip }, () => {
  const camera = new RtspCamera({ pattern: 'still' });
  before(() => camera.start());
  after(() => camera.stop());

  it('runs its flow camera and obeys its input at once, tries the database again and then stores cameras', async () => {
    // A file stands where the database's folder should be, as when a disk is not mounted yet.
    const folder = join(tempDir(), 'later');
    writeFileSync(folder, 'not a folder');
    helper.settings({ credentialSecret: 'ipcam-test-credential-secret' }); // the stored login is sealed with it
    await helper.load(
      [ipcamNode, databaseNode, exposeHttpNode],
      [
        { id: 'db', type: 'picam-database', file: join(folder, 'ipcams.db'), synchronous: 'NORMAL', retainActivityDays: 0 },
        {
          id: 'ipc',
          type: 'ipcam',
          deviceId: 'porch-1',
          subUrl: camera.url('sub'),
          apiPath: '/test/ipcams',
          database: 'db',
          heartbeatSeconds: 1,
          wires: [['mqtt'], [], []],
        },
        { id: 'st', type: 'status', scope: ['ipc'], wires: [['statuses']] },
        { id: 'cc', type: 'catch', scope: ['ipc'], uncaught: false, wires: [['caught']] },
        ...['mqtt', 'statuses', 'caught'].map((id) => ({ id, type: 'helper' })),
      ],
      { ipc: { user: camera.user, password: camera.password } },
    );
    const mqtt = new Collector('mqtt');
    const statuses = new Collector('statuses');
    const caught = new Collector('caught');
    await until(
      'retrying the database',
      () => statuses.msgs.some((m) => /database unavailable, retrying in \d+ s/.test(m.status?.text)),
      15_000,
    );
    await until('the flow camera connected without its database', () => connections(mqtt).includes('connected'), 30_000);

    // A mode change is obeyed while the database is still away.
    node('ipc').receive({ topic: 'mode', payload: 'PRIVACY' });
    await until('PRIVACY', () => streamStates(mqtt).includes('privacy'), 15_000);
    assert.equal(caught.msgs.length, 0);

    // Adding a camera meanwhile is refused with the reason, not a 500 and not "no database".
    const url = `${await base()}/test/ipcams`;
    const early = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"yard-1"}' });
    assert.equal(early.status, 503);
    assert.match(((await early.json()) as { error: string }).error, /database is not open yet/);

    rmSync(folder); // the disk is mounted: the next attempt opens the database, no redeploy
    const added = await waitFor(
      'a camera stored through the API',
      async () => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 'yard-1', subUrl: camera.url('sub'), username: camera.user, password: camera.password }),
        });
        return res.status === 201 ? res : undefined;
      },
      30_000,
    );
    assert.equal(added.status, 201);
    assert.deepEqual(await rows(join(folder, 'ipcams.db'), 'SELECT id FROM ip_cameras'), [{ id: 'yard-1' }]);
  });
});
