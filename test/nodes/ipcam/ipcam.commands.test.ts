/**
 * Device commands an IP camera cannot obey (reboot, settings, sound) that reach
 * the ipcam node: answered on output 3 as refused, with the reason, and no node
 * error (a catch node stays quiet); input it does not understand is still an error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipcamNode from '../../../nodes/ipcam/ipcam';
import { freePort } from '../../support/ports';
import { Collector, helper, node, sleep, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

async function load() {
  await helper.load(
    [ipcamNode],
    [
      {
        id: 'ipc',
        type: 'ipcam',
        name: 'Porch',
        deviceId: 'porch-1',
        subUrl: `rtsp://127.0.0.1:${await freePort()}/sub`,
        apiPath: '/test/cmd-ipcams',
        wires: [[], [], ['states']],
      },
      { id: 'states', type: 'helper' },
    ],
  );
  return { states: new Collector('states'), errors: spy('ipc', 'error') };
}

describe('commands an IP camera cannot obey', () => {
  const cases: Array<[topic: string, payload: Record<string, unknown>, action: string, reason: string]> = [
    [
      'prod/honeycomb/porch-1/system/reboot',
      { requestId: 'r-1' },
      'reboot',
      'an IP camera cannot be rebooted from here: restart it from its own web page or app',
    ],
    [
      'prod/honeycomb/porch-1/settings/update',
      { requestId: 'r-2', volume: 'LOW' },
      'settings-update',
      "an IP camera's settings are changed in its own web page or app, not here",
    ],
    ['prod/honeycomb/porch-1/sound/play', { requestId: 'r-3', soundType: 'DOG_BARK' }, 'sound-play', 'an IP camera cannot play sounds'],
  ];
  for (const [topic, payload, action, reason] of cases) {
    it(`answers ${action} as refused, with the reason, not with an error`, async () => {
      const { states, errors } = await load();
      node('ipc').receive({ topic, payload } as never);
      const refused = await until('the refusal', () => states.msgs.find((m) => m.topic === 'command-refused'), 5000);
      assert.deepEqual(refused.payload, { deviceId: 'porch-1', action, requestId: payload.requestId, reason });
      assert.equal(refused.deviceId, 'porch-1');
      await sleep(50);
      assert.deepEqual(errors.map(text), []);
    });
  }

  it('still reports input it does not understand as an error', async () => {
    const { errors } = await load();
    node('ipc').receive({ topic: 'dance', payload: 'now' } as never);
    await until('the error', () => errors.length > 0, 5000);
    assert.match(text(errors[0]!), /^ipcam: expected "start"/);
  });
});
