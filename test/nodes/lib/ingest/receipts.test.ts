/**
 * Receipts settle only when every node that got the tagged message (or a copy,
 * or a message derived from it that carries the tag) has completed: the basis of
 * "acknowledge after commit" for the broker and the ingest nodes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node, NodeAPI } from 'node-red';
import { messageHooks, ReceiptBook, type ReceiptOutcome } from '../../../../nodes/lib/ingest/receipts';
import { helper, node, useNodeRed } from '../../../support/node-helper';

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
const catchModule = require('@node-red/nodes/core/common/25-catch.js');
const linkModule = require('@node-red/nodes/core/common/60-link.js');

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

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
    assert.deepEqual(settled, { errors: [], retry: false });
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
    assert.equal(outcomes[1]!.retry, false, 'a failure for what the message is: acknowledged, not sent again');
  });

  it('ask for the message again when a node failed it with the store\'s "not now"', async () => {
    const flow = [
      { id: 'in', type: 'test-ingress', wires: [['busy']] },
      {
        id: 'busy',
        type: 'function',
        // What nodes/lib/database-user.ts fails input with while the database cannot open.
        func: 'node.done(Object.assign(new Error("database unavailable"), { code: "PICAM_STORE_UNAVAILABLE" })); return null;',
        outputs: 1,
        wires: [],
      },
    ];
    await helper.load([ingressModule, functionModule] as never, flow);
    let settled: ReceiptOutcome | undefined;
    const msg: Record<string, unknown> = { payload: 1 };
    const id = book!.open(msg, (o) => (settled = o));
    (node('in') as unknown as Node).send(msg);
    book!.sent(id);
    await until(() => settled !== undefined);
    assert.match(settled!.errors.join(), /database unavailable/);
    assert.equal(settled!.retry, true);
  });

  // The shipped flows have a catch node: it gets a copy of a failed message
  // (receive, not a counted delivery) and completes it. That completion must not
  // release a hold that another branch (the store, still writing) has.
  it('are not settled early by a catch node reporting a failed branch', async () => {
    const flow = [
      { id: 'tab', type: 'tab' },
      { id: 'in', type: 'test-ingress', z: 'tab', x: 0, y: 0, wires: [['bad', 'slow']] },
      {
        id: 'bad',
        type: 'function',
        z: 'tab',
        x: 0,
        y: 0,
        func: 'node.done(new Error("cannot alert")); return null;',
        outputs: 1,
        wires: [],
      },
      {
        id: 'slow',
        type: 'function',
        z: 'tab',
        x: 0,
        y: 0,
        func: 'setTimeout(() => node.done(), 300); return null;',
        outputs: 1,
        wires: [],
      },
      { id: 'catch', type: 'catch', z: 'tab', x: 0, y: 0, scope: null, uncaught: false, wires: [['shown']] },
      { id: 'shown', type: 'function', z: 'tab', x: 0, y: 0, func: 'return null;', outputs: 1, wires: [] },
    ];
    await helper.load([ingressModule, functionModule, catchModule] as never, flow);
    let caught = 0;
    node('shown').on('input', () => caught++);
    let settled: ReceiptOutcome | undefined;
    const msg: Record<string, unknown> = { payload: 1 };
    const id = book!.open(msg, (o) => (settled = o));
    (node('in') as unknown as Node).send(msg);
    book!.sent(id);
    await until(() => caught > 0);
    assert.equal(caught, 1, 'the catch node saw the failure');
    assert.equal(settled, undefined, 'settled while the slow branch was still at work');
    await until(() => settled !== undefined);
    assert.match(settled!.errors.join(), /cannot alert/);
    assert.equal(book!.inFlight, 0);
  });

  it('settle after the nodes behind a link out / link in pair complete', async () => {
    const flow = [
      { id: 'tab', type: 'tab' },
      { id: 'in', type: 'test-ingress', z: 'tab', x: 0, y: 0, wires: [['out']] },
      { id: 'out', type: 'link out', z: 'tab', x: 0, y: 0, mode: 'link', links: ['to-slow'], wires: [] },
      { id: 'to-slow', type: 'link in', z: 'tab', x: 0, y: 0, links: ['out'], wires: [['slow']] },
      {
        id: 'slow',
        type: 'function',
        z: 'tab',
        x: 0,
        y: 0,
        func: 'setTimeout(() => node.done(), 200); return null;',
        outputs: 1,
        wires: [],
      },
    ];
    await helper.load([ingressModule, functionModule, linkModule] as never, flow);
    let settled: ReceiptOutcome | undefined;
    let slowGot = false;
    node('slow').on('input', () => (slowGot = true));
    const msg: Record<string, unknown> = { payload: 1 };
    const id = book!.open(msg, (o) => (settled = o));
    (node('in') as unknown as Node).send(msg);
    book!.sent(id);
    await until(() => slowGot);
    assert.equal(settled, undefined, 'settled before the node behind the link pair completed');
    await until(() => settled !== undefined);
    assert.deepEqual(settled, { errors: [], retry: false });
  });
});
