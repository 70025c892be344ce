import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentMap } from '../../nodes/mqtt-processor/recent';

describe('RecentMap', () => {
  it('remembers at least `capacity` recent keys and forgets older ones', () => {
    const m = new RecentMap<number>(100, 60_000);
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i, 0);
    for (let i = 900; i < 1000; i++) assert.equal(m.get(`k${i}`, 0), i, `recent key k${i}`);
    assert.equal(m.get('k0', 0), undefined);
    assert.ok(m.size <= 200);
  });

  it('forgets keys older than maxAge', () => {
    const m = new RecentMap<boolean>(100, 1000);
    m.set('a', true, 0);
    assert.equal(m.has('a', 1000), true);
    assert.equal(m.has('a', 1001), false);
  });

  it('delete removes a key from either generation', () => {
    const m = new RecentMap<number>(2, 60_000);
    m.set('a', 1, 0);
    m.set('b', 2, 0); // a and b move to the old generation
    m.set('c', 3, 0);
    m.delete('a');
    m.delete('c');
    assert.deepEqual([m.get('a', 0), m.get('b', 0), m.get('c', 0)], [undefined, 2, undefined]);
  });
});
