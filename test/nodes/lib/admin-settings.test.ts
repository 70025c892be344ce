/**
 * What the admin pages set reaches the code that uses it (issue 23): retention days change the
 * store's and the recorder's next runs and go back to the node's own when the node stops;
 * an alert channel turned off or limited to some cameras holds the others back with a reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { followRecordingRetention, followRetention, publishOverride } from '../../../nodes/lib/admin-settings';
import { alertScope, RETENTION_SCOPE } from '../../../nodes/lib/contract/admin-settings';
import { LivePolicy } from '../../../nodes/lib/alerts/live-policy';
import { DEFAULT_RETENTION } from '../../../nodes/lib/store/store';
import type { Alert } from '../../../nodes/lib/types';

const motion = (deviceId: string, eventId: string) =>
  ({ kind: 'activity', deviceId, deviceName: deviceId, eventId, timeMs: Date.now(), activityType: 'MOTION', mode: 'ARMED' }) as Alert;

describe('admin page settings in the process', () => {
  it('applies retention days to the next runs and restores the defaults when stopped', () => {
    const retention = { ...DEFAULT_RETENTION, activity: 30, sensors: 7 };
    const rules = { retainClipDays: 30, retainSegmentDays: 3 };
    const warnings: string[] = [];
    const stopStore = followRetention(retention, (m) => warnings.push(m));
    const stopRecorder = followRecordingRetention(rules, (m) => warnings.push(m));
    publishOverride(RETENTION_SCOPE, { eventsDays: 5, recordingsDays: 2 });
    assert.equal(retention.activity, 5);
    assert.equal(retention.sensors, 7, 'readings keep the default');
    assert.deepEqual(rules, { retainClipDays: 2, retainSegmentDays: 3 });
    publishOverride(RETENTION_SCOPE, { eventsDays: -3 });
    assert.equal(retention.activity, 5, 'a bad value stored by hand is left out');
    assert.match(warnings.join('\n'), /eventsDays must be a whole number/);
    stopStore();
    stopRecorder();
    publishOverride(RETENTION_SCOPE, {});
    assert.equal(retention.activity, 30);
    assert.equal(rules.retainClipDays, 30);
  });

  it('holds back alerts of a channel turned off, and of cameras left out, with the reason', () => {
    const policy = new LivePolicy({ cooldownMs: 0, modes: ['ARMED'], quietAction: 'silent' }, () => undefined);
    assert.equal(policy.decide(motion('porch', 'e1')).action, 'send');
    policy.apply({ cameras: ['garden'] });
    assert.deepEqual(policy.decide(motion('porch', 'e2')), {
      action: 'suppress',
      reason: 'camera porch does not alert on this channel (admin page)',
    });
    assert.equal(policy.decide(motion('garden', 'e3')).action, 'send');
    policy.apply({ enabled: false });
    assert.equal(policy.decide(motion('garden', 'e4')).action, 'suppress');
    policy.apply({});
    assert.equal(policy.decide(motion('porch', 'e5')).action, 'send', 'the defaults again');
    assert.equal(alertScope('telegram'), 'alerts.telegram');
  });
});
