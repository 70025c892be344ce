/**
 * rpicam-rtsp in a real Node-RED runtime, with real ffmpeg on both ends: the
 * test pattern streamed to an ffmpeg RTSP receiver, the camera modes, motion
 * events with their thumbnail, snapshots, and a redeploy
 * that leaves no process behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import cameraNode from '../../../nodes/rpicam-rtsp/rpicam-rtsp';
import { RtspReceiver } from '../../support/rtsp-receiver';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, sleep, spy, text, until, useNodeRed } from '../../support/node-helper';
import { freePort } from '../../support/ports';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';

const skip = skipWithoutFfmpeg;

useNodeRed();

const dir = tempDir('picam-rtsp-node-');
let receiver: RtspReceiver;

before(async () => {
  if (skip) return;
  receiver = new RtspReceiver({ port: await freePort(), path: 'picam-test', dir });
  receiver.start();
  await receiver.waitListening();
});
after(() => receiver?.stop());

async function load(props: Record<string, unknown> = {}) {
  await helper.load(cameraNode, [
    {
      id: 'cam',
      type: 'rpicam-rtsp',
      source: 'testsrc',
      url: receiver.url,
      width: 320,
      height: 240,
      framerate: 15,
      bitrateKbps: 500,
      keyframeSeconds: 1,
      minMotionSeconds: 0.5,
      quietSeconds: 1,
      stallSeconds: 10,
      previewPath: '/test/preview',
      ...props,
      wires: [['status'], ['events'], ['snaps']],
    },
    { id: 'status', type: 'helper' },
    { id: 'events', type: 'helper' },
    { id: 'snaps', type: 'helper' },
  ]);
  return { status: new Collector('status'), events: new Collector('events'), snaps: new Collector('snaps') };
}

/** The stream's processes: children of this test process, apart from the RTSP receiver. */
function ourProcesses(): string[] {
  const out = spawnSync('ps', ['-eo', 'ppid=,args='], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${process.pid} `) && /ffmpeg|rpicam/.test(l) && !l.includes('-rtsp_flags listen'));
}

const states = (c: Collector) => c.msgs.map((m) => m.payload.state as string);

describe('rpicam-rtsp node', { skip }, () => {
  it('streams the test pattern to the RTSP server and reports it streaming', async () => {
    const { status } = await load({ analysis: false });
    const before = receiver.totalFrames;
    await until('streaming', () => states(status).includes('streaming'), 20_000);
    await until('frames at the receiver', () => receiver.totalFrames > before + 15, 20_000);
    const s = status.msgs.find((m) => m.payload.state === 'streaming')!.payload;
    assert.equal(s.mode, 'ARMED');
    assert.equal(typeof s.restarts, 'number');
  });

  it('raises motion on the moving pattern with a JPEG thumbnail, and answers a snapshot request', async () => {
    const { events, snaps } = await load();
    const start = await until('activity start', () => events.msgs.find((m) => m.topic === 'activity/start'), 30_000);
    assert.match(start.payload.eventId, /^evt_[0-9a-f]{32}$/);
    assert.equal(start.payload.activityType, 'MOTION');
    assert.equal(typeof start.payload.timestamp, 'number');
    const thumb = await until(
      'thumbnail',
      () => events.msgs.find((m) => m.topic === `activity/thumbnail/${start.payload.eventId}`),
      10_000,
    );
    assert.deepEqual([...thumb.payload.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');

    node('cam').receive({ topic: 'snapshot', payload: { requestId: 'req_42' } });
    const snap = await snaps.first(10_000);
    assert.equal(snap.requestId, 'req_42');
    assert.deepEqual([...snap.payload.subarray(0, 2)], [0xff, 0xd8]);
  });

  it('ends a motion event when disarmed, and raises none in LIVESTREAMONLY', async () => {
    const { events } = await load();
    const start = await until('activity start', () => events.msgs.find((m) => m.topic === 'activity/start'), 30_000);
    node('cam').receive({ topic: 'mode', payload: 'LIVESTREAMONLY' });
    const stop = await until('activity stop', () => events.msgs.find((m) => m.topic === 'activity/stop'), 10_000);
    assert.equal(stop.payload.eventId, start.payload.eventId);
    const count = events.msgs.length;
    await sleep(4000);
    assert.equal(events.msgs.length, count, 'no motion events while streaming without alerts');
  });

  it('raises nothing on a still picture, and sends a snapshot every N seconds', async () => {
    const { status, events, snaps } = await load({ pattern: 'static', snapshotSeconds: 1 });
    await until('streaming', () => states(status).includes('streaming'), 20_000);
    await sleep(5000);
    assert.deepEqual(
      events.msgs.map((m) => m.topic),
      [],
    );
    const periodic = await snaps.wait(2, 5000);
    assert.ok(periodic.every((m) => m.requestId === undefined && m.payload[0] === 0xff));
  });

  it('obeys the modes: PRIVACY ends the stream and its processes, ARMED brings it back', async () => {
    const { status } = await load();
    await until('streaming', () => states(status).includes('streaming'), 20_000);
    node('cam').receive({ payload: { mode: 'PRIVACY', requestId: 'r1' } });
    await until('stopped', () => status.msgs.some((m) => m.payload.mode === 'PRIVACY' && m.payload.state === 'stopped'), 10_000);
    await until('no process left', () => ourProcesses().length === 0, 10_000);
    node('cam').receive({ topic: 'mode', payload: 'armed' });
    await until('streaming again', () => status.msgs.filter((m) => m.payload.state === 'streaming').length >= 2, 20_000);
  });

  it('leaves no process behind after a redeploy', async () => {
    const { status } = await load();
    await until('streaming', () => states(status).includes('streaming'), 20_000);
    assert.equal(ourProcesses().length, 3, `source, relay and analyser run: ${ourProcesses().join('; ')}`);
    await helper.unload();
    await until('no process left', () => ourProcesses().length === 0, 10_000);
  });

  it('refuses bad input and bad settings with a clear message', async () => {
    await load({ url: 'http://not-rtsp/x' });
    const errors = spy('cam', 'error');
    node('cam').receive({ topic: 'start' });
    await until('error', () => errors.length > 0, 3000);
    assert.match(text(errors[0]!), /RTSP URL must start with rtsp:\/\//);
    await helper.unload();
    await load({ autoStart: false });
    const errs = spy('cam', 'error');
    node('cam').receive({ topic: 'mode', payload: 'SLEEPING' });
    node('cam').receive({ payload: 42 });
    await until('two errors', () => errs.length === 2, 3000);
    assert.match(text(errs[0]!), /mode must be one of ARMED, LIVESTREAMONLY, PRIVACY/);
    assert.match(text(errs[1]!), /expected "start", "stop"/);
    await sleep(10);
  });
});
