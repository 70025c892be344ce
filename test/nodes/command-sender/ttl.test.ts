/**
 * How long a command may wait for the broker (nodes/command-sender/ttl.ts): a live-stream
 * command from vbc01-live is worthless within seconds, so it must not sit in the queue for the
 * settings' hour and start a camera streaming long after its viewer left.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DEFAULT_TTL_SECONDS, STREAM_TTL_SECONDS, ttlMs } from '../../../nodes/command-sender/ttl';

it('gives live-stream commands a short life, and other unknown kinds the settings one', () => {
  for (const action of ['stream-play', 'stream-keepalive', 'stream-stop'])
    assert.equal(ttlMs(DEFAULT_TTL_SECONDS, action), STREAM_TTL_SECONDS * 1000);
  assert.ok(STREAM_TTL_SECONDS <= 15, 'no longer than one keepalive interval');
  assert.equal(ttlMs(DEFAULT_TTL_SECONDS, 'firmware-update'), DEFAULT_TTL_SECONDS['settings-update'] * 1000);
  assert.equal(ttlMs(DEFAULT_TTL_SECONDS, 'reboot'), DEFAULT_TTL_SECONDS.reboot * 1000);
});
