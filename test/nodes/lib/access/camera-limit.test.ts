/** A login limited to some cameras (issue 23): list rows and live feed messages of the others are left out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cameraLimitOf, feedMessageAllowed, limitRows } from '../../../../nodes/lib/access/camera-limit';
import { API_PRINCIPAL_LOCAL } from '../../../../nodes/lib/contract/dashboard-api';

describe('camera limit', () => {
  it("reads the login's cameras from the guard's principal, and all without one", () => {
    const locals = (cameras: unknown) => ({ [API_PRINCIPAL_LOCAL]: { name: 'vera', role: 'viewer', cameras } });
    assert.deepEqual(cameraLimitOf(locals(['cam-a', 'cam-b'])), ['cam-a', 'cam-b']);
    assert.deepEqual(cameraLimitOf(locals([])), [], 'no camera is not all cameras');
    assert.equal(cameraLimitOf(locals(null)), null);
    assert.equal(cameraLimitOf({}), null, 'no guard ran (a flow of its own)');
    assert.equal(cameraLimitOf(undefined), null);
  });

  it("leaves other cameras' rows out of each list, and keeps rows of no camera", () => {
    const body = {
      cameras: [{ camera_id: 'porch' }, { camera_id: 'garden' }],
      events: [{ cameraId: 'garden' }, { deviceId: 'porch' }, { note: 'no camera' }],
      nextCursor: 'x',
    };
    assert.deepEqual(limitRows(body, ['porch']), {
      cameras: [{ camera_id: 'porch' }],
      events: [{ deviceId: 'porch' }, { note: 'no camera' }],
      nextCursor: 'x',
    });
    assert.deepEqual(limitRows({ cameras: [{ id: 'porch' }, { id: 'garden' }] }, ['garden'], 'id'), { cameras: [{ id: 'garden' }] });
    assert.deepEqual(limitRows([{ path: 'a' }, { path: 'b' }], ['b'], 'path'), [{ path: 'b' }]);
  });

  it('sends a limited login only its cameras’ feed messages', () => {
    const sensor = { type: 'sensor', deviceId: 'garden', deviceType: 'picam', timeMs: 1 } as const;
    assert.equal(feedMessageAllowed(sensor as never, ['porch']), false);
    assert.equal(feedMessageAllowed(sensor as never, ['garden']), true);
    assert.equal(feedMessageAllowed(sensor as never, null), true);
    assert.equal(feedMessageAllowed({ type: 'hello', user: 'x', timeMs: 1 }, []), true);
    assert.equal(feedMessageAllowed({ type: 'stream-health', path: 'porch', timeMs: 1, online: true, readers: 0 }, ['porch']), true);
  });
});
