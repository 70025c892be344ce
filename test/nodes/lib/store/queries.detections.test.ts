/**
 * Issue 20 in the store: a start's detection (label, score, box) is kept with its
 * event (migration 17), /api/events' query filters by label, and a bad label is a
 * 400 with the reason.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { rows, start, stop } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
const person = { label: 'person', score: 0.62, box: { x: 30.5, y: 35, w: 12, h: 60 } };

describe('store: detections on events (migration 17)', () => {
  it('keeps label, score and box with the event and filters /api/events by label', async () => {
    const file = join(dir, 'detect.db');
    const store = await EventStore.open({ file });
    try {
      const t = Date.now() - 60_000;
      const smart = { ...start('evt_person', t, undefined, 'MOTION_SMART'), detection: person } as StoreRecord;
      const dog = {
        ...start('evt_dog', t + 1000),
        detection: { label: 'dog', score: 0.5, box: { x: 1, y: 2, w: 3, h: 4 } },
      } as StoreRecord;
      for (const r of [smart, dog, start('evt_plain', t + 2000), stop('evt_person', t + 5000)]) await store.writeAsync(r);

      const [row] = await rows(
        file,
        "SELECT activity_type, detection_label, detection_score, detection_box FROM activity_events WHERE event_id = 'evt_person'",
      );
      assert.deepEqual(row, {
        activity_type: 'MOTION_SMART',
        detection_label: 'person',
        detection_score: 0.62,
        detection_box: JSON.stringify(person.box),
      });

      const people = await store.query('events', { label: 'Person' });
      assert.deepEqual(
        people.events.map((e) => [e.event_id, e.activity_type, e.detection]),
        [['evt_person', 'MOTION_SMART', person]],
      );
      assert.equal(people.total, 1);
      const all = await store.query('events', {});
      assert.deepEqual(
        all.events.map((e) => [e.event_id, e.detection?.label ?? null]),
        [
          ['evt_plain', null],
          ['evt_dog', 'dog'],
          ['evt_person', 'person'],
        ],
      );
      await assert.rejects(store.query('events', { label: "person' OR 1=1 --" }), (err: Error & { statusCode?: number }) => {
        assert.equal(err.statusCode, 400);
        assert.match(err.message, /"label" must be a detector label/);
        return true;
      });
    } finally {
      await store.close();
    }
  });
});
