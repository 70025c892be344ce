import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprint, RecentMap } from '../../../nodes/lib/recent';

describe('RecentMap', () => {
  it('remembers at least `capacity` recent keys and forgets older ones', () => {
    const m = new RecentMap<string, number>(100, 60_000);
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i, 0);
    for (let i = 900; i < 1000; i++) assert.equal(m.get(`k${i}`, 0), i, `recent key k${i}`);
    assert.equal(m.get('k0', 0), undefined);
    assert.ok(m.size <= 200);
  });

  it('remembers a key for at least maxAge/2 and forgets it after maxAge', () => {
    const m = new RecentMap<string, boolean>(100, 1000);
    m.set('a', true, 0);
    m.set('b', true, 499);
    assert.equal(m.has('a', 500), true);
    assert.equal(m.has('b', 999), true, 'b is 500 ms old');
    assert.equal(m.has('a', 1001), false);
    assert.equal(m.has('b', 1001), false, 'its generation started at 0');
    m.set('c', true, 1500);
    assert.equal(m.has('c', 2000), true);
  });

  it('delete removes a key from either generation', () => {
    const m = new RecentMap<string, number>(2, 60_000);
    m.set('a', 1, 0);
    m.set('b', 2, 0); // a and b move to the old generation
    m.set('c', 3, 0);
    m.delete('a');
    m.delete('c');
    assert.deepEqual([m.get('a', 0), m.get('b', 0), m.get('c', 0)], [undefined, 2, undefined]);
  });
});

describe('fingerprint', () => {
  it('is stable, uses both strings, and separates where one ends', () => {
    assert.equal(fingerprint('topic', '{"a":1}'), fingerprint('topic', '{"a":1}'));
    assert.notEqual(fingerprint('topic', '{"a":1}'), fingerprint('topic', '{"a":2}'));
    assert.notEqual(fingerprint('ab', 'c'), fingerprint('a', 'bc'));
  });

  it('gives 100,000 near-identical heartbeats 100,000 different fingerprints', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 100_000; i++)
      seen.add(fingerprint('prod/device/status/hive-cam/cam0001', `{"timestamp":${1700000000000 + i},"battery":80}`));
    assert.equal(seen.size, 100_000);
  });
});
