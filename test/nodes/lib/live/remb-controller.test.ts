/**
 * The REMB a camera is told, from the loss the bridge measures: down under
 * more than 2 % loss, never below the floor, back up toward the start once
 * the loss is gone, never above the start.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RembController } from '../../../../nodes/lib/live/remb-controller';

describe('the REMB controller', () => {
  it('starts at the start value and holds it while nothing is lost', () => {
    const c = new RembController({ startBps: 5_000_000, floorBps: 500_000 });
    assert.equal(c.currentBps, 5_000_000);
    assert.equal(c.update(0), 5_000_000);
    assert.equal(c.update(undefined), 5_000_000, 'an interval without packets changes nothing');
  });

  it('lowers the rate under loss above 2 %, down to the floor and not below', () => {
    const c = new RembController({ startBps: 5_000_000, floorBps: 500_000 });
    assert.equal(c.update(0.08), 4_800_000); // × (1 − 0.5 × 0.08)
    assert.equal(c.update(0.02), 5_000_000, 'exactly 2 % counts as no loss: back up (capped at the start)');
    const seen = Array.from({ length: 200 }, () => c.update(0.3));
    assert.equal(seen.at(-1), 500_000);
    assert.ok(seen.every((bps) => bps >= 500_000));
  });

  it('raises it back to the start once the loss is gone', () => {
    const c = new RembController({ startBps: 3_000_000, floorBps: 500_000 });
    for (let i = 0; i < 100; i++) c.update(0.5);
    assert.equal(c.currentBps, 500_000);
    const rising = Array.from({ length: 100 }, () => c.update(0));
    assert.ok(rising[0]! > 500_000 && rising[0]! < 3_000_000, 'gradually, not in one jump');
    assert.equal(rising.at(-1), 3_000_000);
  });

  it('refuses a floor above the start, or no floor', () => {
    assert.throws(() => new RembController({ startBps: 100, floorBps: 500 }), /bad REMB limits: start 100 must be ≥ floor 500/);
    assert.throws(() => new RembController({ startBps: 100, floorBps: 0 }), /bad REMB limits/);
  });
});
