/**
 * amqp-ingest against a real RabbitMQ node with the shipped definitions and configuration:
 * cameras publish with a real MQTT client (QoS 1) to RabbitMQ's MQTT plugin, and amqp-ingest in a
 * real Node-RED runtime takes their messages from the quorum queues. What a user (an installer
 * running the cluster role) relies on: nothing is acknowledged before the store completed it, a
 * runtime that dies hands its messages to the next, runtimes share the device traffic, one at a
 * time takes the connection messages, and a camera cannot speak for another.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';
import ingestNode from '../../../nodes/amqp-ingest/amqp-ingest';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { CommandPublisher, NoSubscriber } from '../../../nodes/lib/amqp/command-publisher';
import { ConsumerRuntime } from '../../support/amqp-consumer';
import { CAMERA, CAMERA_2, connected, disconnected, heartbeat, topics } from '../../support/fixtures';
import { helper, rows, sleep, spy, until, useNodeRed } from '../../support/node-helper';
import { RabbitCluster, shippedRabbitSettings, skipWithoutRabbitMQ } from '../../support/rabbitmq';
import { storeStandIn } from '../../support/store-stand-in';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

useNodeRed();

const CLOUD = { username: 'picam-cloud', password: 'cloud-secret-for-tests' };
/** A camera login with camera_client's rights (what the shared certificate gets on the TLS listener). */
const CAM = { username: 'camera-for-tests', password: 'camera-secret-for-tests' };

describe('amqp-ingest on RabbitMQ', { skip: skipWithoutRabbitMQ }, () => {
  let rabbit: RabbitCluster;
  const consumers: ConsumerRuntime[] = [];
  const cameras: MqttClient[] = [];

  before(async () => {
    rabbit = await RabbitCluster.start({ nodes: 1, settings: [...shippedRabbitSettings(), 'collect_statistics_interval = 500'] });
    await rabbit.loadDefinitions({ [CLOUD.username]: CLOUD.password });
    await rabbit.addUserLike(CAM.username, CAM.password, 'camera_client');
  });
  after(async () => {
    await Promise.all(cameras.map((c) => c.endAsync(true)));
    await Promise.all(consumers.map((c) => c.stop()));
    await rabbit?.stop();
  });

  const camera = async (clientId = CAMERA): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${rabbit.nodes[0]!.mqttPort}`, {
      ...CAM,
      clientId,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    c.on('error', () => undefined); // a refused publish closes the connection: the tests look at that
    cameras.push(c);
    return c;
  };
  const publish = (c: MqttClient, topic: string, body: object) => c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
  const consumer = async (hold = false, prefetch?: number): Promise<ConsumerRuntime> => {
    const c = new ConsumerRuntime({ urls: rabbit.urls(), ...CLOUD, hold, prefetch });
    consumers.push(c);
    await c.ready;
    await waitFor('the consumer connected', async () => (/connected to/.test(c.log) ? true : undefined), 20_000);
    return c;
  };
  // The broker's counts trail by its statistics interval (0.5 s here): empty twice, a second apart.
  const empty = async () => Object.values(await rabbit.queues()).every((x) => x.ready === 0 && x.unacked === 0);
  const drained = () =>
    waitFor(
      'the queues empty and acknowledged',
      async () => ((await empty()) && (await sleep(1000), await empty()) ? true : undefined),
      30_000,
    );
  const ingest = (extra: object = {}) => ({
    id: 'in',
    type: 'amqp-ingest',
    urls: rabbit.urls(),
    prefetch: 50,
    wires: [['store']],
    ...extra,
  });

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
      (await rabbit.queues())['picam.device']!.unacked === 2 ? true : undefined,
    );
    await sleep(1500);
    assert.deepEqual((await rabbit.queues())['picam.device'], { ready: 0, unacked: 2 });
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

  it('delivers what a runtime held when it was killed again, to the next runtime, marked resent', async () => {
    const doomed = await consumer(true);
    const cam = await camera();
    for (let i = 0; i < 3; i++) await publish(cam, topics.status(), heartbeat(1_800_000_100 + i));
    await waitFor('the held messages', async () => (doomed.received.length >= 3 ? true : undefined), 20_000);
    await waitFor('the broker counting them unacknowledged', async () =>
      (await rabbit.queues())['picam.device']!.unacked === 3 ? true : undefined,
    );
    await doomed.kill();

    const next = await consumer();
    await waitFor('the messages again', async () => (next.received.length >= 3 ? true : undefined), 30_000);
    assert.deepEqual(
      next.received.map((r) => [JSON.parse(r.body).timestamp, r.resent]),
      [0, 1, 2].map((i) => [1_800_000_100 + i, true]),
    );
    await drained();
    await next.stop();
  });

  it('shares the device queue between two runtimes, each message to one of them', async () => {
    const [a, b] = [await consumer(false, 5), await consumer(false, 5)];
    const cam = await camera();
    const sent = Array.from({ length: 200 }, (_, i) => 1_800_001_000 + i);
    await Promise.all(sent.map((t) => publish(cam, topics.status(), heartbeat(t))));
    const times = () => [...a!.received, ...b!.received].map((r) => JSON.parse(r.body).timestamp as number);
    await waitFor('every message at one runtime', async () => (times().length >= sent.length ? true : undefined), 30_000);
    await drained();
    assert.deepEqual(
      times().sort((x, y) => x - y),
      sent,
      'each message exactly once',
    );
    assert.ok(a!.received.length > 0 && b!.received.length > 0, `split ${a!.received.length} / ${b!.received.length}`);
    await Promise.all([a!.stop(), b!.stop()]);
  });

  it('gives the connection queue to one runtime at a time, in order, and to the other when it dies', async () => {
    const [first, second] = [await consumer(), await consumer()];
    const cam = await camera();
    const states = (n: number, from: number) => Array.from({ length: n }, (_, i) => (i % 2 ? disconnected(from + i) : connected(from + i)));
    for (const s of states(20, 1_800_002_000)) await publish(cam, topics.connection(), s);
    await waitFor(
      'the connection messages',
      async () => (first!.received.length + second!.received.length >= 20 ? true : undefined),
      20_000,
    );
    await drained();
    const active = first!.received.length > 0 ? first! : second!;
    const standby = active === first ? second! : first!;
    assert.equal(standby.received.length, 0, 'the standby runtime got connection messages');
    assert.deepEqual(
      active.received.map((r) => JSON.parse(r.body).timestamp),
      states(20, 1_800_002_000).map((s) => s.timestamp),
      'in the order the camera sent them',
    );

    await active.kill();
    for (const s of states(4, 1_800_003_000)) await publish(cam, topics.connection(), s);
    await waitFor('the standby took over', async () => (standby.received.length >= 4 ? true : undefined), 30_000);
    assert.deepEqual(
      standby.received.map((r) => JSON.parse(r.body).timestamp),
      states(4, 1_800_003_000).map((s) => s.timestamp),
    );
    await standby.stop();
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
    const model = await amqp.connect(rabbit.amqpUrl(CLOUD.username, CLOUD.password));
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
