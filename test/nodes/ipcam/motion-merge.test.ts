/**
 * One motion event stream from the analyser and the camera's ONVIF events
 * ("both"): an event opens with the first source and closes when neither sees
 * motion; the thumbnail is the opener's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ActivityPayload } from '../../../nodes/lib/types';
import { MotionMerge } from '../../../nodes/ipcam/motion-merge';

function merge(picture?: Buffer) {
  const out: Array<[string, ActivityPayload | Buffer, string?]> = [];
  const m = new MotionMerge(
    {
      activity: (kind, payload) => out.push([kind, payload]),
      thumbnail: (eventId, jpeg) => out.push(['thumbnail', jpeg, eventId]),
    },
    () => picture,
  );
  return { m, out };
}
const start = (eventId: string): ActivityPayload => ({ eventId, activityType: 'MOTION', timestamp: 1_800_000_000, confidence: 40 });
const stop = (eventId: string): ActivityPayload => ({ eventId, activityType: 'MOTION', timestamp: 1_800_000_005 });

describe('motion from two sources', () => {
  it('gives one event while both see motion, closed when the last one stops', () => {
    const { m, out } = merge();
    m.analyser('start', start('evt_a'));
    m.onvif(true);
    m.analyser('stop', stop('evt_a'));
    assert.deepEqual(
      out.map((o) => o[0]),
      ['start'],
      'still open: the camera still sees motion',
    );
    m.onvif(false);
    assert.deepEqual(
      out.map((o) => o[0]),
      ['start', 'stop'],
    );
    assert.equal((out[1]![1] as ActivityPayload).eventId, 'evt_a');
    assert.equal(m.opened, 1);
  });

  it("opens an event from the camera's events with the latest picture as thumbnail; the analyser's own thumbnail of another event is not sent", () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
    const { m, out } = merge(jpeg);
    m.onvif(true);
    const opened = out[0]![1] as ActivityPayload;
    assert.match(opened.eventId!, /^evt_[0-9a-f]{32}$/);
    assert.deepEqual(out[1], ['thumbnail', jpeg, opened.eventId]);
    m.analyser('start', start('evt_b'));
    m.analyserThumbnail('evt_b', jpeg);
    assert.equal(out.length, 2);
    m.onvif(true); // repeated: nothing new
    m.end();
    assert.deepEqual(
      out.map((o) => o[0]),
      ['start', 'thumbnail', 'stop'],
    );
    assert.equal((out[2]![1] as ActivityPayload).eventId, opened.eventId);
    m.analyser('stop', stop('evt_b')); // after end(): nothing open, nothing sent
    assert.equal(out.length, 3);
  });
});
