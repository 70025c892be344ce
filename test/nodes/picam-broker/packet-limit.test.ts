/** The MQTT fixed-header reader behind picam-broker's packet size cap, fed the way TCP delivers: in any split. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { limitPacketSize, PacketSizeCheck } from '../../../nodes/picam-broker/packet-limit';

/** A PUBLISH packet of `bodyBytes` after its fixed header. */
function packet(bodyBytes: number): Buffer {
  const length: number[] = [];
  let n = bodyBytes;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    length.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...length]), Buffer.alloc(bodyBytes, 7)]);
}

const feed = (check: PacketSizeCheck, bytes: Buffer, step: number) => {
  for (let i = 0; i < bytes.length; i += step) {
    const why = check.check(bytes.subarray(i, i + step));
    if (why) return why;
  }
  return undefined;
};

describe('packet size check', () => {
  it('lets a stream of packets at and under the limit through, however it is split', () => {
    const stream = Buffer.concat([packet(0), packet(127), packet(128), packet(16_383), packet(16_384), packet(1000), packet(0)]);
    for (const step of [1, 2, 3, 7, 100, stream.length])
      assert.equal(feed(new PacketSizeCheck(16_384), stream, step), undefined, `step ${step}`);
  });

  it('refuses the first packet over the limit, also when its length bytes arrive one at a time', () => {
    const stream = Buffer.concat([packet(10), packet(16_385).subarray(0, 8)]);
    for (const step of [1, 3, stream.length]) {
      assert.equal(feed(new PacketSizeCheck(16_384), stream, step), 'a packet of 16385 bytes (at most 16384)', `step ${step}`);
    }
  });

  it('refuses a length with a fifth continuation byte (malformed)', () => {
    assert.equal(new PacketSizeCheck(1 << 30).check(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), 'malformed packet length');
  });
});

/** A device's TCP connection to a listening socket, wrapped as the broker wraps it. */
async function wrappedDevice() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const device = connect((server.address() as { port: number }).port, '127.0.0.1');
  const [socket] = (await accepted) as [Socket];
  const outer = limitPacketSize(socket, 1 << 20, () => undefined);
  const close = () => {
    device.destroy();
    outer.destroy();
    server.close();
  };
  return { device, socket, outer, close };
}

describe('packet size wrapper while the broker does not read', () => {
  it('pauses its socket after about one read, so a parked device waits in the kernel, not in the runtime', async () => {
    const { device, socket, outer, close } = await wrappedDevice();
    outer.on('readable', () => undefined); // like aedes: listening, but not reading (parked)
    // Small packets one at a time, each once the previous one arrived, until the wrapper pauses the socket.
    let sent = 0;
    while (!socket.isPaused() && sent < 1000) {
      const before = outer.readableLength;
      device.write(packet(98));
      sent++;
      while (outer.readableLength === before && !socket.isPaused()) await new Promise((r) => setImmediate(r));
    }
    assert.ok(socket.isPaused(), 'the socket is paused');
    assert.ok(outer.readableLength <= 2048, `${outer.readableLength} bytes held by the wrapper`);
    close();
  });

  it('takes one socket read off a device that keeps sending and leaves the rest in the kernel until asked', async () => {
    const { device, socket, outer, close } = await wrappedDevice();
    outer.on('readable', () => undefined); // like aedes with its packets in flight: listening, not reading
    const sent = Buffer.concat(Array.from({ length: 10_000 }, () => packet(98))); // 1 MB
    device.write(sent);
    await new Promise((r) => setTimeout(r, 300));
    // libuv reads at most 64 KiB at a time; a paused net.Socket alone would read once more (128 KiB).
    assert.ok(socket.bytesRead > 0 && socket.bytesRead <= 64 * 1024, `${socket.bytesRead} bytes read off the socket`);
    assert.equal(socket.readableLength, 0, 'all of it waiting for the broker, none inside the socket');
    // Asked again and again, the rest arrives, in order.
    const got: Buffer[] = [];
    let bytes = 0;
    while (bytes < sent.length) {
      const chunk = outer.read() as Buffer | null;
      if (chunk) {
        got.push(chunk);
        bytes += chunk.length;
      } else await once(outer, 'readable');
    }
    assert.ok(Buffer.concat(got).equals(sent));
    close();
  });

  it('hands over a read that ends inside a packet as its whole packets, then a copy of the unfinished one', async () => {
    const { device, outer, close } = await wrappedDevice();
    const sent = Buffer.concat([...Array.from({ length: 20 }, () => packet(98)), packet(98).subarray(0, 40)]);
    device.write(sent);
    await once(outer, 'readable');
    const whole = outer.read() as Buffer;
    assert.equal(whole.length, 2000, 'the 20 whole packets');
    const unfinished = (outer.read() as Buffer | null) ?? (await once(outer, 'readable'), outer.read() as Buffer);
    assert.equal(unfinished.length, 40);
    // A view would keep the whole read in memory for as long as the parser waits for the rest.
    assert.notEqual(unfinished.buffer, whole.buffer, 'a copy, not a view of the read');
    device.write(packet(98).subarray(40));
    await once(outer, 'readable');
    const rest = outer.read() as Buffer;
    assert.ok(Buffer.concat([whole, unfinished, rest]).equals(Buffer.concat([sent, packet(98).subarray(40)])));
    close();
  });
});
