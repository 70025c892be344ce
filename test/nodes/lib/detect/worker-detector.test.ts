/**
 * The detector in its own thread (issue 20): the runtime's thread never loads TensorFlow.js or runs
 * the model, so an inference cannot hold up its event loop (streams, MQTT, HTTP); answers and
 * refusals come back as from the model itself.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BadPicture } from '../../../../nodes/lib/detect/jpeg';
import { stopDetectorThread, WorkerDetector } from '../../../../nodes/lib/detect/worker-detector';

const picture = (name: string) => readFileSync(join(__dirname, '../../../fixtures/detect', name));

describe('WorkerDetector', { timeout: 300_000 }, () => {
  after(() => stopDetectorThread());

  it('finds the person in its own thread: this thread never loads TensorFlow.js, and keeps running meanwhile', async () => {
    const detector = new WorkerDetector();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const r = await detector.detect(picture('person-rendered-60.jpg'));
      const person = r.detections.find((d) => d.label === 'person');
      assert.ok(person && person.score >= 0.4, JSON.stringify(r.detections.slice(0, 3)));
      assert.equal(r.width, 640);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 0, 'timers ran while the model loaded and ran');
    const loaded = Object.keys(require.cache).filter((k) => k.includes('@tensorflow'));
    assert.deepEqual(loaded, [], 'TensorFlow.js is not in this thread');
  });

  it('refuses what is not a JPEG with the reason, as the model does', async () => {
    const detector = new WorkerDetector();
    await assert.rejects(
      detector.detect(Buffer.from('not a picture')),
      (err: Error) => err instanceof BadPicture && /FF D8/.test(err.message),
    );
    // and still answers the next one
    assert.ok((await detector.detect(picture('empty-home.jpg'))).width > 0);
  });
});
