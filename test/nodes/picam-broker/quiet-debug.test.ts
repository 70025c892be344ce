/**
 * aedes's MQTT parser logs through `debug` only for namespaces enabled when the broker
 * loads: otherwise its dozen log calls per packet are empty functions (quiet-debug.ts).
 * Each case runs in its own process, so the module cache is fresh.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { quietDebug } from '../../../nodes/picam-broker/quiet-debug';

const CHILD = join(__dirname, '../../support/mqtt-packet-debug-child.ts');

function parseOnePuback(mode: 'quiet' | 'plain', debugEnv?: string, order: 'broker-first' | 'loaded-first' = 'broker-first') {
  const env = { ...process.env };
  delete env.DEBUG;
  if (debugEnv) env.DEBUG = debugEnv;
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, mode, order], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /"cmd":"puback".*"messageId":7/, 'the packet is parsed either way');
  return { logged: /mqtt-packet:parser/.test(r.stderr) };
}

describe('picam-broker: mqtt-packet logging', () => {
  it('is off in the broker unless DEBUG enabled it at start (a plain load would log once enabled later)', () => {
    assert.equal(parseOnePuback('plain').logged, true, 'without loadAedes, enabling later logs');
    assert.equal(parseOnePuback('quiet').logged, false, 'with loadAedes, the parser calls no-ops');
    assert.equal(parseOnePuback('quiet', 'mqtt-packet:*').logged, true, 'DEBUG at start still logs');
  });

  it('gives the broker its own aedes when another user loaded it first, and leaves theirs alone', () => {
    // The child fails unless loadAedes returned a fresh copy and the cache still holds the other's.
    parseOnePuback('quiet', undefined, 'loaded-first');
  });

  it('hands out the real logger for an enabled namespace and a no-op otherwise', () => {
    const real = Object.assign(() => undefined, { enabled: true });
    const off = Object.assign(() => undefined, { enabled: false });
    const factory = quietDebug((ns) => (ns === 'on' ? real : off));
    assert.equal(factory('on'), real);
    const quiet = factory('off');
    assert.notEqual(quiet, off);
    assert.equal(quiet('x %d', 1), undefined);
  });
});
