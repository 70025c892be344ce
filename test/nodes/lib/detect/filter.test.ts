import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { best, keep, parseFilter, parseLabels } from '../../../../nodes/lib/detect/filter';
import { readDetection } from '../../../../nodes/lib/detect/payload';
import { detectSettings } from '../../../../nodes/lib/detect/settings';
import { DEFAULT_FILTER, type Detection } from '../../../../nodes/lib/detect/types';

const d = (label: string, score: number, h = 20): Detection => ({ label, score, box: { x: 0, y: 0, w: 10, h } });

describe('detection filter and settings', () => {
  it('keeps the camera labels above the threshold and the minimum box; a person ranks first', () => {
    const all = [d('car', 0.9), d('person', 0.45), d('person', 0.3), d('dog', 0.8, 3), d('bird', 0.9)];
    assert.deepEqual(keep(all, DEFAULT_FILTER), [d('car', 0.9), d('person', 0.45)]);
    assert.deepEqual(best(keep(all, DEFAULT_FILTER)), d('person', 0.45));
    assert.equal(best([]), undefined);
  });

  it('parses labels and refuses unknown ones and bad numbers with the reason', () => {
    assert.deepEqual(parseLabels(' Person, car,person '), ['person', 'car']);
    assert.throws(() => parseLabels('person, persn'), /unknown label\(s\) persn/);
    assert.throws(() => parseFilter({ threshold: 40 }, DEFAULT_FILTER), /score threshold must be between 0 and 1 \(got 40\)/);
    assert.deepEqual(parseFilter({ threshold: '0.5', minBoxPercent: '10', labels: 'person' }, DEFAULT_FILTER), {
      threshold: 0.5,
      minBoxPercent: 10,
      labels: ['person'],
    });
    assert.deepEqual(detectSettings({}), { on: false, filter: DEFAULT_FILTER, holdMs: 3000 });
    assert.throws(() => detectSettings({ detectHoldSeconds: '99' }), /hold must be between 0 and 30/);
  });

  it('reads a detection from a payload, and refuses a malformed one with the field named', () => {
    const good = { label: 'Person', score: 0.6, box: { x: 1, y: 2, w: 3, h: 4 } };
    assert.deepEqual(readDetection(good), { ...good, label: 'person' });
    assert.equal(readDetection(undefined), undefined);
    assert.throws(() => readDetection('person'), /"detection" must be an object/);
    assert.throws(() => readDetection({ ...good, score: 2 }), /"detection.score" must be a number 0..1/);
    assert.throws(() => readDetection({ ...good, label: "x'; DROP TABLE" }), /"detection.label"/);
    assert.throws(() => readDetection({ ...good, box: { x: 1, y: 2, w: 3 } }), /"detection.box.h"/);
  });
});
