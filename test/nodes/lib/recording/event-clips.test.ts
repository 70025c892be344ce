/**
 * When an event's clip is cut (issue 19 item 2): once a segment reaches the end of its post-roll,
 * or after a grace time without one; an event that never ends at the longest clip; a repeated
 * start counts once; a stop whose start this runtime never saw still gets its clip.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventClips, type ClipWindow } from '../../../../nodes/lib/recording/event-clips';

function clips(o: { maxClipMs?: number; graceMs?: number } = {}) {
  const opened: ClipWindow[] = [];
  const due: ClipWindow[] = [];
  let wake: (() => void) | undefined;
  const c = new EventClips({
    preRollMs: 5000,
    postRollMs: 10_000,
    maxClipMs: o.maxClipMs ?? 300_000,
    graceMs: o.graceMs ?? 60_000,
    opened: (w) => opened.push(w),
    due: (w) => {
      due.push(w);
      wake?.();
    },
  });
  const nextDue = () => new Promise<void>((r) => (wake = r));
  return { c, opened, due, nextDue };
}

describe('event clips', () => {
  it('cuts when a segment reaches the end of the post-roll, not before', () => {
    const { c, opened, due } = clips();
    const t = Date.now();
    c.started('cam', 'e1', t);
    c.started('cam', 'e1', t + 50); // redelivered: the first counts
    assert.deepEqual(opened, [{ cameraId: 'cam', eventId: 'e1', fromMs: t - 5000, toMs: t + 10_000 }]);
    assert.equal(c.neededFrom('cam'), t - 5000, 'its pre-roll is kept');
    c.ended('cam', 'e1', t + 3000);
    c.segment('cam', t + 12_000);
    assert.deepEqual(due, [], 'the post-roll is not recorded yet');
    c.segment('other', t + 20_000);
    assert.deepEqual(due, []);
    c.segment('cam', t + 13_500);
    assert.deepEqual(due, [{ cameraId: 'cam', eventId: 'e1', fromMs: t - 5000, toMs: t + 13_000 }]);
    assert.equal(c.pending, 0);
    assert.equal(c.neededFrom('cam'), undefined);
    c.close();
  });

  it('cuts with what there is when no segment comes within the grace time', async () => {
    const { c, due, nextDue } = clips({ graceMs: 20 });
    const t = Date.now() - 10_000; // its post-roll ends now
    c.started('cam', 'e2', t);
    const cut = nextDue();
    c.ended('cam', 'e2', t);
    await cut;
    assert.equal(due[0]!.toMs, t + 10_000);
    c.close();
  });

  it('cuts an event that never ends at the longest clip', async () => {
    const { c, due, nextDue } = clips({ maxClipMs: 100, graceMs: 20 });
    const t = Date.now() + 5000; // from = now: the longest clip ends 100 ms from now
    const cut = nextDue();
    c.started('cam', 'e3', t);
    await cut;
    assert.deepEqual(due, [{ cameraId: 'cam', eventId: 'e3', fromMs: t - 5000, toMs: t - 5000 + 100 }]);
    c.close();
  });

  it("gives a stop whose start it never saw a clip from the stop's start time", () => {
    const { c, opened, due } = clips();
    const t = Date.now();
    c.ended('cam', 'e4', t + 2000, t);
    assert.deepEqual(opened, [{ cameraId: 'cam', eventId: 'e4', fromMs: t - 5000, toMs: t + 10_000 }]);
    c.segment('cam', t + 12_000);
    assert.equal(due[0]!.toMs, t + 12_000);
    c.close();
  });
});
