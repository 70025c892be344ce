/** The MQTT fixed-header reader behind picam-broker's packet size cap, fed the way TCP delivers: in any split. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketSizeCheck } from '../../../nodes/picam-broker/packet-limit';

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
