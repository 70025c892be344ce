/** Hosted cameras' ids and command topics: one id per (Pi, camera), never a plain device's. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANY_DEVICE_ID_PATTERN, commandBase, commandTarget, hostedDeviceId, splitHostedId } from '../../../nodes/lib/hosted-devices';

describe('hosted device ids', () => {
  it("names a Pi's camera {pi}.{camera} and splits it back; a plain id is no hosted one", () => {
    assert.equal(hostedDeviceId('pi-1', 'door'), 'pi-1.door');
    assert.deepEqual(splitHostedId('pi-1.door'), { hostId: 'pi-1', cameraId: 'door' });
    assert.equal(splitHostedId('pi-1'), undefined);
    for (const bad of ['a.b.c', '.door', 'pi.', '..', 'pi/x.door', 'pi+.door']) {
      assert.equal(splitHostedId(bad), undefined, bad);
      assert.ok(!ANY_DEVICE_ID_PATTERN.test(bad), bad);
    }
    assert.throws(() => hostedDeviceId('pi.1', 'door'), /plain ids/);
    assert.throws(() => hostedDeviceId('pi-1', ''), /plain ids/);
  });

  it("sends a hosted camera's commands under its Pi, and reads the target back from the topic", () => {
    assert.equal(commandBase('prod', 'pi-1.door'), 'prod/honeycomb/pi-1/ipcam/door');
    assert.equal(commandBase('prod', 'cam-9'), 'prod/honeycomb/cam-9');
    assert.throws(() => commandBase('prod', '#'), /invalid device id/);
    assert.equal(commandTarget('prod/honeycomb/pi-1/ipcam/door/system/setmode'), 'pi-1.door');
    assert.equal(commandTarget('prod/honeycomb/cam-9/system/setmode'), 'cam-9');
    assert.equal(commandTarget('prod/device/status/picam/x'), undefined);
  });
});
