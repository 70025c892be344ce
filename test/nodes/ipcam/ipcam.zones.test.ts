/**
 * Masks and zones on an IP camera (issue 20), in a real Node-RED runtime against a real RTSP
 * camera (GStreamer's RTSP server, its ball sweeping across the picture): the node property names
 * the zone in the camera's events, and the cloud's zones command (…/honeycomb/{id}/settings/zones,
 * as the flows route it) masks the picture at run time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { Collector, helper, node, spy, text, until, useNodeRed } from '../../support/node-helper';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;

useNodeRed();

const WHOLE = [
  [0, 0],
  [100, 0],
  [100, 100],
  [0, 100],
];
const START = 'prod/device/message/ipcam/porch-1/activity/start';
const STOP = 'prod/device/message/ipcam/porch-1/activity/stop';
const HEARTBEAT = 'prod/device/status/ipcam/porch-1';

describe('ipcam masks and zones', { skip }, () => {
  const camera = new RtspCamera({ pattern: 'moving' });
  before(() => camera.start());
  after(() => camera.stop());

  async function load(zones: unknown) {
    await helper.load(
      [ipcamNode],
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
          apiPath: 'off',
          zones: JSON.stringify(zones),
          wires: [['mqtt'], [], []],
        },
        { id: 'mqtt', type: 'helper' },
      ],
      { ipc: { user: camera.user, password: camera.password } },
    );
    return new Collector('mqtt');
  }

  it('names the zone of the property in its events, and raises none once the cloud masks the picture', async () => {
    const mqtt = await load([{ kind: 'zone', name: 'porch steps', points: WHOLE }]);
    const start = await until('motion start', () => mqtt.msgs.find((m) => m.topic === START), 30_000);
    assert.deepEqual(start.payload.zones, ['porch steps']);

    const errors = spy('ipc', 'error');
    node('ipc').receive({
      topic: 'prod/honeycomb/porch-1/settings/zones',
      payload: { requestId: 'r1', zones: [{ kind: 'mask', points: WHOLE }] },
    });
    // A mode change ends the event; armed again, the ball sweeps on under the mask.
    node('ipc').receive({ topic: 'mode', payload: 'LIVESTREAMONLY' });
    await until('motion stop', () => mqtt.msgs.find((m) => m.topic === STOP), 10_000);
    node('ipc').receive({ topic: 'mode', payload: 'ARMED' });
    const armedAt = mqtt.msgs.length;
    // Five heartbeats (one a second) of the ball moving under the mask, and no start.
    await until('five heartbeats', () => mqtt.msgs.slice(armedAt).filter((m) => m.topic === HEARTBEAT).length >= 5, 30_000);
    assert.equal(mqtt.msgs.filter((m) => m.topic === START).length, 1, 'no event under the mask');
    assert.deepEqual(errors.map(text), []);
  });

  it('refuses a zones command that cannot work, with the reason', async () => {
    await load([]);
    const errors = spy('ipc', 'error');
    node('ipc').receive({
      topic: 'prod/honeycomb/porch-1/settings/zones',
      payload: { zones: [{ kind: 'zone', name: 'x', points: [[0, 0]] }] },
    });
    await until('the reason', () => errors.find((e) => /polygon 1: points must be a list of at least 3/.test(text(e))), 5000);
  });
});
