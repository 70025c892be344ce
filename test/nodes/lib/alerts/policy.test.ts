import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertPolicy, parseClock, parseModes, type PolicyOptions } from '../../../../nodes/lib/alerts/policy';
import type { Alert } from '../../../../nodes/lib/types';
import { parseLabelRule } from '../../../../nodes/lib/alerts/label-rule';

/** 12:00 UTC on a winter Monday */
const NOON = Date.UTC(2024, 0, 15, 12, 0);
const at = (hh: number, mm = 0) => Date.UTC(2024, 0, 15, hh, mm);
const SEND = { action: 'send', silent: false };
const SILENT = { action: 'send', silent: true };
const suppressed = (reason: string) => ({ action: 'suppress', reason });

function setup(opts: Partial<PolicyOptions> = {}, start = NOON) {
  const clock = { ms: start };
  const policy = new AlertPolicy({ cooldownMs: 0, modes: ['ARMED'], quietAction: 'drop', timeZone: 'UTC', ...opts }, () => clock.ms);
  return { clock, policy };
}

function alert(fields: Partial<Alert> = {}): Alert {
  return { kind: 'activity', deviceId: 'cam1', deviceName: 'Front Door', timeMs: NOON, severity: 'warning', text: 'motion', ...fields };
}

describe('AlertPolicy: deduplication', () => {
  it('suppresses an event id seen for the same device and kind, whatever the first verdict', () => {
    const { policy } = setup();
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-1' })), SEND);
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-1' })), suppressed('duplicate of event evt-1'));
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-1', deviceId: 'cam2' })), SEND, 'another device');
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-1', kind: 'text' })), SEND, 'another kind');
    assert.equal(policy.decide(alert({ eventId: 'evt-2', mode: 'PRIVACY' })).action, 'suppress');
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-2', mode: 'ARMED' })), suppressed('duplicate of event evt-2'));
  });

  it('never deduplicates alerts without an event id, and forgets ids after the window', () => {
    const { clock, policy } = setup({ dedupeWindowMs: 3600_000 });
    assert.deepEqual([policy.decide(alert()), policy.decide(alert())], [SEND, SEND]);
    policy.decide(alert({ eventId: 'evt-1' }));
    clock.ms += 3600_000 - 1;
    assert.equal(policy.decide(alert({ eventId: 'evt-1' })).action, 'suppress');
    clock.ms += 1;
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-1' })), SEND);
  });
});

describe('AlertPolicy: modes', () => {
  it('sends activity only in the chosen modes, and when the mode is unknown', () => {
    const { policy } = setup({ modes: ['ARMED', 'LIVESTREAMONLY'] });
    assert.deepEqual(policy.decide(alert({ mode: 'PRIVACY' })), suppressed('camera mode PRIVACY is not one of ARMED, LIVESTREAMONLY'));
    assert.deepEqual(policy.decide(alert({ mode: 'ARMED' })), SEND);
    assert.deepEqual(policy.decide(alert({ mode: 'LIVESTREAMONLY' })), SEND);
    assert.deepEqual(policy.decide(alert({ mode: undefined })), SEND, 'a camera that never reported a mode');
    assert.deepEqual(policy.decide(alert({ kind: 'camera-offline', mode: 'PRIVACY' })), SEND, 'not an activity');
  });
});

describe('AlertPolicy: quiet hours', () => {
  const night = { quietHours: { start: '22:00', end: '07:00' } };

  it('drops non-critical alerts in a window that wraps midnight', () => {
    const { clock, policy } = setup(night);
    const verdict = (ms: number, fields: Partial<Alert> = {}) => ((clock.ms = ms), policy.decide(alert(fields)));
    for (const ms of [at(22), at(23, 30), at(0), at(6, 59)]) assert.deepEqual(verdict(ms), suppressed('quiet hours 22:00–07:00'));
    for (const ms of [at(7), at(12), at(21, 59)]) assert.deepEqual(verdict(ms), SEND);
    assert.deepEqual(verdict(at(23), { kind: 'camera-offline', severity: 'critical' }), SEND, 'critical ignores quiet hours');
  });

  it('sends silently with quietAction silent, and a window within a day', () => {
    const { clock, policy } = setup({ quietHours: { start: '13:00', end: '14:30' }, quietAction: 'silent' });
    clock.ms = at(14);
    assert.deepEqual(policy.decide(alert()), SILENT);
    assert.deepEqual(policy.decide(alert({ severity: 'critical' })), SEND);
    for (const ms of [at(12, 59), at(14, 30), at(23)]) {
      clock.ms = ms;
      assert.deepEqual(policy.decide(alert()), SEND);
    }
  });

  it('reads the clock in the given time zone, summer time included', () => {
    const summer = Date.UTC(2024, 6, 1, 20, 30); // 22:30 in Berlin (UTC+2), 16:30 in New York
    const winter = Date.UTC(2024, 0, 16, 3, 30); // 22:30 in New York (UTC-5), 04:30 in Berlin
    const decide = (timeZone: string, ms: number) => setup({ ...night, timeZone }, ms).policy.decide(alert()).action;
    assert.equal(decide('Europe/Berlin', summer), 'suppress');
    assert.equal(decide('UTC', summer), 'send');
    assert.equal(decide('America/New_York', summer), 'send');
    assert.equal(decide('America/New_York', winter), 'suppress');
    assert.equal(decide('America/New_York', Date.UTC(2024, 0, 16, 2, 30)), 'send', '21:30 in New York');
  });

  it('start equal to end means off', () => {
    const { policy } = setup({ quietHours: { start: '00:00', end: '00:00' } }, at(0, 30));
    assert.deepEqual(policy.decide(alert()), SEND);
  });
});

