import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TTL_SECONDS, ttlMs } from '../../../nodes/command-sender/ttl';
import { parseCommand } from '../../../nodes/command-sender/command-input';

describe('command time-to-live', () => {
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
