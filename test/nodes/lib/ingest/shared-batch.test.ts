/**
 * A committed batch goes to every wire of an output frozen and shared, each wire with its own
 * envelope, instead of one deep copy per wire; anything else is still copied per wire.
 * A real Node-RED runtime (node-red-node-test-helper), a link out to two link ins as in the
 * cloud flow (the store's records to the dashboard feed and the recorder).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import { messageHooks } from '../../../../nodes/lib/ingest/receipts';
import { shareReadOnly, useSharedBatches } from '../../../../nodes/lib/ingest/shared-batch';
import { helper, node, until, useNodeRed } from '../../../support/node-helper';

const linkModule = require('@node-red/nodes/core/common/60-link.js');

const got = new Map<string, NodeMessageInFlow[]>();
function testModule(RED: NodeAPI) {
  // Sends what it is given, its payload shared when msg.share is set (as the store does after COMMIT).
  RED.nodes.registerType('test-batch-source', function (this: Node, def: object) {
    RED.nodes.createNode(this, def as never);
    const stop = useSharedBatches(messageHooks(RED));
    const onInput = (msg: NodeMessageInFlow & { share?: boolean }, send: (m: object) => void, done: () => void) => {
      const share = msg.share;
      delete msg.share;
      if (share) shareReadOnly(msg.payload as object[]);
      send(msg);
      done();
    };
    this.on('input', onInput as never);
    this.on('close', stop);
  } as never);
  RED.nodes.registerType('test-capture', function (this: Node, def: object) {
    RED.nodes.createNode(this, def as never);
    this.on('input', (msg: NodeMessageInFlow) => got.set(this.id, [...(got.get(this.id) ?? []), msg]));
  } as never);
}

const flow = [
  { id: 'src', type: 'test-batch-source', wires: [['out']] },
  { id: 'out', type: 'link out', mode: 'link', links: ['inA', 'inB'], wires: [] },
  { id: 'inA', type: 'link in', wires: [['a']] },
  { id: 'inB', type: 'link in', wires: [['b']] },
  { id: 'a', type: 'test-capture', wires: [] },
  { id: 'b', type: 'test-capture', wires: [] },
];

async function deliver(msg: Record<string, unknown>): Promise<[NodeMessageInFlow, NodeMessageInFlow]> {
  got.clear();
  node('src').receive(msg as never);
  await until('both branches got it', () => got.get('a')?.length === 1 && got.get('b')?.length === 1);
  return [got.get('a')![0]!, got.get('b')![0]!];
}

const records = () => [
  { kind: 'sensor', deviceId: 'pi0001', timeMs: 1, temperature: 21.5 },
  { kind: 'activity-start', deviceId: 'cam1', timeMs: 2, eventId: 'e1', activityType: 'MOTION', region: { x: 1 } },
];

describe('shared batches', () => {
  useNodeRed();

  it('reach both branches as one frozen payload, each with its own envelope', async () => {
    await helper.load([testModule, linkModule] as never, flow);
    const [a, b] = await deliver({ topic: 'records', payload: records(), _ingest: 'r-1', share: true });
    assert.equal(a.payload, b.payload, 'the same records, not a copy');
    assert.deepEqual(a.payload, records());
    assert.notEqual(a, b, 'each branch has its own message');
    assert.equal(a._msgid, b._msgid);
    assert.equal((b as { _ingest?: string })._ingest, 'r-1', 'the receipt travels on');
    (a as { topic?: string }).topic = 'changed in A';
    assert.equal(b.topic, 'records', "one branch's envelope is not the other's");
    const first = (a.payload as Array<{ temperature: number; region?: { x: number } }>)[0]!;
    assert.throws(() => {
      first.temperature = 99;
    }, TypeError);
    assert.throws(() => (a.payload as unknown[]).push({}), TypeError);
    assert.ok(Object.isFrozen((a.payload as Array<{ region?: object }>)[1]!.region), 'nested objects too');
  });

  it('still copies per branch what is not shared: a plain payload, binary data, an object in the envelope', async () => {
    await helper.load([testModule, linkModule] as never, flow);
    const [a, b] = await deliver({ topic: 'records', payload: records() });
    assert.notEqual(a.payload, b.payload, 'not shared: copied');
    assert.equal(Object.isFrozen(a.payload), false);

    const withImage = [{ kind: 'thumbnail', deviceId: 'cam1', image: Buffer.from([1, 2, 3]) }];
    const [c, d] = await deliver({ topic: 'records', payload: withImage, share: true });
    assert.notEqual(c.payload, d.payload, 'a Buffer cannot be frozen: copied');
    assert.equal(Object.isFrozen(withImage[0]), false, 'and nothing of it frozen');

    const [e, f] = await deliver({ topic: 'records', payload: records(), share: true, extra: { n: 1 } });
    assert.notEqual((e as { extra?: object }).extra, (f as { extra?: object }).extra, 'an object in the envelope: copied');
  });
});
