/**
 * A viewer's UDP port taken by another program between werift's search and its bind: the
 * viewer's transport fails with a reason instead of the bind's error killing the runtime.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UdpTransport } from 'werift';
import { guardUdpBinds } from '../../../../nodes/lib/live/udp-bind-guard';

/** werift's port search, by file: the package exports only its index. */
const network = require(join(dirname(require.resolve('werift')), '..', '..', 'common', 'src', 'network.js')) as {
  findPort: (...args: unknown[]) => Promise<number>;
};

describe('UDP binds of live viewers', () => {
  const search = network.findPort;
  let squatter: Socket | undefined;
  after(() => {
    network.findPort = search;
    squatter?.close();
  });

  it('a port taken between the search and the bind fails that transport, and the process goes on', async () => {
    squatter = createSocket('udp4');
    await new Promise<void>((resolve) => squatter!.bind(0, '0.0.0.0', resolve));
    const taken = squatter.address().port;
    // The search found the port free a moment ago; another program has it now.
    network.findPort = async () => taken;
    guardUdpBinds();
    await assert.rejects(UdpTransport.init('udp4', { portRange: [taken, taken] }), /no UDP port for the viewer: .*EADDRINUSE/);
  });
});
