/** picam-broker's back-pressure on device sockets: who is read, and how many reads a freed gate asks for at once. */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { ONE_READ, READ_AHEAD_BYTES, ReadThrottle } from '../../../nodes/picam-broker/read-throttle';

const turn = () => new Promise((r) => setImmediate(r));

/**
 * A device connection as aedes uses it: it reads on 'readable' and keeps what it parsed.
 * `socketReads` counts the times the stream asked its socket for bytes.
 */
function connection(throttle: ReadThrottle, isDevice = true) {
  const conn = Object.assign(
    new Duplex({
      readableHighWaterMark: 1, // as packet-limit.ts's
      read: () => conn.socketReads++,
      write: (_chunk, _enc, callback) => callback(),
    }),
    { socketReads: 0, parsed: [] as string[] },
  );
  throttle.throttle(conn, () => isDevice);
  conn.on('readable', () => {
    for (let chunk = conn.read() as Buffer | null; chunk; chunk = conn.read() as Buffer | null) conn.parsed.push(chunk.toString());
  });
  return conn;
}

const socketReads = (conns: Array<{ socketReads: number }>) => conns.reduce((n, c) => n + c.socketReads, 0);

describe('read throttle', () => {
  it('reads ahead for parked devices up to its allowance only, and asks a few sockets a turn once there is room', async () => {
    let room = true;
    const throttle = new ReadThrottle(() => room);
    const conns = Array.from({ length: 200 }, () => connection(throttle));
    // Half of them asked while there was room, and the gate filled before their sockets were
    // read (aedes parsed the read before); the other half asked once it was full.
    conns.slice(0, 100).forEach((conn) => conn.read(0));
    room = false;
    conns.slice(100).forEach((conn) => conn.read(0));
    await turn();
    const allowance = READ_AHEAD_BYTES / ONE_READ;
    assert.equal(socketReads(conns), allowance, `${allowance} reads ahead (a read is up to 64 KiB), no more`);
    assert.equal(throttle.parkedCount, 200 - allowance);

    room = true;
    throttle.wake();
    const perTurn: number[] = [];
    while (socketReads(conns) < 200 && perTurn.length < 20) {
      const before = socketReads(conns);
      await turn();
      perTurn.push(socketReads(conns) - before);
    }
    assert.equal(socketReads(conns), 200, 'every device read again');
    assert.equal(throttle.parkedCount, 0);
    assert.ok(Math.max(...perTurn) <= 32, `socket reads asked for in one turn: ${perTurn.join(', ')}`);
    assert.ok(perTurn.filter((n) => n > 0).length >= 4, `spread over turns: ${perTurn.join(', ')}`);
  });

  it('counts what parked devices hold against the allowance', async () => {
    let room = true;
    const throttle = new ReadThrottle(() => room, 4 * ONE_READ);
    const big = connection(throttle);
    big.read(0); // asked with room: its socket is read
    room = false;
    big.push(Buffer.alloc(3 * ONE_READ)); // a large read arrived while the gate was full: held
    await turn();
    assert.deepEqual(big.parsed, []);
    const others = Array.from({ length: 3 }, () => connection(throttle));
    others.forEach((conn) => conn.read(0));
    await turn();
    assert.deepEqual(
      others.map((c) => c.socketReads),
      [1, 0, 0],
      'one more read fits beside the 192 KiB held',
    );
  });

  it('lets a device that already holds bytes parse them before others ask their sockets for more', async () => {
    let room = false;
    const throttle = new ReadThrottle(() => room, 0); // nothing read ahead
    const waiting = connection(throttle);
    const holding = connection(throttle);
    holding.push(Buffer.from('packets'));
    await turn();
    assert.deepEqual(holding.parsed, [], 'refused while the gate is full');
    assert.equal(throttle.parkedCount, 2);

    const order: string[] = [];
    holding.once('readable', () => order.push('holding parses'));
    const read = waiting._read.bind(waiting);
    waiting._read = (size) => {
      order.push('waiting asks its socket');
      read(size);
    };
    room = true;
    throttle.wake();
    await turn();
    assert.deepEqual(order, ['holding parses', 'waiting asks its socket']);
    assert.deepEqual(holding.parsed, ['packets']);
    assert.equal(waiting.socketReads, 1);
  });

  it('reads a connection that is not a logged-in device whatever the gate says', async () => {
    const throttle = new ReadThrottle(() => false);
    const conn = connection(throttle, false);
    conn.push(Buffer.from('CONNECT'));
    await turn();
    assert.deepEqual(conn.parsed, ['CONNECT']);
    assert.equal(conn.socketReads, 1, 'and its socket asked for more');
    assert.equal(throttle.parkedCount, 0);
  });
});
