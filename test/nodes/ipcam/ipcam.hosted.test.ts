/**
 * The ipcam node as the Pi flow runs it: hosted by the Pi (`host`), its messages
 * under the Pi's id (…/ipcam/{pi}/{camera}) and named `{pi}.{camera}`, its mode
 * set by the cloud's command on the Pi's topic (…/honeycomb/{pi}/ipcam/{camera}/…),
 * and no HTTP routes (apiPath "off"). The camera is one nobody answers for: the
 * node reports its mode before any frame.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { httpNodeServer } from '../../support/http-node';
import { freePort } from '../../support/ports';
import { Collector, helper, node, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();
const http = httpNodeServer('');

describe('ipcam hosted by a Pi', { skip: skipWithoutFfmpeg }, () => {
  it("speaks under the Pi's id, obeys the cloud's command on the Pi's topic, and serves no HTTP routes", async () => {
    await helper.load(
      [ipcamNode, http.expose],
      [
        {
          id: 'ipc',
          type: 'ipcam',
          name: 'Door',
          deviceId: 'door',
          host: 'pi-1',
          apiPath: 'off',
          subUrl: `rtsp://127.0.0.1:${await freePort()}/sub`,
          mode: 'ARMED',
          wires: [['mqtt'], [], []],
        },
        { id: 'mqtt', type: 'helper' },
      ],
      { ipc: { user: '', password: '' } },
    );
    const mqtt = new Collector('mqtt');
    const errors = spy('ipc', 'error');
    const state = 'prod/device/message/ipcam/pi-1/door/camera/state';
    const first = await until('the starting mode', () => mqtt.msgs.find((m) => m.topic === state));
    assert.equal(first.payload.mode, 'ARMED');
    assert.equal(first.deviceId, 'pi-1.door');

    node('ipc').receive({ topic: 'prod/honeycomb/pi-1/ipcam/door/system/setmode', payload: { mode: 'PRIVACY', requestId: 'r1' } });
    const privacy = await until('PRIVACY reported', () => mqtt.msgs.find((m) => m.topic === state && m.payload.mode === 'PRIVACY'));
    assert.equal(privacy.deviceId, 'pi-1.door');

    // Another Pi's camera of the same name is not this one.
    node('ipc').receive({ topic: 'prod/honeycomb/pi-2/ipcam/door/system/setmode', payload: { mode: 'ARMED' } });
    const refused = await until('the foreign command refused', () => errors.find((e) => /no camera "pi-2\.door"/.test(text(e))));
    assert.ok(refused);
    assert.ok(!mqtt.msgs.some((m) => m.topic === state && m.payload.mode === 'ARMED' && m !== first), 'its mode is unchanged');

    assert.equal((await http.fetch('/api/ipcams')).status, 404, 'no API on the Pi');
    assert.ok(
      mqtt.msgs.every((m) => m.topic.startsWith('prod/device/') && m.topic.includes('/ipcam/pi-1/door')),
      mqtt.msgs.map((m) => m.topic).join(', '),
    );
  });

  it('refuses a host that is not a plain device id, for every input', async () => {
    await helper.load(
      [ipcamNode],
      [{ id: 'ipc', type: 'ipcam', deviceId: 'door', host: 'pi.1', apiPath: 'off', subUrl: 'rtsp://127.0.0.1:1/sub', wires: [[], [], []] }],
    );
    const errors = spy('ipc', 'error');
    node('ipc').receive({ payload: { mode: 'ARMED' } });
    const refused = await until('the input refused', () => errors[0]);
    assert.match(text(refused), /host must be a device id/);
  });
});
