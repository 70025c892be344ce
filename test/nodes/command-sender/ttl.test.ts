/**
 * How long a command may wait for the broker (nodes/command-sender/ttl.ts): a live-stream
 * command from vbc01-live, or a request to a Pi to relay a camera, is worthless within seconds,
 * so it must not sit in the queue for the settings' hour and start a stream long after its
 * viewer left.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TTL_SECONDS, STREAM_TTL_SECONDS, ttlMs } from '../../../nodes/command-sender/ttl';
import { parseCommand } from '../../../nodes/command-sender/command-input';

describe('command time-to-live', () => {
  it('gives live-stream commands a short life, and other unknown kinds the settings one', () => {
    for (const action of ['stream-play', 'stream-keepalive', 'stream-stop'])
      assert.equal(ttlMs(DEFAULT_TTL_SECONDS, action), STREAM_TTL_SECONDS * 1000);
    assert.ok(STREAM_TTL_SECONDS <= 15, 'no longer than one keepalive interval');
    assert.equal(ttlMs(DEFAULT_TTL_SECONDS, 'firmware-update'), DEFAULT_TTL_SECONDS['settings-update'] * 1000);
    assert.equal(ttlMs(DEFAULT_TTL_SECONDS, 'reboot'), DEFAULT_TTL_SECONDS.reboot * 1000);
    for (const action of ['constructor', 'toString', '__proto__'])
      assert.equal(ttlMs(DEFAULT_TTL_SECONDS, action), DEFAULT_TTL_SECONDS['settings-update'] * 1000, action);
  });

  it('keeps a live-video request 20 s only: one delivered later would start a relay for nobody', () => {
    assert.equal(ttlMs(DEFAULT_TTL_SECONDS, 'live'), 20_000);
    // and it does not fall back on the settings' hour, as other kinds do
    assert.equal(ttlMs(DEFAULT_TTL_SECONDS, 'stream'), 3_600_000);
  });

  it('takes a relay request from another flow, without msg.action, by its topic', () => {
    const parsed = parseCommand({ topic: 'prod/honeycomb/pi-1/ipcam/door/stream/play', payload: { seconds: 60 } });
    assert.ok(parsed.ok);
    assert.equal(parsed.command.action, 'live');
    assert.equal(parsed.command.deviceId, 'pi-1.door');
  });
});
