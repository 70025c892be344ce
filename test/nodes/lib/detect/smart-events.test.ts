import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import { SmartEvents, type SmartActivityPayload } from '../../../../nodes/lib/detect/smart-events';
import { decodeJpeg } from '../../../../nodes/lib/detect/jpeg';
import { DEFAULT_FILTER, type Detection, type FrameDetections } from '../../../../nodes/lib/detect/types';

const PICTURE = readFileSync(join(__dirname, '../../../fixtures/detect/person-rendered-60.jpg'));
const person: Detection = { label: 'person', score: 0.62, box: { x: 30, y: 35, w: 12, h: 60 } };
const car: Detection = { label: 'car', score: 0.7, box: { x: 5, y: 80, w: 10, h: 8 } };
const result = (...detections: Detection[]): FrameDetections => ({ width: 640, height: 442, detections, ms: 5 });
const start = (eventId = 'evt_1'): SmartActivityPayload => ({
  eventId,
  activityType: 'MOTION',
  timestamp: 1000,
  confidence: 0.8,
  region: { x: 1, y: 2, w: 3, h: 4 },
});

function setup() {
  const sent: Array<{ kind: string; payload?: SmartActivityPayload; jpeg?: Buffer; eventId?: string }> = [];
  const smart = new SmartEvents(
    { filter: DEFAULT_FILTER, holdMs: 3000, lookbackMs: 2000 },
    {
      activity: (kind, payload) => sent.push({ kind, payload }),
      thumbnail: (eventId, jpeg) => sent.push({ kind: 'thumbnail', eventId, jpeg }),
      problem: (m) => assert.fail(m),
    },
  );
  return { smart, sent };
}

describe('SmartEvents', () => {
  it('a person seen during the onset makes the start MOTION_SMART at once, with the box and a boxed thumbnail', () => {
    const { smart, sent } = setup();
    smart.observe(PICTURE, 1_000_000 - 500, result(car, person));
    smart.start('evt_1', start(), 1_000_000, Buffer.from('plain'));
    assert.deepEqual(sent[0], { kind: 'start', payload: { ...start(), activityType: 'MOTION_SMART', detection: person } });
    assert.equal(sent[1]!.kind, 'thumbnail');
    const boxed = decodeJpeg(sent[1]!.jpeg!);
    // the box's top edge (y 35 % of 442 ≈ row 155), in the middle of its width: green
    const i = (155 * boxed.width + Math.round(0.36 * boxed.width)) * 3;
    const [r, g, b] = [boxed.data[i]!, boxed.data[i + 1]!, boxed.data[i + 2]!];
    assert.ok(g > 180 && r < 80 && b < 120, `box edge is green: ${r},${g},${b}`);
    smart.close();
  });

  it('holds the start until a person is seen, at most holdMs, and keeps start before stop', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { smart, sent } = setup();
      smart.start('evt_1', start(), 1_000_000, Buffer.from('plain'));
      assert.equal(sent.length, 0, 'held');
      smart.observe(PICTURE, 1_000_400, result(car));
      assert.equal(sent.length, 0, 'a car does not end the hold');
      smart.observe(PICTURE, 1_000_800, result(person));
      assert.equal(sent[0]!.payload!.activityType, 'MOTION_SMART');
      smart.stop({ eventId: 'evt_1', activityType: 'MOTION', timestamp: 1005 });
      assert.deepEqual(
        sent.map((s) => s.kind),
        ['start', 'thumbnail', 'stop'],
      );

      // nothing seen: sent as plain MOTION with the motion's own picture when the hold ends
      smart.start('evt_2', start('evt_2'), 2_000_000, Buffer.from('plain'));
      mock.timers.tick(2999);
      assert.equal(sent.length, 3);
      mock.timers.tick(1);
      assert.deepEqual(sent.slice(3), [
        { kind: 'start', payload: start('evt_2') },
        { kind: 'thumbnail', eventId: 'evt_2', jpeg: Buffer.from('plain') },
      ]);

      // a stop during the hold releases the start first: the pair stays in order
      smart.start('evt_3', start('evt_3'), 3_000_000);
      smart.stop({ eventId: 'evt_3', activityType: 'MOTION', timestamp: 3001 });
      assert.deepEqual(
        sent.slice(5).map((s) => `${s.kind} ${s.payload?.eventId}`),
        ['start evt_3', 'stop evt_3'],
      );
      smart.close();
    } finally {
      mock.timers.reset();
    }
  });

  it('a car alone gives the start its detection but leaves it MOTION; old detections do not describe a new event', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { smart, sent } = setup();
      smart.observe(PICTURE, 1_000_000, result(car));
      smart.start('evt_1', start(), 1_000_100);
      mock.timers.tick(3000);
      assert.deepEqual(sent[0], { kind: 'start', payload: { ...start(), detection: car } });
      smart.stop({ eventId: 'evt_1', timestamp: 1010 });
      smart.observe(PICTURE, 1_050_000, result(person));
      smart.start('evt_2', start('evt_2'), 1_100_000);
      mock.timers.tick(3000);
      assert.deepEqual(sent.at(-1)!.payload ?? sent.at(-2)!.payload, start('evt_2'), 'a person 50 s earlier is not this event');
      smart.close();
    } finally {
      mock.timers.reset();
    }
  });

  it('below the threshold or smaller than the minimum box: not counted', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { smart, sent } = setup();
      smart.observe(PICTURE, 1_000_000, result({ ...person, score: 0.39 }, { ...person, box: { ...person.box, h: 4 } }));
      smart.start('evt_1', start(), 1_000_000);
      mock.timers.tick(3000);
      assert.deepEqual(sent[0], { kind: 'start', payload: start() });
    } finally {
      mock.timers.reset();
    }
  });

  it('a person seen after the hold: the start goes again, same id and time, as MOTION_SMART with the boxed thumbnail, once', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { smart, sent } = setup();
      smart.start('evt_1', start(), 1_000_000, Buffer.from('plain'));
      mock.timers.tick(3000);
      assert.deepEqual(sent[0], { kind: 'start', payload: start() });
      smart.observe(PICTURE, 1_005_000, result(person));
      assert.deepEqual(sent[2], { kind: 'start', payload: { ...start(), activityType: 'MOTION_SMART', detection: person } });
      assert.equal(sent[3]!.kind, 'thumbnail');
      assert.notDeepEqual(sent[3]!.jpeg, Buffer.from('plain'));
      smart.observe(PICTURE, 1_005_500, result(person));
      assert.equal(sent.length, 4, 'a second sighting sends nothing more');
      smart.close();
    } finally {
      mock.timers.reset();
    }
  });

  it('zones touched after the start: a held start takes them, a sent one goes again with them and the picture now', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { smart, sent } = setup();
      smart.start('evt_1', start(), 1_000_000);
      smart.zones('evt_1', ['garden']);
      mock.timers.tick(3000);
      assert.deepEqual(sent, [{ kind: 'start', payload: { ...start(), zones: ['garden'] } }]);
      smart.zones('evt_1', ['garden', 'driveway'], Buffer.from('now'));
      assert.deepEqual(sent.slice(1), [
        { kind: 'start', payload: { ...start(), zones: ['garden', 'driveway'] } },
        { kind: 'thumbnail', eventId: 'evt_1', jpeg: Buffer.from('now') },
      ]);
      smart.stop({ eventId: 'evt_1', timestamp: 1010 });
      smart.zones('evt_1', ['garden', 'driveway', 'door']);
      assert.equal(sent.length, 4, 'an ended event is not sent again');
      smart.close();
    } finally {
      mock.timers.reset();
    }
  });
});
