/**
 * amqp-ingest against a real RabbitMQ node with the shipped definitions and configuration:
 * cameras publish with a real MQTT client (QoS 1) to RabbitMQ's MQTT plugin, and amqp-ingest in a
 * real Node-RED runtime takes their messages from the quorum queues. What a user (an installer
 * running the cluster role) relies on: nothing is acknowledged before the store completed it
 * (nor while it cannot write), a redeploy gives back what it held, a camera cannot speak for
 * another, and commands reach cameras. Several runtimes: amqp-ingest.runtimes.test.ts.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import amqp from 'amqplib';
import type { MqttClient } from 'mqtt';
import ingestNode from '../../../nodes/amqp-ingest/amqp-ingest';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { CommandPublisher, NoSubscriber } from '../../../nodes/lib/amqp/command-publisher';
import { CAMERA, CAMERA_2, connected, heartbeat, topics } from '../../support/fixtures';
import { helper, rows, sleep, spy, text, until, useNodeRed } from '../../support/node-helper';
import { freePort } from '../../support/ports';
import { skipWithoutRabbitMQ } from '../../support/rabbitmq';
import { CLOUD, useRabbitForIngest } from '../../support/rabbitmq-ingest-env';
import { storeStandIn } from '../../support/store-stand-in';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

useNodeRed();

describe('amqp-ingest on RabbitMQ', { skip: skipWithoutRabbitMQ }, () => {
  const env = useRabbitForIngest();
  const { camera, publish, drained, ingest } = env;

  it('hands messages on in the broker’s batch shape and acknowledges them only after the store completed them', async () => {
    const { register, standIn } = storeStandIn();
    await helper.load([ingestNode, register], [ingest(), { id: 'store', type: 'store-stand-in', hold: true }], { in: CLOUD });
    const statuses = spy('in', 'status');
    const cam = await camera();
    await publish(cam, topics.status(), heartbeat(1_800_000_000));
    await publish(cam, topics.start(), { eventId: 'e1', timestamp: 1_800_000_001 });
    await until('both messages in the flow', () => standIn.received.length >= 2, 20_000);
    assert.deepEqual(
      standIn.received.map((r) => [r.topic, r.clientId, JSON.parse(r.body).timestamp]),
      [
        [topics.status(), CAMERA, 1_800_000_000],
        [topics.start(), CAMERA, 1_800_000_001],
      ],
    );
    // Delivered, not acknowledged, for as long as the store has not completed them. (The broker's
    // counts trail by its statistics interval: they are waited for, and stay there while held.)
    await waitFor('the broker counting both unacknowledged', async () =>
      (await env.rabbit.queues())['picam.device']!.unacked === 2 ? true : undefined,
    );
    await sleep(1500);
    assert.deepEqual((await env.rabbit.queues())['picam.device'], { ready: 0, unacked: 2 });
    standIn.release();
    await drained();
    await until('the status says where it is connected and what it acknowledged', () =>
      statuses.some((s) => /connected to 127\.0\.0\.1:\d+\/picam .*2 acknowledged/.test(String((s.args[0] as { text?: string }).text))),
    );
  });

  it('feeds mqtt-processor and the store: a camera’s connection and heartbeat become rows', async () => {
    const file = join(tempDir(), 'events.db');
    await helper.load(
      [databaseNode, ingestNode, processorNode, eventsNode],
      [
        { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL' },
        ingest({ wires: [['proc']] }),
        { id: 'proc', type: 'mqtt-processor', database: 'db', wires: [['store'], [], [], []] },
        { id: 'store', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [[], []] },
      ],
      { in: CLOUD },
    );
    const cam = await camera();
    const now = Math.floor(Date.now() / 1000);
    await publish(cam, topics.connection(), connected(now - 2));
    await publish(cam, topics.status(), heartbeat(now - 1));
    const stored = await waitFor(
      'the rows',
      async () => {
        const r = await rows<{ n: number }>(file, 'SELECT count(*) AS n FROM status_events WHERE camera_id = ?', [CAMERA]).catch(() => [
          { n: 0 },
        ]);
        return r[0]!.n >= 2 ? r[0]!.n : undefined;
      },
      30_000,
    );
    assert.equal(stored, 2);
    await drained();
  });

  it('keeps what the store could not take yet unacknowledged, sends it through again, and stores it once the database opens', async () => {
    const folder = join(tempDir(), 'not-mounted-yet');
    writeFileSync(folder, 'not a folder'); // the database's disk is not there at deploy
    const file = join(folder, 'events.db');
    await helper.load(
      [databaseNode, ingestNode, processorNode, eventsNode],
      [
        // holdSeconds 0: the store refuses at once instead of queueing, as it does when its queue is full.
        { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL', holdSeconds: 0 },
        ingest({ wires: [['proc']] }),
        { id: 'proc', type: 'mqtt-processor', database: 'db', wires: [['store'], [], [], []] },
        { id: 'store', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [[], []] },
      ],
      { in: CLOUD },
    );
    const warnings = spy('in', 'warn');
    const cam = await camera();
    const now = Math.floor(Date.now() / 1000);
    const sent = [3, 2, 1].map((ago) => now - ago);
    for (const t of sent) await publish(cam, topics.status(), heartbeat(t));
    await until(
      'a message refused while the database cannot open',
      () => warnings.some((w) => /not stored yet, trying again/.test(text(w))),
      20_000,
    );
    await waitFor('the broker counting them unacknowledged', async () =>
      (await env.rabbit.queues())['picam.device']!.unacked === 3 ? true : undefined,
    );
    rmSync(folder); // the disk is mounted: the database opens on its next try
    const stored = await waitFor(
      'every heartbeat stored',
      async () => {
        const r = await rows<{ t: number }>(file, 'SELECT timestamp AS t FROM status_events WHERE camera_id = ? ORDER BY t', [
          CAMERA,
        ]).catch(() => []);
        return r.length >= sent.length ? r : undefined;
      },
      60_000,
    );
    assert.equal(stored.length, sent.length);
    await drained();
  });

  it('closes its channel and connection on redeploy, giving back what it held; fails over past a node that does not answer', async () => {
    const { register, standIn } = storeStandIn();
    const dead = `amqp://127.0.0.1:${await freePort()}/picam`;
    await helper.load(
      [ingestNode, register],
      [ingest({ urls: `${dead} ${env.rabbit.urls()}` }), { id: 'store', type: 'store-stand-in', hold: true }],
      {
        in: CLOUD,
      },
    );
    const statuses = spy('in', 'status');
    const cam = await camera();
    await publish(cam, topics.status(), heartbeat(1_800_005_000));
    await until('the message held', () => standIn.received.length >= 1, 30_000);
    assert.ok(
      statuses.some((s) => /trying 127\.0\.0\.1:\d+\/picam in \d+ s/.test(String((s.args[0] as { text?: string }).text))),
      'the status said it tried the next node',
    );
    const connections = async () => (await env.rabbit.ctl(['list_connections', 'user', '--formatter', 'json'])).includes(CLOUD.username);
    assert.equal(await connections(), true);
    await helper.unload();
    await waitFor('the connection closed', async () => ((await connections()) ? undefined : true), 10_000);
    await waitFor('the held message back in the queue', async () =>
      (await env.rabbit.queues())['picam.device']!.ready === 1 ? true : undefined,
    );

    // The next deployment gets it, marked resent.
    const again = storeStandIn();
    await helper.load([ingestNode, again.register], [ingest(), { id: 'store', type: 'store-stand-in' }], { in: CLOUD });
    await until('the message again', () => again.standIn.received.length >= 1, 20_000);
    assert.equal(again.standIn.received[0]!.resent, true);
    await drained();
  });

  it('says what is missing: a login, or a queue the definitions should have made', async () => {
    await helper.load([ingestNode], [{ ...ingest(), wires: [[]] }], {});
    const logged = (helper as unknown as { log(): { args: Array<[{ msg?: unknown }]> } }).log().args.map(([e]) => String(e?.msg ?? ''));
    assert.ok(
      logged.some((m) => /amqp-ingest: no login: set the username and password/.test(m)),
      logged.slice(-5).join('\n'),
    );
    await helper.unload();

    await helper.load([ingestNode], [{ ...ingest({ connectionQueue: 'picam.nowhere' }), wires: [[]] }], { in: CLOUD });
    const statuses = spy('in', 'status');
    await until(
      'the status naming the missing queue',
      () =>
        statuses.some((s) =>
          /queue picam\.nowhere does not exist: import cloud\/cluster\/rabbitmq\/definitions\.json; trying/.test(
            String((s.args[0] as { text?: string }).text),
          ),
        ),
      10_000,
    );
  });

  it('refuses a camera that publishes under another camera’s id or reads its commands, whatever client id it picks', async () => {
    const { register, standIn } = storeStandIn();
    await helper.load([ingestNode, register], [ingest(), { id: 'store', type: 'store-stand-in' }], { in: CLOUD });

    const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));
    // As itself, for another camera: RabbitMQ closes the connection, no PUBACK.
    const cam = await camera(CAMERA);
    const gone = closed(cam);
    cam.publish(topics.status(CAMERA_2), JSON.stringify(heartbeat(1_800_004_000)), { qos: 1 });
    await gone;
    // A client id that is a regular expression (the rule puts the client id into one) gets nowhere either.
    for (const sneaky of ['.+', `${CAMERA_2.slice(0, 4)}.*`]) {
      const c = await camera(sneaky);
      const shut = closed(c);
      c.publish(topics.status(CAMERA_2), JSON.stringify(heartbeat(1_800_004_001)), { qos: 1 });
      await shut;
    }
    // Reading another camera's commands: the subscription closes the connection as well.
    const reader = await camera(CAMERA);
    const readerGone = closed(reader);
    reader.subscribe(`prod/honeycomb/${CAMERA_2}/#`, { qos: 1 });
    await readerGone;

    // Its own topic still works, and that is all that reached the flow.
    const honest = await camera(CAMERA);
    await publish(honest, topics.status(CAMERA), heartbeat(1_800_004_002));
    await until('the camera’s own message', () => standIn.received.length >= 1, 20_000);
    await drained();
    assert.deepEqual(
      standIn.received.map((r) => r.topic),
      [topics.status(CAMERA)],
    );
  });

  it('sends a command to the camera’s MQTT subscription through amq.topic, and says when no camera listens', async () => {
    const cam = await camera(CAMERA);
    await cam.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
    const got = new Promise<[string, string]>((resolve) => cam.once('message', (t, p) => resolve([t, p.toString()])));
    const model = await amqp.connect(env.rabbit.amqpUrl(CLOUD.username, CLOUD.password));
    try {
      const publisher = new CommandPublisher(await model.createConfirmChannel());
      const command = { requestId: 'r1', mode: 'PRIVACY' };
      await publisher.publish(`prod/honeycomb/${CAMERA}/system/setmode`, JSON.stringify(command));
      assert.deepEqual(await got, [`prod/honeycomb/${CAMERA}/system/setmode`, JSON.stringify(command)]);
      await assert.rejects(publisher.publish(`prod/honeycomb/${CAMERA_2}/system/reboot`, '{}'), NoSubscriber);
    } finally {
      await model.close();
    }
  });
});
