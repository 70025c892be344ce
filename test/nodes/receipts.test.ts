/**
 * Receipts settle only when every node that got the tagged message (or a copy,
 * or a message derived from it that carries the tag) has completed: the basis of
 * "acknowledge after commit" for the broker and the ingest nodes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node, NodeAPI } from 'node-red';
import { messageHooks, ReceiptBook, type ReceiptOutcome } from '../../nodes/lib/ingest/receipts';
import { helper, node, useNodeRed } from './support';

let book: ReceiptBook | undefined;
// A minimal ingress: each input becomes a new tagged message sent downstream.
function ingressModule(RED: NodeAPI) {
  RED.nodes.registerType('test-ingress', function (this: Node, def: object) {
    RED.nodes.createNode(this, def as never);
    book = new ReceiptBook(messageHooks(RED));
    this.on('close', () => book?.close());
  } as never);
}
const functionModule = require('@node-red/nodes/core/function/10-function.js');
const switchModule = require('@node-red/nodes/core/function/10-switch.js');

describe('receipts', () => {
  useNodeRed();

  it('settle after the slowest node downstream completes, through clones and a switch that drops', async () => {
    const flow = [
      { id: 'in', type: 'test-ingress', wires: [['slow', 'drop']] },
      // "commits" 150 ms after receiving, like a store waiting for its transaction
      {
        id: 'slow',
        type: 'function',
        func: 'setTimeout(() => { node.send(msg); node.done(); }, 150); return null;',
        outputs: 1,
        wires: [['after']],
      },
      { id: 'after', type: 'function', func: 'return null;', outputs: 1, wires: [] },
      {
        id: 'drop',
        type: 'switch',
        property: 'payload',
        rules: [{ t: 'eq', v: 'never', vt: 'str' }],
        checkall: 'true',
        outputs: 1,
        wires: [[]],
      },
    ];
    await helper.load([ingressModule, functionModule, switchModule] as never, flow);
    const ingress = node('in') as unknown as Node;
    let settled: ReceiptOutcome | undefined;
    const msg: Record<string, unknown> = { payload: 'x' };
    const id = book!.open(msg, (o) => (settled = o));
    ingress.send(msg);
    book!.sent(id);
    assert.equal(book!.inFlight, 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, undefined, 'settled before the slow node completed');
    const deadline = Date.now() + 5000;
    while (!settled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(settled, { errors: [] });
    assert.equal(book!.inFlight, 0);
  });

  it('settle at once with nothing wired, and report a node error', async () => {
    const flow = [
      { id: 'in', type: 'test-ingress', wires: [['bad']] },
      { id: 'bad', type: 'function', func: 'node.done(new Error("cannot store")); return null;', outputs: 1, wires: [] },
    ];
    await helper.load([ingressModule, functionModule] as never, flow);
    const outcomes: ReceiptOutcome[] = [];
    const lone: Record<string, unknown> = {};
    book!.sent(book!.open(lone, (o) => outcomes.push(o))); // never sent: nothing holds it
    assert.equal(outcomes.length, 1);
    const msg: Record<string, unknown> = { payload: 1 };
    const id = book!.open(msg, (o) => outcomes.push(o));
    (node('in') as unknown as Node).send(msg);
    book!.sent(id);
    const deadline = Date.now() + 5000;
    while (outcomes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(outcomes.length, 2);
    assert.match(outcomes[1]!.errors.join(), /cannot store/);
  });
});
