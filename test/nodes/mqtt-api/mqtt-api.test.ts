/**
 * The MQTT API in a real Node-RED runtime with the embedded broker: a request is answered with
 * its correlation id once the command is queued (the HTTP API's path and checks), and every
 * bad request gets an error answer while the API keeps serving.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CAMERA, connected, topics } from '../../support/fixtures';
import { Client, DEVICE_LOGIN, HA_LOGIN, loadHomeAssistantFlow } from '../../support/home-assistant-flow';
import { Collector, node, spy, useNodeRed } from '../../support/node-helper';
import { waitFor } from '../../support/wait';
import { tempDir } from '../../support/tmp';

useNodeRed();
const dir = tempDir('picam-mqtt-api-');
const clients: Client[] = [];
let port: number;
let camera: Client;
let app: Client;

const connect = async (opts: object) => {
  const c = await Client.connect(port, opts);
  clients.push(c);
  return c;
};

/** Sends a request and resolves with the answer that carries `id` on `replyTo`. */
async function request(command: string, body: object | string, replyTo = 'picam/response/app', id?: string) {
  const from = app.received.length;
  await app.mqtt.publishAsync(`picam/request/${command}`, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });
  return app.json(replyTo, (a) => id === undefined || a.id === id, from);
}

describe('mqtt-api with a real broker', () => {
  beforeEach(async () => {
    port = await loadHomeAssistantFlow(dir);
    camera = await connect({ ...DEVICE_LOGIN, clientId: CAMERA });
    await camera.mqtt.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
    await camera.mqtt.publishAsync(topics.connection(), JSON.stringify(connected()), { qos: 1 });
    app = await connect({ ...HA_LOGIN, clientId: 'a-maker-flow' });
    await app.mqtt.subscribeAsync(['picam/response/#', 'picam/devices/+/connection'], { qos: 1 });
    await app.next(`picam/devices/${CAMERA}/connection`, (p) => p.toString() === 'online');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
  });

  it('answers a set-mode request with its correlation id once queued, and the camera gets the mode', async () => {
    const answer = await request(
      'setmode',
      { id: 'r-1', replyTo: 'picam/response/app', deviceId: CAMERA, mode: 'LIVESTREAMONLY' },
      undefined,
      'r-1',
    );
    assert.equal(answer.status, 'ok');
    assert.equal(answer.code, 202);
    assert.equal(answer.data.state, 'queued');
    assert.equal(answer.data.deviceId, CAMERA);
    const command = await camera.json(`prod/honeycomb/${CAMERA}/system/setmode`, (c) => c.mode === 'LIVESTREAMONLY');
    assert.equal(command.requestId, answer.data.requestId, 'the answer names the queued command');

    const reboot = await request('reboot', { id: 'r-2', replyTo: 'picam/response/app', deviceId: CAMERA }, undefined, 'r-2');
    assert.equal(reboot.code, 202);
    await camera.json(`prod/honeycomb/${CAMERA}/system/reboot`);
  });

  it('asks camera nodes for a snapshot and says where the picture appears', async () => {
    const asked = new Collector('snapshots');
    const answer = await request('snapshot', { id: 's-1', replyTo: 'picam/response/app', deviceId: CAMERA }, undefined, 's-1');
    assert.equal(answer.code, 202);
    assert.equal(answer.data.topic, `picam/devices/${CAMERA}/snapshot`);
    const msg = await asked.first();
    assert.deepEqual(msg.payload, { deviceId: CAMERA, requestId: answer.data.requestId });
    // The picture a camera node answers with is the device's retained snapshot.
    await app.mqtt.subscribeAsync(`picam/devices/${CAMERA}/snapshot`, { qos: 1 });
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    node('api').receive({ topic: 'snapshot', payload: jpeg, deviceId: CAMERA, requestId: answer.data.requestId });
    assert.deepEqual((await app.next(`picam/devices/${CAMERA}/snapshot`)).payload, jpeg);
    // A picture whose file is gone is reported, and the last good one stays.
    const errors = spy('api', 'error');
    node('api').receive({ topic: 'alert/snapshot', payload: { kind: 'snapshot', deviceId: CAMERA, image: `${dir}/no-such.jpg` } });
    await waitFor('the error', async () => errors[0]);
    assert.match(String(errors[0]!.args[0]), /no-such\.jpg/);
  });

  it('answers every bad request with an error, and keeps serving', async () => {
    const broken = await request('setmode', '{"id": "b-1", "deviceId": ', 'picam/response');
    assert.equal(broken.status, 'error');
    assert.equal(broken.code, 400);
    assert.equal(broken.id, null, 'an id inside broken JSON cannot be read');
    assert.match(broken.error, /not JSON/);

    const unknown = await request(
      'setmode',
      { id: 'b-2', replyTo: 'picam/response/app', deviceId: 'NOSUCHCAMERA', mode: 'ARMED' },
      undefined,
      'b-2',
    );
    assert.equal(unknown.code, 404);
    assert.match(unknown.error, /unknown device/);

    const command = await request('selfdestruct', { id: 'b-3', replyTo: 'picam/response/app', deviceId: CAMERA }, undefined, 'b-3');
    assert.equal(command.code, 400);
    assert.match(command.error, /unknown command/);

    const uncorrelated = await request('reboot', { replyTo: 'picam/response/app', deviceId: CAMERA });
    assert.equal(uncorrelated.code, 400);
    assert.equal(uncorrelated.id, null);
    assert.match(uncorrelated.error, /correlation/);

    const badMode = await request(
      'setmode',
      { id: 'b-4', replyTo: 'picam/response/app', deviceId: CAMERA, mode: 'DISCO' },
      undefined,
      'b-4',
    );
    assert.match(badMode.error, /mode must be one of/);

    // The runtime never answers outside picam/response: a device's command topic is no reply address.
    const hijack = await request(
      'reboot',
      { id: 'b-5', replyTo: `prod/honeycomb/${CAMERA}/system/reboot`, deviceId: CAMERA },
      'picam/response',
      'b-5',
    );
    assert.match(hijack.error, /replyTo/);

    const badSet = await (async () => {
      const from = app.received.length;
      await app.mqtt.publishAsync(`picam/devices/${CAMERA}/mode/set`, 'DISCO', { qos: 1 });
      return app.json('picam/response', (a) => a.status === 'error', from);
    })();
    assert.match(badSet.error, /mode must be one of/);

    assert.equal(camera.received.filter((m) => m.topic.startsWith('prod/honeycomb/')).length, 0, 'no bad request reached the camera');
    const good = await request('reboot', { id: 'g-1', replyTo: 'picam/response/app', deviceId: CAMERA }, undefined, 'g-1');
    assert.equal(good.code, 202, 'still serving');
  });
});
