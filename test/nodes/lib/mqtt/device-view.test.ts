/**
 * DeviceView after a removal: a record still on its way for the removed device (a heartbeat that
 * passed the processor before the removal) does not bring it back into Home Assistant or the
 * MQTT API; the device connecting again does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceView } from '../../../../nodes/lib/mqtt/device-view';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { conn } from '../../../support/records';
import { CAMERA } from '../../../support/fixtures';

const heartbeat: StoreRecord = {
  kind: 'heartbeat',
  deviceId: CAMERA,
  deviceType: 'hive-cam',
  timeMs: 2,
  batteryLevel: 80,
  raw: '{}',
} as StoreRecord;

describe('DeviceView removals', () => {
  it('ignores late records of a removed device until it connects again', () => {
    const view = new DeviceView(['hive-cam']);
    assert.equal(view.apply(conn(1))?.capabilities, true);
    assert.ok(view.remove(CAMERA));
    assert.equal(view.apply(heartbeat), undefined, 'a late heartbeat is ignored');
    assert.equal(view.apply(conn(3, 'disconnected')), undefined, 'a late disconnection too');
    assert.equal(view.get(CAMERA), undefined);
    assert.deepEqual([...view.removedIds()], [CAMERA]);
    assert.equal(view.isRemoved(CAMERA), true);

    const back = view.apply(conn(4));
    assert.equal(back?.capabilities, true, 'connecting again announces it anew');
    assert.equal(view.isRemoved(CAMERA), false);
  });
});
