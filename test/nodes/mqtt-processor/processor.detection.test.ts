/**
 * Issue 20 in the processor: a start's `detection` (from a camera's person
 * detector) reaches the record and the alert; a malformed one is a dead letter
 * with the field named, the raw payload kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Processor } from '../../../nodes/mqtt-processor/processor';
import type { ActivityRecord, Alert, DeadLetterRecord } from '../../../nodes/lib/types';
import { topics } from '../../support/fixtures';

const NOW = 1_705_400_000_000;
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const make = () =>
  new Processor(
    {
      prefix: 'prod',
      deviceTypes: ['hive-cam', 'picam'],
      maxPayloadBytes: 256 * 1024,
      debounceMs: 0,
      deadLetterBytes: 4096,
      now: () => NOW,
    },
    () => undefined,
  );
const person = { label: 'person', score: 0.61, box: { x: 30, y: 35, w: 12, h: 60 } };

describe('mqtt-processor: detections on activity starts', () => {
  it('carries the detection to the record and the alert', () => {
    const out = make().handleDevice(
      topics.start(),
      json({ eventId: 'evt_1', activityType: 'MOTION_SMART', timestamp: NOW / 1000, detection: person }),
    );
    const r = out.record as ActivityRecord;
    assert.deepEqual([r.activityType, r.detection], ['MOTION_SMART', person]);
    assert.deepEqual((out.alerts[0] as Alert).detection, person);
  });

  it('rejects a malformed detection as a dead letter naming the field', () => {
    const p = make();
    const out = p.handleDevice(topics.start(), json({ eventId: 'evt_2', detection: { ...person, score: 'high' } }));
    assert.match(out.rejected ?? '', /"detection.score" must be a number 0..1/);
    const dead = out.record as DeadLetterRecord;
    assert.equal(dead.kind, 'dead-letter');
    assert.ok(dead.payload.includes('high'), 'the raw payload is kept');
    assert.equal(out.alerts.length, 0);
  });
});
