/**
 * mqtt-ingest's acknowledgement window: PUBACKs only for settled messages, in
 * arrival order, never on a later connection, and a flood held at the cap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckWindow } from '../../../nodes/mqtt-ingest/ack-window';

describe('AckWindow', () => {
  it('acknowledges settled messages in the order they arrived', () => {
    const acks: number[] = [];
    const w = new AckWindow({ cap: 10, ack: (id) => acks.push(id) });
    const [a, b, c] = [w.receive(1, 1), w.receive(1, 2), w.receive(0)];
    w.settle(b);
    assert.deepEqual(acks, [], 'the second waits for the first');
    w.settle(a);
    assert.deepEqual(acks, [1, 2]);
    w.settle(c);
    assert.deepEqual(acks, [1, 2], 'QoS 0 has no acknowledgement');
    assert.equal(w.inFlight, 0);
  });

  it('never acknowledges on a new connection what the old one delivered', () => {
    const acks: number[] = [];
    const w = new AckWindow({ cap: 10, ack: (id) => acks.push(id) });
    const old = w.receive(1, 7);
    w.connectionLost();
    const fresh = w.receive(1, 7); // the broker redelivers under the same id
    w.settle(old);
    w.settle(fresh);
    assert.deepEqual(acks, [7], 'one PUBACK, for the redelivery');
  });

  it('holds a flood at the cap until messages are acknowledged', () => {
    const w = new AckWindow({ cap: 100, ack: () => undefined });
    const open: ReturnType<AckWindow['receive']>[] = [];
    let taken = 0;
    // The MQTT client asks for room after each message and reads the next only when given it.
    const take = () => {
      if (taken >= 10_000) return;
      open.push(w.receive(1, taken++));
      w.whenRoom(take);
    };
    take();
    assert.equal(taken, 100, 'stops reading at the cap');
    assert.equal(w.inFlight, 100);
    for (const d of open.splice(0, 50)) w.settle(d);
    assert.equal(w.inFlight, 100, 'reads again as acknowledgements make room, never past the cap');
    assert.equal(taken, 150);
  });
});
