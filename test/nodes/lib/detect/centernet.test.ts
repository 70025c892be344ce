/**
 * The real model on the labelled pictures (test/fixtures/detect): a person gives
 * `person` above the cameras' default threshold, an empty scene (lighting changes
 * included) gives none. Precision and recall over the whole set are the bench's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { CenterNetDetector, MODEL_INPUT, resizeToInput } from '../../../../nodes/lib/detect/centernet';
import { decodeJpeg } from '../../../../nodes/lib/detect/jpeg';
import { keep } from '../../../../nodes/lib/detect/filter';
import { DEFAULT_FILTER } from '../../../../nodes/lib/detect/types';

const DIR = join(__dirname, '../../../fixtures/detect');
const picture = (name: string) => readFileSync(join(DIR, name));

describe('CenterNet person detector (real model, WebAssembly)', { timeout: 300_000 }, () => {
  const detector = new CenterNetDetector();
  before(() => detector.warmUp());

  for (const name of ['person-astronaut.jpg', 'person-plaza-3.jpg', 'person-rendered-60.jpg', 'person-basketball.jpg']) {
    it(`${name}: a person above the threshold, with a box inside the frame`, async () => {
      const r = await detector.detect(picture(name));
      const people = keep(r.detections, DEFAULT_FILTER).filter((d) => d.label === 'person');
      assert.ok(people.length > 0, `no person in ${JSON.stringify(r.detections.slice(0, 5))}`);
      const { box, score } = people[0]!;
      assert.ok(score >= DEFAULT_FILTER.threshold && score <= 1);
      assert.ok(
        box.x >= 0 && box.y >= 0 && box.w > 0 && box.h > 0 && box.x + box.w <= 100.1 && box.y + box.h <= 100.1,
        JSON.stringify(box),
      );
    });
  }

  it('the rendered person is found where it was pasted (30–50 % across, lower half)', async () => {
    const r = await detector.detect(picture('person-rendered-60.jpg'));
    const p = keep(r.detections, DEFAULT_FILTER).find((d) => d.label === 'person')!;
    const cx = p.box.x + p.box.w / 2;
    assert.ok(cx > 25 && cx < 55 && p.box.y + p.box.h > 80, JSON.stringify(p.box));
  });

  for (const name of [
    'empty-building.jpg',
    'empty-building-dark.jpg',
    'empty-building-bright.jpg',
    'empty-street.jpg',
    'empty-street-light.jpg',
    'empty-aerial-night.jpg',
    'empty-home-dusk.jpg',
  ]) {
    it(`${name}: no person`, async () => {
      const r = await detector.detect(picture(name));
      assert.deepEqual(
        keep(r.detections, DEFAULT_FILTER).filter((d) => d.label === 'person'),
        [],
      );
    });
  }

  it('refuses what is not a JPEG with the reason', async () => {
    await assert.rejects(detector.detect(Buffer.from('hello')), /not a JPEG/);
    await assert.rejects(detector.detect(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])), /could not be decoded/);
  });

  it("keeps its memory to the model's needs: frames of any size leave the WebAssembly heap where one frame left it (issue 20)", async () => {
    const tf = await import('@tensorflow/tfjs-core');
    const heapMb = () => (tf.engine().backend as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength / 2 ** 20;
    await detector.detect(picture('person-plaza-3.jpg'));
    const afterOne = heapMb();
    for (const name of ['person-astronaut.jpg', 'person-football.jpg', 'empty-home.jpg', 'person-plaza-20.jpg'])
      await detector.detect(picture(name));
    assert.equal(heapMb(), afterOne, 'no growth with other sizes');
    // the weights (16 MB) and one 512×512 run's activations: the picture is resized before it enters
    // the heap (79 MB when a float copy of it was resized inside, per picture size)
    assert.ok(afterOne <= 70, `${afterOne} MB`);
  });
});

describe('resizeToInput', () => {
  it('resizes as tf.image.resizeBilinear does, into one buffer reused by every run', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    try {
      const img = decodeJpeg(picture('person-plaza-3.jpg'));
      const ours = resizeToInput(img);
      const theirs = tf.tidy(() =>
        tf.image
          .resizeBilinear(tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3]), [MODEL_INPUT, MODEL_INPUT])
          .dataSync(),
      );
      assert.equal(ours.length, theirs.length);
      let worst = 0;
      for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
      assert.ok(worst < 1e-3, `largest difference ${worst}`);
      assert.equal(resizeToInput(decodeJpeg(picture('person-astronaut.jpg'))), ours, 'the same buffer');
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
