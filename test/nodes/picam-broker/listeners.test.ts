/**
 * The broker's listeners queue a whole fleet's reconnect: with Node's default
 * backlog (511) a storm of 1,000 devices overflowed the kernel's accept queue, the
 * SYNs beyond it were dropped and those devices came back 1, 3 or 7 s later. The
 * queue's size as the kernel reports it (ss's Send-Q of a listening socket).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseTrustedProxies } from '../../../nodes/lib/client-address';
import { Listeners } from '../../../nodes/picam-broker/listeners';

/** The accept queue's size of the socket listening on `port`, as the kernel has it. */
function backlogOf(port: number): number {
  const line = execFileSync('ss', ['-Hltn', `sport = :${port}`])
    .toString()
    .trim();
  return Number(line.split(/\s+/)[2]);
}

const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

describe('broker listeners', () => {
  it('queue as many connections as the kernel allows (net.core.somaxconn), not Node’s 511', async () => {
    const listeners = await Listeners.start({
      host: '127.0.0.1',
      port: 0,
      wsPort: 0,
      trustedProxies: parseTrustedProxies(''),
      onConnection: (conn) => conn.destroy(),
      onOversized: () => undefined,
      onError: (err) => assert.fail(err),
    });
    try {
      const { tcp, ws } = listeners.addresses();
      const expected = Math.min(somaxconn, 8192);
      assert.ok(expected > 511, `net.core.somaxconn is ${somaxconn}: raise it (sysctl) for a fleet`);
      assert.equal(backlogOf(tcp!.port), expected, 'MQTT over TCP');
      assert.equal(backlogOf(ws!.port), expected, 'MQTT over WebSocket');
    } finally {
      await listeners.close();
    }
  });
});