describe('AlertPolicy: cooldown', () => {
  it('holds back a repeat from the same device and kind until the cooldown ends', () => {
    const { clock, policy } = setup({ cooldownMs: 60_000 });
    assert.deepEqual(policy.decide(alert()), SEND);
    clock.ms += 12_000;
    assert.deepEqual(policy.decide(alert()), suppressed('cooldown: another motion alert from Front Door 12 s ago (cooldown 1 min)'));
    assert.deepEqual(policy.decide(alert({ deviceId: 'cam2' })), SEND, 'another device');
    clock.ms = NOON + 59_999;
    assert.equal(policy.decide(alert()).action, 'suppress');
    clock.ms = NOON + 60_000;
    assert.deepEqual(policy.decide(alert()), SEND);
  });

  it('is kept per activity type', () => {
    const { policy } = setup({ cooldownMs: 60_000 });
    assert.deepEqual(policy.decide(alert({ activityType: 'PERSON' })), SEND);
    assert.deepEqual(policy.decide(alert({ activityType: 'MOTION' })), SEND);
    assert.equal(policy.decide(alert({ activityType: 'person' })).action, 'suppress');
    assert.equal(policy.decide(alert({ activityType: undefined })).action, 'suppress', 'no type is motion');
  });

  it('applies to sensor and text alerts, not to state changes', () => {
    const { policy } = setup({ cooldownMs: 60_000 });
    const sensor = alert({ kind: 'sensor-out-of-range', sensor: { metric: 'temperature', value: 41, unit: '°C', max: 35 } });
    assert.deepEqual([policy.decide(sensor).action, policy.decide(sensor).action], ['send', 'suppress']);
    const text = alert({ kind: 'text', text: 'hello' });
    assert.deepEqual([policy.decide(text).action, policy.decide(text).action], ['send', 'suppress']);
    for (const kind of ['camera-offline', 'camera-online', 'camera-offline', 'stream-down', 'stream-up', 'stream-down'] as const) {
      assert.deepEqual(policy.decide(alert({ kind })), SEND, kind);
    }
  });

  it('starts only when an alert is sent', () => {
    // 30 s before quiet hours end: a cooldown started here would still run at 12:00
    const { clock, policy } = setup({ cooldownMs: 60_000, quietHours: { start: '11:00', end: '12:00' } }, at(11, 59) + 30_000);
    assert.equal(policy.decide(alert()).action, 'suppress', 'quiet hours');
    assert.equal(policy.decide(alert({ mode: 'PRIVACY' })).action, 'suppress', 'mode');
    clock.ms = at(12);
    assert.deepEqual(policy.decide(alert()), SEND);
  });

  it('is off at 0', () => {
    const { policy } = setup({ cooldownMs: 0 });
    assert.deepEqual([policy.decide(alert()), policy.decide(alert())], [SEND, SEND]);
  });
});

describe('AlertPolicy: memory and odd input', () => {
  it('stays bounded over many devices and events', () => {
    const { clock, policy } = setup({ cooldownMs: 3600_000 });
    for (let i = 0; i < 300_000; i++) {
      clock.ms += 10;
      policy.decide(alert({ deviceId: `cam${i}`, eventId: `evt-${i}` }));
    }
    assert.ok(policy.remembered <= 140_000, `${policy.remembered} keys`);
    assert.ok(policy.remembered >= 70_000, 'recent keys are still remembered');
    assert.equal(policy.decide(alert({ deviceId: 'cam299999', eventId: 'evt-299999' })).action, 'suppress');
  });

  it('does not throw on wrongly typed fields or an unknown kind', () => {
    const { policy } = setup({ cooldownMs: 60_000 });
    const junk = { kind: 'doorbell', deviceId: 5, deviceName: null, eventId: { x: 1 }, mode: 3, activityType: [] };
    assert.deepEqual(policy.decide(junk as unknown as Alert), SEND);
    assert.deepEqual(policy.decide(junk as unknown as Alert), SEND, 'unknown kinds have no cooldown');
    assert.doesNotThrow(() => policy.decide({ ...junk, kind: 'activity' } as unknown as Alert));
    assert.doesNotThrow(() => policy.decide(null as unknown as Alert));
  });
});

