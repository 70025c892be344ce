import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DetectQueue, type QueuedFrame } from '../../../../nodes/lib/detect/queue';
import type { FrameDetections, ObjectDetector } from '../../../../nodes/lib/detect/types';
import { waitFor } from '../../../support/wait';

/** A detector that answers only when the test says so: as slow as the test wants. */
class GatedDetector implements ObjectDetector {
  readonly seen: Buffer[] = [];
  private gates: Array<() => void> = [];
  async detect(jpeg: Buffer): Promise<FrameDetections> {
    this.seen.push(jpeg);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return { width: 640, height: 480, detections: [], ms: 1 };
  }
  release(): void {
    for (const g of this.gates.splice(0)) g();
  }
  get busy(): boolean {
    return this.gates.length > 0;
  }
}

const frame = (n: number, timeMs = n): QueuedFrame => ({ jpeg: Buffer.from([n]), timeMs });

describe('DetectQueue', () => {
  it('drops the oldest waiting frame when a new one comes while full, and analyses the newest', async () => {
    const detector = new GatedDetector();
    const answered: number[] = [];
    const q = new DetectQueue(detector, { result: (f) => answered.push(f.jpeg[0]!), failed: assert.fail }, 2, () => 100);
    for (let n = 1; n <= 6; n++) q.offer(frame(n));
    // frame 1 is being analysed; 2, 3, 4 were dropped in turn; 5 and 6 wait
    assert.deepEqual({ waiting: q.stats.waiting, dropped: q.stats.dropped }, { waiting: 2, dropped: 3 });
    assert.equal(q.stats.behindMs, 99, 'behind by the age of the frame being analysed');
    for (const expected of [[1], [1, 5], [1, 5, 6]]) {
      await waitFor('the detector to be busy', async () => (detector.busy ? true : undefined));
      detector.release();
      await waitFor(`answers ${expected.join(',')}`, async () => (answered.length === expected.length ? true : undefined));
      assert.deepEqual(answered, expected);
    }
    assert.deepEqual(
      detector.seen.map((b) => b[0]),
      [1, 5, 6],
    );
    assert.deepEqual({ ...q.stats, lastMs: 0 }, { waiting: 0, analysed: 3, failed: 0, dropped: 3, behindMs: 0, lastMs: 0 });
  });

  it('offer() returns at once however slow the detector is', () => {
    const detector = new GatedDetector();
    const q = new DetectQueue(detector, { result: () => undefined, failed: assert.fail }, 1);
    const started = process.hrtime.bigint();
    for (let n = 0; n < 10_000; n++) q.offer(frame(n));
    assert.ok(process.hrtime.bigint() - started < 5_000_000_000n);
    assert.equal(q.stats.waiting, 1, 'memory stays bounded');
    assert.equal(q.stats.dropped, 9998);
    q.close();
    detector.release();
  });

  it('reports a failing frame and goes on with the next', async () => {
    let calls = 0;
    const detector: ObjectDetector = {
      detect: async () => {
        if (++calls === 1) throw new Error('bad picture');
        return { width: 1, height: 1, detections: [], ms: 2 };
      },
    };
    const failed: string[] = [];
    let results = 0;
    const q = new DetectQueue(detector, { result: () => results++, failed: (_f, err) => failed.push(err.message) });
    q.offer(frame(1));
    q.offer(frame(2));
    await waitFor('both frames', async () => (results === 1 && failed.length === 1 ? true : undefined));
    assert.deepEqual(failed, ['bad picture']);
    assert.equal(q.stats.failed, 1);
  });

  it('refuses a capacity below one', () => {
    assert.throws(() => new DetectQueue(new GatedDetector(), { result: () => undefined, failed: () => undefined }, 0), /at least one/);
  });
});
