/**
 * A Pi's recorder reads the camera's own activity messages (issue 19): the record it makes is the
 * one the cloud's store would make, and anything that is not such a message is not taken for one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviceActivity } from '../../../nodes/recorder/device-activity';

const TOPIC = 'prod/device/message/picam/picam-1/activity';

describe("a Pi camera's activity message", () => {
  it('becomes the activity record of its device, at the time it carries', () => {
    const start = deviceActivity(`${TOPIC}/start`, { eventId: 'e-1', activityType: 'MOTION', timestamp: 1_700_000_000 });
    assert.deepEqual(start, {
      kind: 'activity-start',
      deviceId: 'picam-1',
      deviceType: 'picam',
      eventId: 'e-1',
      activityType: 'MOTION',
      timeMs: 1_700_000_000_000,
    });
    assert.equal(deviceActivity(`${TOPIC}/stop`, { eventId: 'e-1', timestamp: 1_700_000_009 })?.kind, 'activity-stop');
    // Without a usable timestamp: the time it arrives (in-process on the Pi, at once).
    assert.equal(deviceActivity(`${TOPIC}/start`, { eventId: 'e-2', timestamp: 'soon' }, 42)?.timeMs, 42);
  });

  it('is not read from other messages or from bad ids', () => {
    const cases: Array<[unknown, unknown]> = [
      [`${TOPIC}/thumbnail/e-1`, Buffer.from([0xff, 0xd8])],
      ['prod/device/message/picam/picam-1/sensors/environment', { temperature: 20 }],
      [`${TOPIC}/start`, 'not an object'],
      [`${TOPIC}/start`, { activityType: 'MOTION' }],
      [`${TOPIC}/start`, { eventId: '../../etc/passwd' }],
      ['prod/device/message/picam/bad id!/activity/start', { eventId: 'e-1' }],
      [undefined, { eventId: 'e-1' }],
    ];
    for (const [topic, payload] of cases) assert.equal(deviceActivity(topic, payload), undefined, JSON.stringify(topic));
  });
});
