/**
 * picam-broker's per-turn write batching: what aedes writes to one connection in
 * one event-loop turn (a committed batch's PUBACKs) reaches the socket as one
 * write, in order, on the next turn; callbacks run once the bytes are written.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Duplex } from 'node:stream';
import { writeOncePerTurn } from '../../../nodes/picam-broker/write-batch';

/** A stream that records each write that reaches it (one entry per write or writev). */
function recordingStream() {
  const writes: Buffer[] = [];
  const stream = new Duplex({
    read: () => undefined,
    write: (chunk: Buffer, _enc, cb) => {
      writes.push(chunk);
      cb();
    },
    writev: (chunks, cb) => {
      writes.push(Buffer.concat(chunks.map((c) => c.chunk as Buffer)));
      cb();
    },
  });
  return { stream, writes };
}

const puback = (id: number) => Buffer.from([0x40, 0x02, id >> 8, id & 0xff]);
const nextTurn = () => new Promise((r) => setImmediate(r));

describe('write batching per turn', () => {
  it('hands one turn of PUBACKs to the stream as one write, in order', async () => {
    const { stream, writes } = recordingStream();
    writeOncePerTurn(stream);
    const acked: number[] = [];
    // As ingest-gate hands settled receipts back: each on its own setImmediate, with ticks between.
    for (let id = 1; id <= 5; id++) setImmediate(() => stream.write(puback(id), () => acked.push(id)));
    await nextTurn();
    assert.equal(writes.length, 0, 'nothing written within the turn');
    await nextTurn();
    await nextTurn();
    assert.equal(writes.length, 1, 'one write for the turn');
    assert.deepEqual(writes[0], Buffer.concat([1, 2, 3, 4, 5].map(puback)));
    assert.deepEqual(acked, [1, 2, 3, 4, 5]);
  });

  it('writes a later turn separately: nothing waits longer than one turn', async () => {
    const { stream, writes } = recordingStream();
    writeOncePerTurn(stream);
    stream.write(puback(1));
    await nextTurn();
    await nextTurn();
    stream.write(puback(2));
    await nextTurn();
    await nextTurn();
    assert.deepEqual(writes, [puback(1), puback(2)]);
  });

  it('sends every byte over a real socket, written before the connection ends', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client = connect(port, '127.0.0.1');
    const [conn] = await accepted;
    writeOncePerTurn(conn);
    const received: Buffer[] = [];
    client.on('data', (b: Buffer) => received.push(b));
    for (let id = 1; id <= 100; id++) conn.write(puback(id));
    conn.end();
    await once(client, 'end');
    assert.deepEqual(Buffer.concat(received), Buffer.concat(Array.from({ length: 100 }, (_, i) => puback(i + 1))));
    client.destroy();
    server.close();
  });
});
