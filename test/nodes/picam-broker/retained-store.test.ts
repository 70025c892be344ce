/**
 * Retained messages in a topic tree (nodes/picam-broker/retained-store.ts): a
 * device's SUBSCRIBE looks at its own topics, not at every retained message of
 * the fleet; wildcard subscriptions still get every match; the per-device rule
 * still decides who gets what. The tree against a brute-force match of every
 * topic with every filter (access.ts's topicMatches), then through the real
 * picam-broker node with real MQTT.js clients.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PublishPacket } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { localBroker } from '../../../nodes/lib/mqtt/local-broker';
import { topicMatches } from '../../../nodes/picam-broker/access';
import type { PicamBroker } from '../../../nodes/picam-broker/broker';
import brokerNode from '../../../nodes/picam-broker/picam-broker';
import { RetainedTree, type RetainedPersistence } from '../../../nodes/picam-broker/retained-store';
import { freePort } from '../../support/ports';
import { helper, until, useNodeRed } from '../../support/node-helper';

const packet = (topic: string, payload = 'x'): PublishPacket => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  retain: true,
  dup: false,
});
const topicsOf = (packets: PublishPacket[]) => packets.map((p) => p.topic).sort();

describe('RetainedTree', () => {
  const topics = [
    'a',
    'a/b',
    'a/b/c',
    'a//c',
    'a/x/c',
    '/a',
    '$SYS/broker/x',
    'prod/device/connection/picam/pi1',
    'prod/honeycomb/pi1/system/setmode',
  ];
  const filters = ['#', '+', 'a/#', 'a/+', 'a/+/c', '+/+/c', '+/#', '$SYS/#', '/+', 'a/b/c/#', 'a/b/c/d', 'prod/honeycomb/pi1/#', 'x/#'];

  it('matches what MQTT says each filter matches, $-topics only for filters that name them', () => {
    const tree = new RetainedTree();
    for (const t of topics) tree.store(packet(t));
    for (const f of filters) {
      const expected = topics.filter((t) => topicMatches(f, t)).sort();
      assert.deepEqual(topicsOf(tree.match([f])), expected, `filter ${f}`);
    }
  });

  it('keeps one message per topic, removes it on an empty payload and prunes the emptied levels', () => {
    const tree = new RetainedTree();
    tree.store(packet('a/b/c', 'one'));
    tree.store(packet('a/b/c', 'two'));
    tree.store(packet('a/b', 'kept'));
    assert.equal(tree.size, 2);
    assert.deepEqual(
      tree.match(['a/b/c']).map((p) => p.payload.toString()),
      ['two'],
    );
    tree.store(packet('a/b/c', ''));
    tree.store(packet('a/never', '')); // removing what is not there changes nothing
    assert.equal(tree.size, 1);
    assert.deepEqual(topicsOf(tree.match(['#'])), ['a/b']);
    tree.store(packet('a/b', ''));
    assert.equal(tree.size, 0);
    const empty = new RetainedTree();
    empty.match(['#']);
    tree.visited = 0;
    tree.match(['#']);
    assert.equal(tree.visited, empty.visited, 'nothing but the root is left');
  });

  it('gives a message matching several filters once', () => {
    const tree = new RetainedTree();
    tree.store(packet('a/b'));
    assert.equal(tree.match(['a/b', 'a/+', '#']).length, 1);
  });

  it("looks at a device's own levels only, however many devices have retained messages", () => {
    const tree = new RetainedTree();
    for (let i = 0; i < 5000; i++) {
      tree.store(packet(`prod/device/connection/picam/pi${i}`));
      tree.store(packet(`prod/honeycomb/pi${i}/system/setmode`));
    }
    tree.visited = 0;
    assert.deepEqual(topicsOf(tree.match(['prod/honeycomb/pi42/#'])), ['prod/honeycomb/pi42/system/setmode']);
    assert.ok(tree.visited <= 8, `visited ${tree.visited} levels`);
  });
});

describe('picam-broker: retained messages', () => {
  useNodeRed();
  const LOGIN = { username: 'devices', password: 'broker-secret-for-tests' };
  const DEVICES = 300;

  it('delivers a device its own retained commands without looking at the fleet’s, wildcards everything, other devices’ nothing', async () => {
    const port = await freePort();
    const flow = [
      { id: 'b', type: 'picam-broker', bind: '127.0.0.1', port, wsPort: '', prefix: 'prod', topic: 'prod/device/#', wires: [[]] },
    ];
    await helper.load([brokerNode] as never, flow, { b: LOGIN });
    await until('the broker to listen', () => localBroker('b'), 5000);
    const broker = localBroker('b') as PicamBroker;
    const tree = ((broker.aedes as unknown as { persistence: unknown }).persistence as RetainedPersistence & { retained: RetainedTree })
      .retained;
    for (let i = 0; i < DEVICES; i++) {
      await broker.publish(`prod/honeycomb/pi${i}/system/setmode`, Buffer.from(`{"mode":"ARMED","n":${i}}`), { qos: 1, retain: true });
    }
    const clients: MqttClient[] = [];
    const connect = async (clientId: string) => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { ...LOGIN, clientId, reconnectPeriod: 0 });
      clients.push(c);
      const heard: string[] = [];
      c.on('message', (topic, payload, p) => heard.push(`${topic} ${payload.toString()} ${p.retain}`));
      return { c, heard };
    };
    try {
      // A Pi's own commands: its one retained message, the store looking at a few levels, not 300 messages.
      const pi = await connect('pi7');
      tree.visited = 0;
      const granted = await pi.c.subscribeAsync('prod/honeycomb/pi7/#', { qos: 1 });
      assert.equal(granted[0]!.qos, 1);
      await until('pi7 gets its retained command', () => pi.heard.length === 1 || undefined, 5000);
      assert.deepEqual(pi.heard, ['prod/honeycomb/pi7/system/setmode {"mode":"ARMED","n":7} true']);
      assert.ok(tree.visited < 10, `the SUBSCRIBE looked at ${tree.visited} levels`);

      // Another device's commands: refused (SUBACK 0x80), and none of its retained messages delivered.
      await assert.rejects(
        pi.c.subscribeAsync('prod/honeycomb/pi8/#', { qos: 1 }),
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] === 128,
      );

      // The runtime's wildcard gets every device's; a Pi's retained online message is stored, and cleared.
      await pi.c.publishAsync('prod/device/connection/picam/pi7', '{"status":"connected"}', { qos: 1, retain: true });
      const runtime = await connect('picam-guardian-test-retained');
      await runtime.c.subscribeAsync(['prod/honeycomb/+/system/setmode', 'prod/device/connection/#'], { qos: 1 });
      await until('the runtime gets every retained message', () => runtime.heard.length === DEVICES + 1 || undefined, 10_000);
      assert.ok(runtime.heard.includes('prod/device/connection/picam/pi7 {"status":"connected"} true'));
      await pi.c.publishAsync('prod/device/connection/picam/pi7', '', { qos: 1, retain: true });
      // One SUBSCRIBE, one stream of retained messages: once pi7's command came, a connection message would have too.
      const late = await connect('picam-guardian-test-late');
      await late.c.subscribeAsync(['prod/device/connection/#', 'prod/honeycomb/pi7/#'], { qos: 1 });
      await until('the late client gets pi7’s command', () => late.heard.length > 0 || undefined, 5000);
      assert.deepEqual(late.heard, ['prod/honeycomb/pi7/system/setmode {"mode":"ARMED","n":7} true'], 'the cleared message is gone');
      assert.deepEqual(pi.heard.length, 1, 'pi7 heard nothing of pi8');
    } finally {
      await Promise.all(clients.map((c) => c.endAsync()));
    }
  });
});