describe('parseClock and parseModes', () => {
  it('parseClock reads HH:MM and rejects anything else', () => {
    assert.deepEqual(['00:00', '07:00', '7:05', ' 22:30 ', '23:59'].map(parseClock), [0, 420, 425, 1350, 1439]);
    for (const bad of ['24:00', '12:60', '12:5', 'noon', '', '1200', '12-00', '-1:00']) assert.equal(parseClock(bad), undefined, bad);
    assert.equal(parseClock(undefined as unknown as string), undefined);
  });

  it('parseModes accepts any case and spacing, and names an unknown mode', () => {
    assert.deepEqual(parseModes('armed, LiveStreamOnly'), ['ARMED', 'LIVESTREAMONLY']);
    assert.deepEqual(parseModes(['privacy', 'ARMED', 'Armed']), ['PRIVACY', 'ARMED']);
    assert.throws(() => parseModes('ARMED, AWAY'), { message: 'unknown camera mode "AWAY" (expected ARMED, LIVESTREAMONLY, PRIVACY)' });
    assert.throws(() => parseModes(' , '), /no camera mode given/);
  });

  it('the constructor refuses bad settings with a clear message', () => {
    const make = (opts: Partial<PolicyOptions>) => () => setup(opts);
    assert.throws(make({ quietHours: { start: '25:00', end: '07:00' } }), /quiet hours start "25:00" is not a time/);
    assert.throws(make({ quietHours: { start: '22:00', end: 'late' } }), /quiet hours end "late" is not a time/);
    assert.throws(make({ quietHours: { start: '22:00', end: '07:00' }, timeZone: 'Mars/Olympus' }), /unknown time zone "Mars\/Olympus"/);
    assert.throws(make({ modes: ['AWAY' as never] }), /unknown camera mode "AWAY"/);
    assert.throws(make({ cooldownMs: -1 }), /cooldown must be/);
    assert.throws(make({ quietAction: 'mute' as never }), /quiet-hours action/);
  });
});

describe('AlertPolicy: an event alerted later than its start (Alert.update, issue 20)', () => {
  const person = { label: 'person', score: 0.7, box: { x: 10, y: 10, w: 10, h: 40 } };

  it('sends an update that now reaches a required zone, when the zone rule alone held the start back; once', () => {
    const { policy } = setup({ zones: ['driveway'] });
    assert.equal(policy.decide(alert({ eventId: 'evt-1', zones: ['garden'] })).action, 'suppress');
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-1', zones: ['garden'], update: true })).action, 'suppress', 'still not there');
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-1', zones: ['garden', 'driveway'], update: true })), SEND);
    assert.deepEqual(
      policy.decide(alert({ eventId: 'evt-1', zones: ['garden', 'driveway', 'porch'], update: true })),
      suppressed('duplicate of event evt-1'),
    );
  });

  it('sends an update that gained a required label; an update of a start that was sent, or held back for another reason, is a duplicate', () => {
    const { policy } = setup({ onlyLabels: parseLabelRule('person') });
    assert.equal(policy.decide(alert({ eventId: 'evt-1', activityType: 'MOTION' })).action, 'suppress');
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-1', activityType: 'MOTION_SMART', detection: person, update: true })), SEND);

    const plain = setup();
    assert.deepEqual(plain.policy.decide(alert({ eventId: 'evt-2' })), SEND);
    assert.deepEqual(
      plain.policy.decide(alert({ eventId: 'evt-2', update: true, detection: person })),
      suppressed('duplicate of event evt-2'),
    );

    const disarmed = setup({ onlyLabels: parseLabelRule('person') });
    assert.equal(disarmed.policy.decide(alert({ eventId: 'evt-3', mode: 'PRIVACY' })).action, 'suppress');
    assert.deepEqual(
      disarmed.policy.decide(alert({ eventId: 'evt-3', mode: 'ARMED', detection: person, update: true })),
      suppressed('duplicate of event evt-3'),
    );
    // a redelivered first alert is still a duplicate, even when its rule held it back
    assert.deepEqual(policy.decide(alert({ eventId: 'evt-1', activityType: 'MOTION' })), suppressed('duplicate of event evt-1'));
  });
});
