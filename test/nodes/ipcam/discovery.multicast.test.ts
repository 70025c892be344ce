/**
 * WS-Discovery over the real multicast group 239.255.255.250:3702, in a network
 * namespace of its own (unshare: user + network) whose loopback carries
 * multicast, so nothing leaves the machine and no other test or camera answers:
 * a fake camera joined to the group answers the probe discover() sends with its
 * default destination. Skipped where unprivileged user namespaces are not allowed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const SETUP = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo';
const canNamespace = spawnSync('unshare', ['-rn', 'sh', '-c', SETUP], { stdio: 'ignore' }).status === 0;
const skip = canNamespace ? false : 'unshare -rn with ip (iproute2) is not available here: no network namespace for the multicast test';

describe('WS-Discovery over multicast (network namespace)', { skip }, () => {
  it('finds a camera that joined the group, with the probe sent to the group address', () => {
    const child = join(__dirname, '..', '..', 'support', 'multicast-discovery-child.ts');
    const run = spawnSync('unshare', ['-rn', 'sh', '-c', `${SETUP} && exec "$0" --import tsx "$1"`, process.execPath, child], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const { found, probes } = JSON.parse(run.stdout) as {
      found: Array<{ endpoint: string; name: string; host: string; port: number }>;
      probes: number;
    };
    assert.ok(probes >= 1);
    assert.deepEqual(
      found.map((c) => [c.endpoint, c.name, c.host, c.port]),
      [['urn:uuid:mcast-1', 'Garage', '127.0.0.1', 8080]],
    );
  });
});
