/**
 * The IP cameras' table on a real SQLite file: migration 10 gives the cameras
 * stored before it an empty ONVIF address and motion from the analyser, and a
 * camera's ONVIF address and motion source are kept across a reopen, and a removed camera takes
 * its device's registry row with it (a restart does not list or announce it again).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MIGRATIONS, migrate } from '../../../../nodes/lib/store/schema';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { CAMERA } from '../../../support/fixtures';
import { conn } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir('ip-cameras-');
const camera = {
  id: 'porch',
  name: 'Porch',
  mainUrl: '',
  subUrl: 'rtsp://192.168.1.50:554/sub',
  transport: 'tcp' as const,
  username: '',
  password: '',
  mode: 'ARMED' as const,
  motion: true,
};

describe('stored IP cameras', () => {
  it('migration 10: a camera stored before it reads with no ONVIF address and motion from the analyser', async () => {
    const file = join(dir, 'old.db');
    const c = await Connection.open(file);
    await migrate(
      c,
      MIGRATIONS.filter((m) => m.version < 10),
    );
    await c.run(
      `INSERT INTO ip_cameras (id, name, main_url, sub_url, transport, username, password, mode, motion, created_ms, updated_ms)
       VALUES ('old', 'Old', '', 'rtsp://10.0.0.2/sub', 'tcp', '', '', 'ARMED', 1, 1, 1)`,
    );
    assert.deepEqual(
      await migrate(c),
      MIGRATIONS.filter((m) => m.version >= 10).map((m) => m.version),
    );
    await c.close();
    const store = await EventStore.open({ file });
    const [row] = await store.ipCameras().list();
    assert.equal(row!.onvif, '');
    assert.equal(row!.motionSource, 'analyser');
    await store.close();
  });

  it("keeps a camera's ONVIF address and motion source across a reopen, and a change of them", async () => {
    const file = join(dir, 'new.db');
    let store = await EventStore.open({ file });
    await store.ipCameras().put({ ...camera, onvif: '192.168.1.50:8000', motionSource: 'both' });
    await store.close();
    store = await EventStore.open({ file });
    assert.deepEqual(
      (await store.ipCameras().get('porch'))!.onvif + ' ' + (await store.ipCameras().get('porch'))!.motionSource,
      '192.168.1.50:8000 both',
    );
    await store.ipCameras().put({ ...camera, onvif: '192.168.1.50', motionSource: 'onvif' });
    const row = await store.ipCameras().get('porch');
    assert.equal(row!.onvif, '192.168.1.50');
    assert.equal(row!.motionSource, 'onvif');
    await store.close();
  });

  it('removing a camera removes the device it was from the registry, and nothing of another device', async () => {
    const store = await EventStore.open({ file: join(dir, 'removed.db') });
    await store.ipCameras().put({ ...camera, onvif: '', motionSource: 'analyser' });
    await store.writeAsync({
      ...(conn(Date.now(), 'connected', 'Porch') as StoreRecord & { kind: 'connection' }),
      deviceId: 'porch',
      deviceType: 'ipcam',
    });
    await store.writeAsync(conn(Date.now()));
    const known = async () => (await store.knownDevices()).map((d) => d.camera_id).sort();
    assert.deepEqual(await known(), [CAMERA, 'porch'].sort());
    assert.equal(await store.ipCameras().remove('porch'), true);
    assert.deepEqual(await known(), [CAMERA]);
    assert.equal(await store.ipCameras().get('porch'), undefined);
    await store.close();
  });
});
