/**
 * object-detector in a real Node-RED runtime: the real model finds the person in
 * a picture and nothing in an empty scene; what is not a JPEG is an error the flow
 * can catch; pictures arriving faster than a slow detector are dropped oldest
 * first, each message completed and counted, none lost silently.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { FrameDetections } from '../../../nodes/lib/detect/types';
import { detectorFactory } from '../../../nodes/object-detector/detector-factory';
import detectorNode from '../../../nodes/object-detector/object-detector';
import { Collector, helper, node, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();
const FIXTURES = join(__dirname, '../../fixtures/detect');
const real = detectorFactory.make;
afterEach(() => {
  detectorFactory.make = real;
});

async function load(props: Record<string, unknown> = {}) {
  await helper.load(
    [detectorNode],
    [
      { id: 'od', type: 'object-detector', labels: 'person, car, dog, cat', threshold: 0.4, minBoxPercent: 5, ...props, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ],
  );
  return new Collector('out');
}

describe('object-detector node', { timeout: 180_000 }, () => {
  it('reports the person in a picture (best first, box in percent) and nothing in an empty scene', async () => {
    const out = await load();
    node('od').receive({ payload: readFileSync(join(FIXTURES, 'person-basketball.jpg')), topic: 'cam1' });
    node('od').receive({ payload: readFileSync(join(FIXTURES, 'empty-street-light.jpg')) });
    const [withPerson, empty] = await out.wait(2, 120_000);
    assert.equal(withPerson!.topic, 'cam1', 'the message goes on with its other fields');
    assert.equal(withPerson!.payload.best.label, 'person');
    assert.ok(withPerson!.payload.best.score >= 0.4);
    assert.deepEqual(withPerson!.detection, withPerson!.payload.best);
    assert.deepEqual(Object.keys(withPerson!.payload.best.box).sort(), ['h', 'w', 'x', 'y']);
    assert.deepEqual(
      empty!.payload.detections.filter((d: { label: string }) => d.label === 'person'),
      [],
    );
    assert.deepEqual([empty!.payload.width > 0, typeof empty!.payload.ms], [true, 'number']);
  });

  it('refuses a payload that is not a JPEG with a catchable error, and an unknown label at deploy', async () => {
    await load();
    const errors = spy('od', 'error');
    node('od').receive({ payload: 'a string' });
    node('od').receive({ payload: Buffer.from('not a jpeg') });
    await until('two errors', () => errors.length === 2, 30_000);
    assert.match(text(errors[0]!), /msg.payload must be a JPEG picture/);
    assert.match(text(errors[1]!), /not a JPEG picture/);
    await helper.unload();
    await load({ labels: 'person, unicorn' });
    const refused = spy('od', 'error');
    node('od').receive({ payload: Buffer.from([0xff, 0xd8]) });
    await until('refused', () => refused.length === 1);
    assert.match(text(refused[0]!), /unknown label\(s\) unicorn/);
  });

  it('drops the oldest waiting picture when the detector cannot keep up, and says so', async () => {
    const gates: Array<() => void> = [];
    detectorFactory.make = () => ({
      detect: () => new Promise<FrameDetections>((resolve) => gates.push(() => resolve({ width: 2, height: 2, detections: [], ms: 9 }))),
    });
    const out = await load();
    const warns = spy('od', 'warn');
    for (let i = 0; i < 6; i++) node('od').receive({ payload: Buffer.from([0xff, 0xd8, i]), n: i });
    await until('the detector busy', () => gates.length === 1);
    await until('a warning', () => warns.length >= 1);
    assert.match(text(warns[0]!), /dropped: a newer one came while the detector was busy/);
    for (let answered = 1; answered <= 3; answered++) {
      await until('a picture in the detector', () => gates.length > 0, 10_000);
      gates.shift()!();
      await out.wait(answered, 10_000);
    }
    // 0 was analysed at once; 1, 2, 3 were dropped in turn; 4 and 5 waited
    assert.deepEqual(
      out.msgs.map((m) => m.n),
      [0, 4, 5],
    );
  });
});
