/**
 * The cluster role's promise, on a real 3-node RabbitMQ cluster with the shipped definitions:
 * a broker node killed with SIGKILL while cameras publish QoS 1 loses no message any camera had
 * acknowledged. The cameras connect through HAProxy with the shipped haproxy.cfg (spread over the
 * three nodes); the node killed is the one the consuming runtime is connected to and some of the
 * cameras: those reconnect through HAProxy to the nodes left, amqp-ingest fails over to the next
 * URL, and the quorum queues go on with two nodes of three. Counted: every message a camera got a PUBACK for
 * must reach the runtime's store stand-in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { ConsumerRuntime } from '../support/amqp-consumer';
import { heartbeat, topics } from '../support/fixtures';
import { Haproxy, skipWithoutHaproxy } from '../support/haproxy';
import { RabbitCluster, skipWithoutRabbitMQ } from '../support/rabbitmq';
import { freePort } from '../support/ports';
import { descendantsOf } from '../support/processes';
import { waitFor } from '../support/wait';

const CLOUD = { username: 'picam-cloud', password: 'cloud-secret-for-tests' };
const CAM = { username: 'camera-for-tests', password: 'camera-secret-for-tests' };
/** VBC01 ids: 32 upper-case hex digits */
const CAMERAS = Array.from({ length: 5 }, (_, i) => `${'C0FFEE'}${String(i).padStart(26, '0')}`);
const PER_CAMERA = 600;
/** A publish not acknowledged within this is not counted (nor expected): the camera would send it again. */
const PUBLISH_TIMEOUT_MS = 30_000;

describe('a 3-node RabbitMQ cluster with a node killed mid-publish', { skip: skipWithoutRabbitMQ || skipWithoutHaproxy }, () => {
  let rabbit: RabbitCluster;
  let haproxy: Haproxy | undefined;
  let runtime: ConsumerRuntime | undefined;
  const cameras: MqttClient[] = [];

  before(async () => {
    rabbit = await RabbitCluster.start({ nodes: 3 });
    console.log(`3-node cluster formed in ${rabbit.startMs} ms`);
    await rabbit.loadDefinitions({ [CLOUD.username]: CLOUD.password });
    await rabbit.addUserLike(CAM.username, CAM.password, 'camera_client');
    haproxy = await Haproxy.start({ brokers: rabbit.nodes.map((n) => n.mqttPort), runtimes: [await freePort(), await freePort()] });
  });
  after(async () => {
    await Promise.all(cameras.map((c) => c.endAsync(true)));
    await runtime?.stop();
    await haproxy?.stop();
    await rabbit?.stop();
  });

  it('loses no acknowledged message; the cameras and the runtime move to the nodes left', async () => {
    const members = JSON.parse(await rabbit.ctl(['list_queues', '-p', 'picam', 'name', 'members', '--formatter', 'json'])) as Array<{
      name: string;
      members: string[];
    }>;
    for (const q of members) assert.equal(q.members.length, 3, `${q.name} is replicated on every node`);

    runtime = new ConsumerRuntime({ urls: rabbit.urls(0), ...CLOUD, prefetch: 200 });
    await runtime.ready;
    await waitFor(
      'the runtime connected to node 0',
      async () => (runtime!.log.includes(`:${rabbit.nodes[0]!.amqpPort}/picam`) ? true : undefined),
      20_000,
    );

    await waitFor('HAProxy seeing the three nodes up', async () => {
      const s = await haproxy!.serverStates();
      return [1, 2, 3].every((i) => s[`rabbitmq_mqtt/broker-${i}`] === 'UP') ? true : undefined;
    });
    for (const id of CAMERAS) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${haproxy!.ports.mqtt}`, {
        ...CAM,
        clientId: id,
        protocolVersion: 4,
        reconnectPeriod: 300,
        connectTimeout: 5000,
      });
      c.on('error', () => undefined); // the node's death shows as errors and reconnects
      cameras.push(c);
    }

    const acked = new Set<string>();
    let failed = 0;
    const publishOne = async (c: MqttClient, id: string, t: number) => {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no PUBACK')), PUBLISH_TIMEOUT_MS).unref());
      try {
        await Promise.race([c.publishAsync(topics.status(id), JSON.stringify(heartbeat(t)), { qos: 1 }), timeout]);
        acked.add(`${id}/${t}`);
      } catch {
        failed++;
      }
    };
    const base = 1_800_000_000;
    let killed = false;
    let ackedAtKill = 0;
    for (let round = 0; round < PER_CAMERA / 50; round++) {
      // Fifty per camera at a time, all five cameras together.
      await Promise.all(cameras.flatMap((c, i) => Array.from({ length: 50 }, (_, k) => publishOne(c, CAMERAS[i]!, base + round * 50 + k))));
      if (!killed && acked.size >= 1000) {
        // Mid-traffic: the next round is already under way when the node dies.
        killed = true;
        ackedAtKill = acked.size;
        setTimeout(() => void rabbit.kill(0), 20);
      }
    }
    assert.ok(killed, 'the node was killed during the publishing');

    const missing = () => [...acked].filter((k) => !received.has(k));
    const received = new Set<string>();
    const collect = () => {
      for (const r of runtime!.received) received.add(`${r.topic.split('/')[4]}/${JSON.parse(r.body).timestamp}`);
    };
    await waitFor(
      'every acknowledged message at the runtime',
      async () => {
        collect();
        return missing().length === 0 ? true : undefined;
      },
      60_000,
    ).catch(() => undefined);
    collect();
    console.log(
      `published ${CAMERAS.length * PER_CAMERA}, acknowledged ${acked.size}, not acknowledged ${failed}, received ${received.size} (${runtime.received.length} deliveries)`,
    );
    assert.deepEqual(missing(), [], 'acknowledged messages lost');
    assert.ok(acked.size > ackedAtKill + 1000, `messages acknowledged after the kill: ${acked.size - ackedAtKill}`);
    assert.match(
      runtime.log,
      new RegExp(`connected to 127\\.0\\.0\\.1:(${rabbit.nodes[1]!.amqpPort}|${rabbit.nodes[2]!.amqpPort})/picam`),
      'the runtime failed over to a node left',
    );
  });

  it('stops every node and the epmd it started, leaving no Erlang process behind', async () => {
    const erlang = () =>
      descendantsOf(process.pid).filter((pid) => {
        try {
          return ['beam.smp', 'epmd', 'erl_child_setup'].includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
        } catch {
          return false; // gone meanwhile
        }
      });
    assert.ok(erlang().length >= 3, 'the two nodes left and the epmd run before the stop');
    await rabbit.stop();
    assert.deepEqual(erlang(), []);
  });
});
