/**
 * The one checker of masks and zones (editor property, API, device command, dashboard): what it
 * refuses, it refuses with a reason that names the polygon and the field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { insidePolygon, readZones, zoneNames, ZonesError } from '../../../../nodes/lib/contract/zones';

const SQUARE = [
  [10, 10],
  [50, 10],
  [50, 50],
  [10, 50],
];

describe('readZones', () => {
  it('takes a list, its JSON text, or nothing', () => {
    const zones = [
      { kind: 'mask', points: SQUARE },
      { kind: 'zone', name: 'front door', points: SQUARE, minArea: 2.5 },
      { kind: 'zone', name: 'driveway', points: SQUARE, sensitivity: 0.8, minMotionSeconds: 0.5 },
    ];
    assert.deepEqual(readZones(zones), zones);
    assert.deepEqual(readZones(JSON.stringify(zones)), zones);
    assert.deepEqual(readZones(''), []);
    assert.deepEqual(readZones(undefined), []);
    assert.deepEqual(zoneNames(readZones(zones)), ['front door', 'driveway']);
  });

  it('refuses what cannot work, saying what and where', () => {
    const zone = (extra: object) => [{ kind: 'zone', name: 'a', points: SQUARE, ...extra }];
    const cases: Array<[unknown, RegExp]> = [
      ['[{', /zones must be JSON/],
      [{ kind: 'zone' }, /must be a list/],
      [Array.from({ length: 17 }, () => ({ kind: 'mask', points: SQUARE })), /at most 16 masks and zones \(got 17\)/],
      [['x'], /polygon 1 must be an object/],
      [zone({ colour: 'red' }), /polygon 1: unknown field "colour"/],
      [zone({ kind: 'blur' }), /polygon 1: kind must be "mask" or "zone"/],
      [zone({ name: undefined }), /polygon 1: a zone needs a name/],
      [zone({ name: 'x'.repeat(33) }), /name must be 1–32 letters/],
      [zone({ name: '../etc' }), /name must be 1–32 letters/],
      [zone({ points: SQUARE.slice(0, 2) }), /at least 3/],
      [zone({ points: Array.from({ length: 33 }, () => [1, 1]) }), /at most 32 points \(got 33\)/],
      [
        zone({
          points: [
            [0, 0],
            [100, 0],
            [50, -1],
          ],
        }),
        /polygon 1, point 3: must be \[x, y\] with both in percent, 0–100/,
      ],
      [
        zone({
          points: [
            [0, 0],
            [100, 0],
            ['50', 50],
          ],
        }),
        /point 3/,
      ],
      [
        zone({
          points: [
            [0, 0],
            [100, 0],
            [50, Number.NaN],
          ],
        }),
        /point 3/,
      ],
      [zone({ minArea: 101 }), /minArea must be a percent, 0–100/],
      [[{ kind: 'mask', points: SQUARE, minArea: 1 }], /minArea is for zones, not masks/],
      [[...zone({}), ...zone({})], /two zones are named "a"/],
      [zone({ sensitivity: 1.5 }), /polygon 1: sensitivity must be a number from 0 \(only big changes\) to 1 \(the smallest\) \(got 1.5\)/],
      [zone({ sensitivity: '0.5' }), /sensitivity must be a number from 0/],
      [zone({ minMotionSeconds: -1 }), /polygon 1: minMotionSeconds must be seconds, 0–60 \(got -1\)/],
      [zone({ minMotionSeconds: 61 }), /minMotionSeconds must be seconds, 0–60/],
      [[{ kind: 'mask', points: SQUARE, sensitivity: 0.9 }], /sensitivity is for zones, not masks/],
      [[{ kind: 'mask', points: SQUARE, minMotionSeconds: 2 }], /minMotionSeconds is for zones, not masks/],
    ];
    for (const [value, reason] of cases) {
      assert.throws(
        () => readZones(value),
        (err: Error) => err instanceof ZonesError && reason.test(err.message),
        JSON.stringify(value)?.slice(0, 60),
      );
    }
  });
});

describe('insidePolygon', () => {
  it('tells inside from outside, concave shapes too', () => {
    const ell: Array<[number, number]> = [
      [0, 0],
      [40, 0],
      [40, 20],
      [20, 20],
      [20, 40],
      [0, 40],
    ];
    assert.equal(insidePolygon(10, 10, ell), true);
    assert.equal(insidePolygon(10, 30, ell), true);
    assert.equal(insidePolygon(30, 30, ell), false, 'the notch');
    assert.equal(insidePolygon(50, 10, ell), false);
  });
});
