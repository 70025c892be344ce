/**
 * "Only for motion in zones": through AlertPolicy, as every alert node decides.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertPolicy } from '../../../../nodes/lib/alerts/policy';
import { parseZoneList } from '../../../../nodes/lib/alerts/zone-rule';
import type { Alert } from '../../../../nodes/lib/types';

const motion = (eventId: string, zones?: string[]): Alert => ({
  kind: 'activity',
  deviceId: 'picam-1',
  deviceName: 'Kitchen Pi',
  timeMs: 0,
  severity: 'warning',
  text: 'motion detected on Kitchen Pi',
  eventId,
  activityType: 'MOTION',
  mode: 'ARMED',
  ...(zones ? { zones } : {}),
});

describe('only for motion in zones', () => {
  const policy = () =>
    new AlertPolicy({ cooldownMs: 0, modes: ['ARMED'], quietAction: 'silent', zones: parseZoneList('driveway, front door') });

  it('sends motion in one of the zones, holds back motion elsewhere with the reason', () => {
    const p = policy();
    assert.deepEqual(p.decide(motion('e1', ['garden', 'driveway'])), { action: 'send', silent: false });
    assert.deepEqual(p.decide(motion('e2', ['garden'])), { action: 'suppress', reason: 'motion in garden, not in driveway, front door' });
    assert.deepEqual(p.decide(motion('e3', [])), { action: 'suppress', reason: 'motion outside every zone, not in driveway, front door' });
  });

  it('lets through cameras that report no zones, other kinds, and every alert when no zone is asked for', () => {
    const p = policy();
    assert.equal(p.decide(motion('e4')).action, 'send', 'a VBC01 knows none of our zones');
    assert.equal(p.decide({ ...motion('e5', []), kind: 'camera-offline' }).action, 'send');
    const anywhere = new AlertPolicy({ cooldownMs: 0, modes: ['ARMED'], quietAction: 'silent' });
    assert.equal(anywhere.decide(motion('e6', [])).action, 'send');
  });

  it('reads the list from the editor, refusing what cannot be a zone name', () => {
    assert.deepEqual(parseZoneList(' driveway,,front door, driveway '), ['driveway', 'front door']);
    assert.deepEqual(parseZoneList(''), []);
    assert.throws(() => parseZoneList('driveway; garden'), /"driveway; garden" is not a zone name/);
  });
});
