/**
 * Port pairs from the configured range: even RTP + odd RTCP, a pair another
 * process holds is skipped, an exhausted range is a clear error, released
 * ports can be bound again.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { PortAllocator } from '../../../../nodes/lib/live/port-allocator';
import { udpPortRange } from '../../../support/rtp-camera';

const bindUdp = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '0.0.0.0', () => resolve(s));
  });

describe('the UDP port allocator', () => {
  it('skips a pair another process holds and gives the next one', async () => {
    const { portMin, portMax } = udpPortRange(2);
    const squatter = await bindUdp(portMin + 1); // only the RTCP port of the first pair
    const ports = new PortAllocator(portMin, portMax);
    const pair = await ports.take();
    assert.equal(pair.rtp, portMin + 2);
    await assert.rejects(ports.take(), /no free UDP port pair left in \d+-\d+ \(this bridge holds 1 pair/);
    await ports.release(pair);
    await ports.release(pair); // safe twice
    assert.equal(ports.pairsHeld, 0);
    squatter.close();
    const again = await Promise.all([bindUdp(portMin + 2), bindUdp(portMin + 3)]);
    again.forEach((s) => s.close());
  });

  it('starts on an even port when the range starts odd', async () => {
    const { portMin } = udpPortRange(2);
    const ports = new PortAllocator(portMin + 1, portMin + 4);
    const pair = await ports.take();
    assert.equal(pair.rtp, portMin + 2);
    await ports.release(pair);
  });
});
