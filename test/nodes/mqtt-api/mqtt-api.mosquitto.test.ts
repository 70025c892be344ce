/**
 * The MQTT API on an external Mosquitto with the shipped ACL (cloud/mosquitto/acl): an MQTT 5
 * client's request carries its correlation data and response topic as properties, and the
 * answer comes back with the same correlation data; the integration user reaches devices
 * only through the runtime's command queue, never their command topics directly.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import senderNode from '../../../nodes/command-sender/command-sender';
import mqttApiNode from '../../../nodes/mqtt-api/mqtt-api';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import { CAMERA, connected, topics } from '../../support/fixtures';
import { Client } from '../../support/home-assistant-flow';
import { skipWithoutMosquitto, startMosquitto } from '../../support/mosquitto';
import { helper, node, useNodeRed } from '../../support/node-helper';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

useNodeRed();
const dir = tempDir('picam-mqtt-api-mosquitto-');
const DEVICES = { username: 'devices', password: 'api-devices-secret' };
const CLOUD = { username: 'picam-cloud', password: 'api-cloud-secret' };
const INTEGRATION = { username: 'picam-integration', password: 'api-integration-secret' };
let broker: ChildProcess | undefined;
let port = 0;
const clients: Client[] = [];

const connect = async (opts: object) => {
  const c = await waitFor('Mosquitto', () => Client.connect(port, opts).catch(() => undefined));
  clients.push(c);
  return c;
};

describe('mqtt-api on Mosquitto', { skip: skipWithoutMosquitto }, () => {
  before(async () => {
    port = await freePort();
    const acl = join(dir, 'acl');
    copyFileSync(join(__dirname, '..', '..', '..', 'cloud', 'mosquitto', 'acl'), acl);
    chmodSync(acl, 0o644);
    broker = startMosquitto(dir, port, [DEVICES, CLOUD, INTEGRATION], (passwords) =>
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${passwords}`,
        `acl_file ${acl}`,
        'persistence false',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
    broker?.kill('SIGTERM');
  });

  it('answers an MQTT 5 request with its correlation data on its response topic', async () => {
    helper.settings({ userDir: dir });
    const external = { host: '127.0.0.1', port, broker: '' };
    await helper.load(
      [databaseNode, processorNode, senderNode, mqttApiNode] as never,
      [
        { id: 'db', type: 'picam-database', file: join(dir, 'api.db'), maxBatch: 100, maxDelayMs: 5, synchronous: 'NORMAL' },
        { id: 'p1', type: 'mqtt-processor', prefix: 'prod', deviceTypes: 'hive-cam', database: 'db', wires: [[], [], ['cs'], ['api']] },
        { id: 'cs', type: 'command-sender', database: 'db', ...external, wires: [['api'], []] },
        { id: 'api', type: 'mqtt-api', enabled: 'true', database: 'db', ...external, wires: [['p1'], []] },
      ],
      { cs: { user: CLOUD.username, password: CLOUD.password }, api: { user: CLOUD.username, password: CLOUD.password } },
    );
    const camera = await connect({ ...DEVICES, clientId: CAMERA });
    await camera.mqtt.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
    node('p1').receive({ topic: topics.connection(), payload: Buffer.from(JSON.stringify(connected())) });

    const app = await connect({ ...INTEGRATION, clientId: 'v5-app', protocolVersion: 5 });
    await app.mqtt.subscribeAsync('picam/response/v5', { qos: 1 });
    // The API subscribes once connected: ask until an answer comes.
    const correlationData = Buffer.from('corr-42');
    const answer = await waitFor('an answer', async () => {
      await app.mqtt.publishAsync('picam/request/setmode', JSON.stringify({ deviceId: CAMERA, mode: 'PRIVACY' }), {
        qos: 1,
        properties: { responseTopic: 'picam/response/v5', correlationData },
      });
      return app.received.find((m) => m.topic === 'picam/response/v5');
    });
    assert.deepEqual(answer.correlationData, correlationData, 'MQTT 5 correlation data comes back as a property');
    const body = JSON.parse(answer.payload.toString());
    assert.equal(body.id, 'corr-42');
    assert.equal(body.code, 202);
    await camera.json(`prod/honeycomb/${CAMERA}/system/setmode`, (c) => c.mode === 'PRIVACY');

    // The integration user cannot command a device directly (shipped ACL).
    await assert.rejects(app.mqtt.publishAsync(`prod/honeycomb/${CAMERA}/system/reboot`, '{"direct":true}', { qos: 1 }), /Not authorized/);
    await app.mqtt.publishAsync('picam/request/reboot', JSON.stringify({ id: 'after', replyTo: 'picam/response/v5', deviceId: CAMERA }), {
      qos: 1,
    });
    await camera.json(`prod/honeycomb/${CAMERA}/system/reboot`, (c) => !c.direct);
    assert.equal(
      camera.received.find((m) => m.payload.toString().includes('direct')),
      undefined,
    );
  });
});
