/**
 * Issue 13 in the store, against real SQLite files: events keyed by camera and
 * event id everywhere (rows, alerts, uploads), device times kept as sent when
 * they were unusable, last_seen never in the future, the connection alert
 * state a restart needs, and migration 5 on a file written by version 4.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ActivityRecord, Alert, AlertSnapshot, StoreRecord } from '../../../../nodes/lib/types';
import { MIGRATIONS, migrate } from '../../../../nodes/lib/store/schema';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import { AmbiguousEvent } from '../../../../nodes/lib/store/uploads';
import { CAMERA, motionAlert } from '../../../support/fixtures';
import { rows, start } from '../../../support/records';
import { eachDialect, readRows } from '../../../support/stores';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
let n = 0;
const fresh = () => EventStore.open({ file: join(dir, `k${n++}.db`) });
const [A, B] = ['cam-a', 'cam-b'];
const T = Math.floor(Date.now() / 1000) - 3600; // an hour ago, Unix seconds

const stopOf = (eventId: string, timeMs: number, deviceId: string): StoreRecord => ({
  kind: 'activity-stop',
  deviceId,
  deviceType: 'hive-cam',
  timeMs,
  eventId,
  activityType: 'MOTION',
});

type EventRow = { camera_id: string; start_timestamp: number; end_timestamp: number; duration_seconds: number };

describe('two cameras with the same eventId', () => {
  it("record a Telegram message id and a snapshot only on the alert's own camera's event", async () => {
    const store = await fresh();
    await store.writeAsync(start('evt_same', T * 1000, A));
    await store.writeAsync(start('evt_same', T * 1000, B));
    const outbox = store.outbox('telegram', 'node-1');
    const alert = (deviceId: string): Alert => motionAlert('evt_same', { deviceId });
    await outbox.add(
      [A, B].map((deviceId) => ({
        target: '42',
        item: 'alert' as const,
        dedupeKey: `alert:${deviceId}`,
        payload: alert(deviceId),
        deviceId,
        eventId: 'evt_same',
      })),
    );
    const [, rowB] = await outbox.due(Date.now() + 1000);
    assert.equal(rowB!.deviceId, B);
    await outbox.markSent([rowB!], { messageId: 777 }, true);
    const image = Buffer.from('jpeg');
    const snapshot: AlertSnapshot = { kind: 'snapshot', deviceId: B, deviceName: 'B', eventId: 'evt_same', image, timeMs: 1 };
    const [added] = await outbox.add([
      { target: '42', item: 'snapshot', dedupeKey: 'snap:B', payload: snapshot, image, deviceId: B, eventId: 'evt_same' },
    ]);
    assert.equal(added!.state, 'pending', "B's alert was sent: its snapshot goes out as an update of B's message");
    assert.equal((await outbox.alertFor('42', A, 'evt_same'))!.deviceId, A);
    assert.equal((await outbox.alertFor('42', B, 'evt_same'))!.messageId, 777);
    await store.close();
    assert.deepEqual(
      await rows(store.file, 'SELECT camera_id, telegram_msg_id FROM activity_events WHERE event_id = ? ORDER BY camera_id', ['evt_same']),
      [
        { camera_id: A, telegram_msg_id: null },
        { camera_id: B, telegram_msg_id: 777 },
      ],
    );
  });

  it("link an upload to its own camera's event, and ask which camera when the id alone is ambiguous", async () => {
    const store = await fresh();
    await store.writeAsync(start('evt_same', T * 1000, A));
    await store.writeAsync(start('evt_same', T * 1000, B));
    const file = (cameraId: string) => ({
      eventId: 'evt_same',
      cameraId,
      fileType: 'thumbnail' as const,
      filePath: `/uploads/${cameraId}/thumb.jpg`,
      fileName: 'thumb.jpg',
      fileSize: 4,
      uploadDir: `/uploads/${cameraId}`,
      uploadedAt: T,
    });
    const uploads = store.uploads();
    await uploads.recordUpload([file(B)]);
    assert.equal((await uploads.latest('evt_same', 'thumbnail'))!.cameraId, B, 'one camera uploaded: the id is enough');
    await uploads.recordUpload([file(A)]);
    await assert.rejects(uploads.latest('evt_same', 'thumbnail'), AmbiguousEvent);
    assert.equal((await uploads.latest('evt_same', 'thumbnail', A))!.filePath, '/uploads/cam-a/thumb.jpg');
    assert.equal((await uploads.latest('evt_same', 'thumbnail', B))!.filePath, '/uploads/cam-b/thumb.jpg');
    await store.close();
    assert.deepEqual(
      await rows(store.file, 'SELECT camera_id, thumbnail_path FROM activity_events WHERE event_id = ? ORDER BY camera_id', ['evt_same']),
      [
        { camera_id: A, thumbnail_path: '/uploads/cam-a/thumb.jpg' },
        { camera_id: B, thumbnail_path: '/uploads/cam-b/thumb.jpg' },
      ],
    );
  });
});

// The cases that need only ingest and queries run on both engines (test/support/stores.ts).
eachDialect('events and times', (open) => {
  describe('two cameras with the same eventId', () => {
    it('keep two events; start and stop interleaved, each pairs with its own camera (also in one batch)', async () => {
      const store = await open();
      // separate commits
      await store.writeAsync(start('evt_same', T * 1000, A));
      await store.writeAsync(start('evt_same', (T + 5) * 1000, B));
      await store.writeAsync(stopOf('evt_same', (T + 7) * 1000, B));
      await store.writeAsync(stopOf('evt_same', (T + 20) * 1000, A));
      // one batch: the writer groups what is queued together
      await Promise.all([
        store.writeAsync(start('evt_batch', T * 1000, A)),
        store.writeAsync(start('evt_batch', (T + 1) * 1000, B)),
        store.writeAsync(stopOf('evt_batch', (T + 3) * 1000, B)),
        store.writeAsync(stopOf('evt_batch', (T + 9) * 1000, A)),
      ]);
      await store.close();
      for (const [eventId, durations] of [
        ['evt_same', { [A]: 20, [B]: 2 }],
        ['evt_batch', { [A]: 9, [B]: 2 }],
      ] as const) {
        const events = await readRows<EventRow>(
          store,
          'SELECT camera_id, start_timestamp, end_timestamp, duration_seconds FROM activity_events WHERE event_id = ? ORDER BY camera_id',
          [eventId],
        );
        assert.deepEqual(
          events.map((e) => [e.camera_id, e.duration_seconds]),
          [
            [A, durations[A]],
            [B, durations[B]],
          ],
          eventId,
        );
      }
    });
  });

  describe('a stop timed before its start (a camera clock set back between the two)', () => {
    it('gets a duration of 0, never a negative one, in either order and in one batch', async () => {
      const store = await open();
      await store.writeAsync(start('evt_start_first', (T + 10) * 1000, A));
      await store.writeAsync(stopOf('evt_start_first', T * 1000, A));
      await store.writeAsync(stopOf('evt_stop_first', T * 1000, A));
      await store.writeAsync(start('evt_stop_first', (T + 10) * 1000, A));
      await Promise.all([
        store.writeAsync(start('evt_one_batch', (T + 10) * 1000, A)),
        store.writeAsync(stopOf('evt_one_batch', T * 1000, A)),
      ]);
      await store.close();
      const events = await readRows<EventRow & { event_id: string }>(
        store,
        'SELECT event_id, start_timestamp, end_timestamp, duration_seconds FROM activity_events ORDER BY event_id',
      );
      assert.deepEqual(
        events.map((e) => [e.event_id, e.start_timestamp, e.end_timestamp, e.duration_seconds]),
        ['evt_one_batch', 'evt_start_first', 'evt_stop_first'].map((id) => [id, T + 10, T, 0]),
        'both times kept as sent',
      );
    });
  });

  describe('text with a NUL character', () => {
    it('is kept whole, the NUL as U+FFFD, in a name, a type and a dead letter', async () => {
      const store = await open();
      const nowMs = Date.now();
      const binary = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]).toString('latin1');
      await store.writeAsync({
        kind: 'connection',
        deviceId: CAMERA,
        deviceType: 'hive-cam',
        timeMs: nowMs,
        status: 'connected',
        name: 'Front\u0000Door',
        raw: '{}',
      });
      await store.writeAsync({ ...(start('evt_nul', nowMs, CAMERA) as ActivityRecord), activityType: 'A\u0000B' });
      await store.writeAsync({
        kind: 'dead-letter',
        timeMs: nowMs,
        source: 'prod/device/status/hive-cam/x',
        reason: 'invalid JSON',
        payload: binary,
        payloadBytes: 11,
      });
      await store.close();
      const [cam] = await readRows<{ camera_name: string }>(store, 'SELECT camera_name FROM camera_registry');
      assert.equal(cam!.camera_name, 'Front\uFFFDDoor');
      const [event] = await readRows<{ activity_type: string }>(store, 'SELECT activity_type FROM activity_events');
      assert.equal(event!.activity_type, 'A\uFFFDB');
      const [dead] = await readRows<{ payload: string }>(store, 'SELECT payload FROM dead_letters');
      assert.equal(dead!.payload, binary.replaceAll('\u0000', '\uFFFD'), 'all 11 characters');
    });
  });

  describe('device times', () => {
    it('keeps an unusable device time as sent beside the receive time, in every table that has a time', async () => {
      const store = await open();
      const nowMs = Date.now();
      const base = { deviceId: CAMERA, deviceType: 'hive-cam', timeMs: nowMs, deviceTimeRaw: '"hello 5"' };
      await store.writeAsync({ ...base, kind: 'heartbeat', raw: '{"timestamp":"hello 5"}' });
      await store.writeAsync({ ...base, kind: 'activity-start', eventId: 'e1', activityType: 'MOTION', deviceTimeRaw: '1e+20' });
      await store.writeAsync({ ...base, kind: 'activity-stop', eventId: 'e1', activityType: 'MOTION', deviceTimeRaw: '4102444800' });
      await store.writeAsync({ ...base, kind: 'sensor', deviceId: 'pi-1', deviceType: 'picam', temperature: 20 });
      await store.close();
      assert.deepEqual(await readRows(store, 'SELECT device_time_raw FROM status_events'), [{ device_time_raw: '"hello 5"' }]);
      assert.deepEqual(await readRows(store, 'SELECT start_timestamp, start_time_raw, end_time_raw FROM activity_events'), [
        { start_timestamp: Math.floor(nowMs / 1000), start_time_raw: '1e+20', end_time_raw: '4102444800' },
      ]);
      assert.deepEqual(await readRows(store, 'SELECT device_time_raw FROM sensor_readings'), [{ device_time_raw: '"hello 5"' }]);
    });

    it('never moves last_seen into the future', async () => {
      const store = await open();
      const before = Math.floor(Date.now() / 1000);
      await store.writeAsync({ kind: 'heartbeat', deviceId: CAMERA, deviceType: 'hive-cam', timeMs: Date.UTC(2100, 0, 1), raw: '{}' });
      await store.close();
      const [cam] = await readRows<{ last_seen: number }>(store, 'SELECT last_seen FROM camera_registry');
      assert.ok(cam!.last_seen >= before && cam!.last_seen <= Math.floor(Date.now() / 1000) + 1, `last_seen ${cam!.last_seen}`);
    });
  });

  describe('connection alert state for a restart', () => {
    it('tells the processor when a disconnected device went offline and what its user was told', async () => {
      const store = await open();
      const conn = (status: 'connected' | 'disconnected', announced?: 'online' | 'offline'): StoreRecord => ({
        kind: 'connection',
        deviceId: CAMERA,
        deviceType: 'hive-cam',
        timeMs: Date.now(),
        status,
        raw: '{}',
        announced,
      });
      await store.writeAsync(conn('connected', 'online'));
      const before = Math.floor(Date.now() / 1000);
      await store.writeAsync(conn('disconnected'));
      let [dev] = await store.knownDevices();
      assert.equal(dev!.connection_status, 'disconnected');
      assert.equal(dev!.connection_alert, 'online', 'the offline alert is still pending');
      assert.ok(dev!.disconnected_at! >= before);
      await store.writeAsync({
        kind: 'connection-alert',
        deviceId: CAMERA,
        deviceType: 'hive-cam',
        timeMs: Date.now(),
        announced: 'offline',
      });
      [dev] = await store.knownDevices();
      assert.equal(dev!.connection_alert, 'offline');
      await store.close();
    });
  });
});

describe('migration 5 on a version 4 file', () => {
  it('keeps every event, allows one event id per camera, heals impossible times and sets the alert state', async () => {
    const file = join(dir, 'v4.db');
    const c = await Connection.open(file);
    await migrate(
      c,
      MIGRATIONS.filter((m) => m.version <= 4),
    );
    const now = Math.floor(Date.now() / 1000);
    await c.exec(`
      INSERT INTO activity_events (event_id, camera_id, start_timestamp, end_timestamp, duration_seconds, telegram_msg_id, created_at)
        VALUES ('evt_old', 'cam-a', ${T}, ${T + 10}, 10, 5, ${T}),
               ('evt_future', 'cam-a', 100000000000000000000, NULL, NULL, NULL, ${T});
      INSERT INTO camera_registry (camera_id, connection_status, last_seen) VALUES
        ('cam-a', 'connected', 4102444800), ('cam-b', 'disconnected', ${T});
    `);
    await c.close();

    const store = await EventStore.open({ file });
    await store.writeAsync(start('evt_old', T * 1000, B));
    await store.close();
    assert.deepEqual(
      await rows(
        file,
        'SELECT event_id, camera_id, start_timestamp, duration_seconds, telegram_msg_id, start_time_raw FROM activity_events ORDER BY event_id, camera_id',
      ),
      [
        {
          event_id: 'evt_future',
          camera_id: 'cam-a',
          start_timestamp: T,
          duration_seconds: null,
          telegram_msg_id: null,
          start_time_raw: '1.0e+20',
        },
        { event_id: 'evt_old', camera_id: 'cam-a', start_timestamp: T, duration_seconds: 10, telegram_msg_id: 5, start_time_raw: null },
        { event_id: 'evt_old', camera_id: B, start_timestamp: T, duration_seconds: null, telegram_msg_id: null, start_time_raw: null },
      ],
    );
    const cams = await rows<{ camera_id: string; last_seen: number; connection_alert: string }>(
      file,
      "SELECT camera_id, last_seen, connection_alert FROM camera_registry WHERE camera_id IN ('cam-a', 'cam-b') ORDER BY camera_id",
    );
    assert.ok(cams[0]!.last_seen <= Math.floor(Date.now() / 1000) && cams[0]!.last_seen >= now, 'the year-2100 last_seen is healed');
    assert.deepEqual(
      cams.map((r) => r.connection_alert),
      ['online', 'offline'],
    );
  });
});
