/**
 * Masks and zones (issue 20) in a real Node-RED runtime with real frames: the Pi camera is the
 * fake rpicam-vid encoding an ffmpeg scene whose motion is known (a white square swinging across
 * the left half of a grey picture), relayed to a real ffmpeg RTSP receiver and analysed by the
 * node's own decoder. Motion under a mask raises nothing; inside a zone, an event naming it;
 * elsewhere, an event with `zones: []`. Zones come from the node property and at run time from
 * the cloud's zones command.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import cameraNode from '../../../nodes/rpicam-rtsp/rpicam-rtsp';
import type { ZonePolygon } from '../../../nodes/lib/contract/zones';
import { buildFakeRpicamVid } from '../../support/fake-rpicam-vid';
import { RtspReceiver } from '../../support/rtsp-receiver';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, spy, text, until, useNodeRed } from '../../support/node-helper';
import { freePort } from '../../support/ports';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';

const skip = skipWithoutFfmpeg;

useNodeRed();

const dir = tempDir('picam-zones-node-');
let receiver: RtspReceiver;
let rpicamPath = '';

/** The square spans x 3–47 % of the picture, y 42–58 %: all of it in the left half. */
const SCENE = "color=c=gray:s={size}:r={rate}[bg];color=c=white:s=40x40:r={rate}[fg];[bg][fg]overlay=x='60+50*sin(2*t)':y=100[out0]";
const LEFT: ZonePolygon['points'] = [
  [0, 0],
  [50, 0],
  [50, 100],
  [0, 100],
];
const RIGHT: ZonePolygon['points'] = [
  [60, 0],
  [100, 0],
  [100, 100],
  [60, 100],
];

before(async () => {
  if (skip) return;
  process.env.FAKE_RPICAM_SCENE = SCENE;
  rpicamPath = buildFakeRpicamVid(dir);
  receiver = new RtspReceiver({ port: await freePort(), path: 'picam-zones', dir });
  receiver.start();
  await receiver.waitListening();
});
after(async () => {
  delete process.env.FAKE_RPICAM_SCENE;
  await receiver?.stop();
});

async function load(zones: unknown) {
  await helper.load(cameraNode, [
    {
      id: 'cam',
      type: 'rpicam-rtsp',
      source: 'rpicam',
      rpicamPath,
      url: receiver.url,
      width: 320,
      height: 240,
      framerate: 10,
      bitrateKbps: 300,
      keyframeSeconds: 1,
      minMotionSeconds: 0.5,
      quietSeconds: 1,
      snapshotSeconds: 1,
      previewPath: '',
      zones: typeof zones === 'string' ? zones : JSON.stringify(zones),
      wires: [['status'], ['events'], ['snaps']],
    },
    { id: 'status', type: 'helper' },
    { id: 'events', type: 'helper' },
    { id: 'snaps', type: 'helper' },
  ]);
  return { events: new Collector('events'), snaps: new Collector('snaps') };
}

const starts = (c: Collector) => c.msgs.filter((m) => m.topic === 'activity/start');

describe('rpicam-rtsp masks and zones', { skip }, () => {
  it('raises nothing for motion under a mask, then names the zone once the cloud sends one', async () => {
    const { events, snaps } = await load([{ kind: 'mask', name: 'tree', points: LEFT }]);
    // Five periodic snapshots: five seconds of the square swinging, analysed, under the mask.
    await snaps.wait(5, 30_000);
    assert.deepEqual(
      events.msgs.map((m) => m.topic),
      [],
      'no event for motion under the mask',
    );

    // The cloud's zones command (…/honeycomb/{id}/settings/zones), as the Pi flow passes it on.
    node('cam').receive({
      topic: 'prod/honeycomb/pi-1/settings/zones',
      payload: { requestId: 'r1', zones: [{ kind: 'zone', name: 'driveway', points: LEFT }] },
    });
    const start = await until('activity start', () => starts(events)[0], 20_000);
    assert.deepEqual(start.payload.zones, ['driveway']);
    assert.equal(start.payload.activityType, 'MOTION');
  });

  it('names the zone from the node property, and [] for motion outside every zone', async () => {
    const { events } = await load([{ kind: 'zone', name: 'driveway', points: LEFT }]);
    const first = await until('activity start', () => starts(events)[0], 30_000);
    assert.deepEqual(first.payload.zones, ['driveway']);

    // Only a zone on the other side: the same motion is outside every zone. A mode change ends the event.
    node('cam').receive({ topic: 'zones', payload: [{ kind: 'zone', name: 'garden', points: RIGHT }] });
    node('cam').receive({ topic: 'mode', payload: 'LIVESTREAMONLY' });
    const stop = await until('activity stop', () => events.msgs.find((m) => m.topic === 'activity/stop'), 10_000);
    assert.equal(stop.payload.eventId, first.payload.eventId);
    node('cam').receive({ topic: 'mode', payload: 'ARMED' });
    const second = await until('a second start', () => starts(events)[1], 30_000);
    assert.deepEqual(second.payload.zones, []);
  });

  it('refuses zones that cannot work at deploy: the node runs no camera and says why', async () => {
    const { snaps } = await load('[{"kind":"zone","points":[[0,0],[50,0],[50,100]]}]');
    const refused = spy('cam', 'error');
    node('cam').receive({ topic: 'snapshot' });
    await until('the reason', () => refused.find((e) => /polygon 1: a zone needs a name/.test(text(e))), 5000);
    assert.equal(snaps.msgs.length, 0, 'no camera runs');
  });

  it('refuses zones that cannot work at run time with done(err), keeping the ones it has', async () => {
    await load([]);
    const errors = spy('cam', 'error');
    node('cam').receive({
      topic: 'zones',
      payload: [
        {
          kind: 'zone',
          name: 'x',
          points: [
            [0, 0],
            [150, 0],
            [0, 50],
          ],
        },
      ],
    });
    await until('error', () => errors.find((e) => /point 2: must be \[x, y\] with both in percent, 0–100/.test(text(e))), 5000);
  });
});
