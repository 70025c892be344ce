/**
 * command-sender in the cluster role: with `amqp` naming a running amqp-ingest node, commands go
 * out through that node's connection to a real RabbitMQ node (the shipped definitions), to the
 * camera's MQTT subscription. A command counts as sent once RabbitMQ confirmed it; one for a
 * camera with no subscription is sent with a note saying the device was not connected.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ingestNode from '../../../nodes/amqp-ingest/amqp-ingest';
import senderNode from '../../../nodes/command-sender/command-sender';
import databaseNode from '../../../nodes/picam-database/picam-database';
import { CAMERA, CAMERA_2 } from '../../support/fixtures';
import { Collector, helper, node, useNodeRed } from '../../support/node-helper';
import { skipWithoutRabbitMQ } from '../../support/rabbitmq';
import { CLOUD, useRabbitForIngest } from '../../support/rabbitmq-ingest-env';
import { tempDir } from '../../support/tmp';

useNodeRed();

const reboot = (deviceId: string, requestId: string) => ({
  topic: `prod/honeycomb/${deviceId}/system/reboot`,
  payload: { requestId },
  deviceId,
  action: 'reboot',
});

describe('command-sender through amqp-ingest’s RabbitMQ connection', { skip: skipWithoutRabbitMQ }, () => {
  const env = useRabbitForIngest();

  const load = async (sender: Record<string, unknown>) => {
    const dir = tempDir();
    helper.settings({ userDir: dir });
    await helper.load(
      [databaseNode, ingestNode, senderNode],
      [
        { id: 'db', type: 'picam-database', file: join(dir, 'events.db'), synchronous: 'NORMAL' },
        env.ingest({ wires: [[]] }),
        { id: 'cs', type: 'command-sender', database: 'db', broker: '', host: '', wires: [['replies'], ['reports']], ...sender },
        { id: 'replies', type: 'helper' },
        { id: 'reports', type: 'helper' },
      ],
      { in: CLOUD },
    );
    return { replies: new Collector('replies'), reports: new Collector('reports') };
  };

  it('delivers a command to the camera’s subscription and reports it sent; a camera not connected is said so', async () => {
    const { replies, reports } = await load({ amqp: 'in' });
    const cam = await env.camera();
    await cam.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
    const got = new Promise<[string, string]>((resolve) => cam.once('message', (t, p) => resolve([t, p.toString()])));

    node('cs').receive(reboot(CAMERA, 'r-1'));
    assert.equal((await replies.first(10_000)).statusCode, 202);
    const [topic, payload] = await got;
    assert.equal(topic, `prod/honeycomb/${CAMERA}/system/reboot`);
    assert.equal(JSON.parse(payload).requestId, 'r-1');
    const sent = await reports.first(20_000);
    assert.equal(sent.topic, 'command/sent');
    assert.equal(sent.payload.reason, null);

    node('cs').receive(reboot(CAMERA_2, 'r-2'));
    const [, second] = await reports.wait(2, 20_000);
    assert.equal(second!.topic, 'command/sent');
    assert.equal(second!.payload.deviceId, CAMERA_2);
    assert.match(String(second!.payload.reason), /the device was not connected/);
  });

  it('keeps a command queued when no broker is named (without amqp, no way out)', async () => {
    const { replies, reports } = await load({});
    node('cs').receive(reboot(CAMERA, 'r-3'));
    assert.equal((await replies.first(10_000)).statusCode, 202);
    await assert.rejects(reports.first(3_000), /0 of 1 messages/);
  });
});
