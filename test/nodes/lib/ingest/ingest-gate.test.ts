/**
 * The ingest gate's two limits: at most `maxInFlight` messages in the flow, and at most
 * `maxWaiting` beyond them before it has no room (the broker then stops reading devices'
 * sockets). The broker keeps one batch waiting: enough to refill the flow when a batch settles.
 * The receipts here are settled by the test, as the flow would after its commit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IngestGate, type GateOutput } from '../../../../nodes/lib/ingest/ingest-gate';
import type { ReceiptBook, Settle } from '../../../../nodes/lib/ingest/receipts';
import type { DeviceMessage } from '../../../../nodes/lib/types';

function gateOf(maxInFlight: number, maxBatch: number, maxWaiting?: number) {
  const settles: Settle[] = [];
  const book = { open: (_msg: unknown, settle: Settle) => String(settles.push(settle)), sent: () => undefined, close: () => undefined };
  const sent: GateOutput[] = [];
  const gate = new IngestGate(book as unknown as ReceiptBook, (m) => sent.push(m), maxInFlight, maxBatch, maxWaiting);
  let rooms = 0;
  gate.onRoom(() => rooms++);
  const admit = (n: number) => {
    for (let i = 0; i < n; i++) gate.admit({ topic: 't', payload: Buffer.from('{}'), qos: 1, retain: false, clientId: 'c' } as DeviceMessage, () => undefined);
  };
  return { gate, settles, sent, admit, rooms: () => rooms };
}

describe('ingest gate', () => {
  it('has no room once maxWaiting wait beyond the flow, and room again when a batch settles', () => {
    const g = gateOf(4, 2, 2);
    g.admit(4); // two full batches, sent at once
    assert.equal(g.sent.length, 2);
    assert.equal(g.gate.inFlight, 4);
    g.admit(1);
    assert.deepEqual([g.gate.held, g.gate.hasRoom], [1, true]);
    g.admit(1);
    assert.deepEqual([g.gate.held, g.gate.hasRoom], [2, false], 'one batch waiting: the broker stops reading');
    g.settles[0]!({ errors: [], retry: false });
    assert.deepEqual([g.gate.held, g.gate.hasRoom, g.gate.inFlight], [0, true, 4], 'the waiting batch refills the flow');
    assert.equal(g.rooms(), 1);
  });

  it('keeps as many waiting as may be in flight unless told (amqp-ingest)', () => {
    const g = gateOf(4, 2);
    g.admit(4 + 3);
    assert.deepEqual([g.gate.held, g.gate.hasRoom], [3, true]);
    g.admit(1);
    assert.deepEqual([g.gate.held, g.gate.hasRoom], [4, false]);
  });
});
