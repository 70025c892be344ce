/**
 * Port pairs from the configured range: even RTP + odd RTCP, a pair another
 * process holds is skipped, an exhausted range is a clear error, released
 * ports can be bound again.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PortAllocator, RECEIVE_BUFFER_BYTES } from '../../../../nodes/lib/live/port-allocator';
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

  // The kernel grants what net.core.rmem_max allows: where that is no more than its default, no buffer can be larger.
  const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  const roomy = rmemMax >= 4 * 212_992 ? false : `net.core.rmem_max is ${rmemMax}: the kernel grants no larger buffer here`;

  it("holds a camera's packets through a second in which the runtime cannot read them", { skip: roomy }, async () => {
    const { portMin, portMax } = udpPortRange(2);
    const ports = new PortAllocator(portMin, portMax);
    const pair = await ports.take();
    let received = 0;
    pair.rtpSocket.on('message', () => received++);
    // 600 packets of 1,200 bytes (2 s of a 3 Mbit/s camera), sent while this process is blocked:
    // the kernel's default buffer (208 KiB) holds fewer than 200 of them.
    const sender =
      "const s = require('node:dgram').createSocket('udp4'); let n = 0; const b = Buffer.alloc(1200);" +
      `const next = () => n++ < 600 ? s.send(b, ${pair.rtp}, '127.0.0.1', next) : s.close(); next();`;
    try {
      const sent = spawnSync(process.execPath, ['-e', sender]);
      assert.equal(sent.status, 0, String(sent.stderr));
      // What the kernel kept is read as soon as this process runs again: wait for it (a loaded machine is slow to).
      let before = -1;
      while (received !== before) {
        before = received;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.equal(received, 600, `${received} of 600 packets kept (buffer asked: ${RECEIVE_BUFFER_BYTES} bytes)`);
    } finally {
      await ports.release(pair);
    }
  });
});
