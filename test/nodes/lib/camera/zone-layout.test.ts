/**
 * The rasterised masks and zones agree with the contract's point-in-polygon test pixel for pixel,
 * and a zone's blocks count only the pixels a mask leaves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { insidePolygon, type ZonePoint } from '../../../../nodes/lib/contract/zones';
import { ZoneLayout } from '../../../../nodes/lib/camera/zone-layout';

const W = 64;
const H = 48;

/** A star-shaped, often concave polygon of `n` corners around (cx, cy), from a seeded generator. */
function polygon(seed: number, n: number): ZonePoint[] {
  let a = seed;
  const rand = () => (a = (a * 1103515245 + 12345) % 2147483648) / 2147483648;
  const [cx, cy] = [20 + 60 * rand(), 20 + 60 * rand()];
  return Array.from({ length: n }, (_, i) => {
    const r = 5 + 45 * rand();
    const t = (2 * Math.PI * i) / n;
    const clamp = (v: number) => Math.round(Math.min(100, Math.max(0, v)) * 10) / 10;
    return [clamp(cx + r * Math.cos(t)), clamp(cy + r * Math.sin(t))] as ZonePoint;
  });
}

describe('ZoneLayout', () => {
  it('puts a pixel in a polygon exactly when its centre is inside it', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const points = polygon(seed, 3 + (seed % 30));
      const layout = new ZoneLayout(W, H, 8, [{ kind: 'mask', points }]);
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const want = insidePolygon((100 * (x + 0.5)) / W, (100 * (y + 0.5)) / H, points);
          assert.equal(layout.masked[y * W + x] === 1, want, `seed ${seed}, pixel ${x},${y}`);
        }
    }
  });

  it('counts only unmasked pixels for blocks and zones', () => {
    const left: ZonePoint[] = [
      [0, 0],
      [50, 0],
      [50, 100],
      [0, 100],
    ];
    const top: ZonePoint[] = [
      [0, 0],
      [100, 0],
      [100, 50],
      [0, 50],
    ];
    const layout = new ZoneLayout(W, H, 8, [
      { kind: 'mask', points: left },
      { kind: 'zone', name: 'top', points: top },
    ]);
    assert.equal(layout.openBlocks, 24, 'the right half: 4 of 8 columns × 6 rows');
    assert.equal(layout.open[0], 0);
    assert.equal(layout.open[7], 64);
    assert.equal(layout.inside[0]![7], 64, 'a top-right block is all in the zone');
    assert.equal(layout.inside[0]![0], 0, 'a masked block has no zone pixels');
    assert.equal(layout.zoneBits[0], 0);
    assert.equal(layout.zoneBits[W - 1], 1);
  });
});
