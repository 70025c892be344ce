import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { MIGRATIONS, migrate } from '../../../../nodes/lib/store/schema';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import { CAMERA, PI } from '../../../support/fixtures';
import { conn, reading, rows, start, stop } from '../../../support/records';
import { eachDialect, execSql, readRows } from '../../../support/stores';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
let n = 0;
const fresh = (opts: Partial<Parameters<typeof EventStore.open>[0]> = {}) => EventStore.open({ file: join(dir, `t${n++}.db`), ...opts });

describe('schema migrations', () => {
  it('creates every table at the latest version, records it, and reopening changes nothing', async () => {
    const store = await fresh();
    const file = store.file;
    await store.close();
    const tables = (await rows<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).map(
      (r) => r.name,
    );
    for (const t of [
      'activity_events',
      'alerts_outbox',
      'camera_registry',
      'camera_state',
      'commands',
      'dead_letters',
      'file_uploads',
      'schema_migrations',
      'sensor_readings',
      'status_events',
    ]) {
      assert.ok(tables.includes(t), `table ${t}`);
    }
    const latest = MIGRATIONS.at(-1)!.version;
    assert.deepEqual(await rows(file, 'PRAGMA user_version'), [{ user_version: latest }]);
    assert.deepEqual(await rows(file, 'PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
    const again = await EventStore.open({ file });
    await again.close();
    assert.equal((await rows(file, 'SELECT * FROM schema_migrations')).length, MIGRATIONS.length);
  });

  it('applies only newer migrations, and refuses a database newer than the code', async () => {
    const c = await Connection.open(join(dir, 'mig.db'));
    assert.deepEqual(
      await migrate(c),
      MIGRATIONS.map((m) => m.version),
    );
    const next = [...MIGRATIONS, { version: 99, description: 'test', sql: 'CREATE TABLE extra (x INTEGER);' }];
    assert.deepEqual(await migrate(c, next), [99]);
    await assert.rejects(migrate(c), /schema version 99 is newer than this software knows/);
    await c.close();
  });

  it('rolls back a failing migration and names it', async () => {
    const c = await Connection.open(join(dir, 'bad-mig.db'));
    await migrate(c);
    const broken = [...MIGRATIONS, { version: 50, description: 'broken', sql: 'CREATE TABLE ok1 (x); CREATE TABLE camera_registry (y);' }];
    await assert.rejects(migrate(c, broken), /migration 50 \(broken\) failed/);
    assert.equal((await c.all("SELECT name FROM sqlite_master WHERE name = 'ok1'")).length, 0);
    await c.close();
  });
});

// Ingest on both engines (test/support/stores.ts).
eachDialect('the store', (open, dialect) => {
  describe('group commit', () => {
    it('calls back only after the row is on disk, and batches many records into few transactions', async () => {
      const store = await open({ maxBatch: 500, maxDelayMs: 50 });
      const records = Array.from({ length: 1200 }, (_, i) => reading(1_700_000_000_000 + i, 20 + (i % 10)));
      await Promise.all(
        records.map((r) =>
          store.writeAsync(r).then(async () => {
            if (r.timeMs === 1_700_000_000_000) {
              // the very first acknowledgement: its row must be readable from another connection
              const seen = await readRows(store, 'SELECT 1 FROM sensor_readings WHERE time_ms = ?', [r.timeMs]);
              assert.equal(seen.length, 1);
            }
          }),
        ),
      );
      assert.equal(store.writer.stats.committedRecords, 1200);
      assert.ok(store.writer.stats.transactions <= 6, `${store.writer.stats.transactions} transactions for 1200 records`);
      await store.close();
      assert.deepEqual(await readRows(store, 'SELECT count(*) AS n FROM sensor_readings'), [{ n: 1200 }]);
    });

    it('close() commits what is still queued', async () => {
      const store = await open({ maxDelayMs: 10_000, maxBatch: 10_000 });
      let acked = 0;
      for (let i = 0; i < 50; i++) store.write(reading(1_700_000_000_000 + i, 20), (err) => assert.ifError(err) ?? acked++);
      await store.close();
      assert.equal(acked, 50);
      assert.deepEqual(await readRows(store, 'SELECT count(*) AS n FROM sensor_readings'), [{ n: 50 }]);
    });

    it('a failing record fails alone; its batch neighbours are committed', async () => {
      const store = await open();
      // Sabotage one kind of row from outside: a trigger (SQLite) or a check (PostgreSQL) that rejects one device's readings.
      await execSql(
        store,
        dialect === 'sqlite'
          ? `CREATE TRIGGER reject_bad BEFORE INSERT ON sensor_readings WHEN NEW.device_id = 'broken'
                    BEGIN SELECT RAISE(ABORT, 'sabotaged'); END`
          : `ALTER TABLE sensor_readings ADD CONSTRAINT sabotaged CHECK (device_id <> 'broken')`,
      );
      const bad: StoreRecord = { kind: 'sensor', deviceId: 'broken', deviceType: 'picam', timeMs: 5, temperature: 1 };
      const results = await Promise.allSettled([store.writeAsync(reading(1, 20)), store.writeAsync(bad), store.writeAsync(reading(2, 21))]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.match(String((results[1] as PromiseRejectedResult).reason), /sabotaged/);
      assert.equal(store.writer.stats.failedRecords, 1);
      await store.close();
      assert.deepEqual(await readRows(store, 'SELECT count(*) AS n FROM sensor_readings'), [{ n: 2 }]);
    });

    it('refuses writes after close with an error, not silence', async () => {
      const store = await open();
      await store.close();
      await assert.rejects(store.writeAsync(reading(1, 20)), /database is closed/);
      await store.close(); // twice is fine
    });
  });

  describe('records in seed 004 tables', () => {
    it('upserts the camera registry and logs connection events', async () => {
      const store = await open();
      await store.writeAsync(conn(1_705_329_045_000));
      await store.writeAsync(conn(1_705_329_100_000, 'disconnected', undefined as unknown as string));
      await store.writeAsync({
        kind: 'heartbeat',
        deviceId: CAMERA,
        deviceType: 'hive-cam',
        timeMs: 1_705_329_090_000,
        batteryLevel: 80,
        signalStrength: -60,
        raw: '{"battery":80}',
      });
      const { cameras } = await store.query('cameras');
      assert.equal(cameras.length, 1);
      assert.equal(cameras[0]!.camera_name, 'Front Door', 'a later message without a name keeps the name');
      assert.equal(cameras[0]!.connection_status, 'disconnected');
      assert.equal(cameras[0]!.battery_level, 80);
      assert.equal(cameras[0]!.last_seen, 1_705_329_100);
      const status = await readRows<{ event_type: string; status: string }>(
        store,
        'SELECT event_type, status FROM status_events ORDER BY id',
      );
      assert.deepEqual(
        status.map((s) => s.event_type),
        ['connection', 'connection', 'heartbeat'],
      );
      await store.close();
    });

    it('computes duration on stop, also when the stop arrives before the start', async () => {
      const store = await open();
      await store.writeAsync(start('evt_a', 1_705_329_045_000));
      await store.writeAsync(stop('evt_a', 1_705_329_057_000));
      await store.writeAsync(stop('evt_b', 1_705_329_070_000));
      const orphan = (await readRows<Record<string, unknown>>(store, "SELECT * FROM activity_events WHERE event_id = 'evt_b'"))[0]!;
      assert.equal(orphan.end_timestamp, 1_705_329_070, 'a stop without a start is kept');
      assert.equal(orphan.duration_seconds, null);
      await store.writeAsync(start('evt_b', 1_705_329_060_000));
      const got = await readRows<{ event_id: string; duration_seconds: number }>(
        store,
        'SELECT event_id, duration_seconds FROM activity_events ORDER BY event_id',
      );
      assert.deepEqual(got, [
        { event_id: 'evt_a', duration_seconds: 12 },
        { event_id: 'evt_b', duration_seconds: 10 },
      ]);
      await store.close();
    });

    it('stores one event for a redelivered start', async () => {
      const store = await open();
      await Promise.all([store.writeAsync(start('evt_x', 1_000_000)), store.writeAsync(start('evt_x', 1_000_000))]);
      assert.deepEqual(await readRows(store, 'SELECT count(*) AS n FROM activity_events'), [{ n: 1 }]);
      await store.close();
    });

    it('keeps camera state, the desired mode from commands, and dead letters', async () => {
      const store = await open();
      await store.writeAsync(conn(1_000_000));
      await store.writeAsync({
        kind: 'camera-state',
        deviceId: CAMERA,
        deviceType: 'hive-cam',
        timeMs: 2_000_000,
        mode: 'ARMED',
        raw: '{"mode":"ARMED"}',
      });
      await store.writeAsync({
        kind: 'command',
        deviceId: CAMERA,
        deviceType: 'hive-cam',
        timeMs: 3_000_000,
        action: 'setmode',
        requestId: 'req_1',
        topic: 't',
        mode: 'PRIVACY',
      });
      await store.writeAsync({
        kind: 'dead-letter',
        timeMs: 4_000_000,
        source: 'prod/device/x',
        reason: 'invalid JSON',
        payload: '{',
        payloadBytes: 1,
      });
      const { cameras } = await store.query('cameras');
      assert.equal(cameras[0]!.status, 'ARMED', 'reported mode');
      assert.equal(cameras[0]!.desired_mode, 'PRIVACY', 'requested mode, restored on reconnect');
      const devices = await store.knownDevices();
      assert.deepEqual(devices, [
        {
          camera_id: CAMERA,
          device_type: 'hive-cam',
          camera_name: 'Front Door',
          mode: 'PRIVACY',
          zones: null,
          connection_status: 'connected',
          connection_alert: null,
          disconnected_at: null,
        },
      ]);
      const dead = (await store.query('dead-letters')) as { deadLetters: Array<{ reason: string }>; total: number };
      assert.equal(dead.total, 1);
      assert.equal(dead.deadLetters[0]!.reason, 'invalid JSON');
      await store.close();
    });
  });
});

describe('queries', () => {
  it('filters and pages events', async () => {
    const store = await fresh();
    await store.writeAsync(conn(1_000));
    for (let i = 0; i < 30; i++)
      store.write(
        start(
          `e${String(i).padStart(2, '0')}`,
          1_705_300_000_000 + i * 60_000,
          i % 3 === 0 ? 'other-cam' : CAMERA,
          i % 2 ? 'MOTION' : 'AUDIO_ALL',
        ),
        () => undefined,
      );
    await store.writer.flush();
    const page = (await store.query('events', { limit: '5', offset: '0' })) as { events: Array<{ event_id: string }>; total: number };
    assert.equal(page.total, 30);
    assert.deepEqual(
      page.events.map((e) => e.event_id),
      ['e29', 'e28', 'e27', 'e26', 'e25'],
    );
    const byCamera = await store.query('events', { camera: 'other-cam', limit: 100 });
    assert.equal(byCamera.total, 10);
    const byType = await store.query('events', { type: 'audio_all' });
    assert.equal(byType.total, 15);
    const byTime = (await store.query('events', {
      from: String(1_705_300_000 + 600),
      to: new Date(1_705_300_000_000 + 1_200_000).toISOString(),
    })) as { total: number };
    assert.equal(byTime.total, 11);
    await store.close();
  });

  const badFilters: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['a limit over 1000', { limit: '5000' }, 'events', /"limit" must be an integer between 1 and 1000/],
    ['a non-numeric offset', { offset: 'x' }, 'events', /"offset"/],
    ['a camera id with SQL in it', { camera: "x' OR 1=1 --" }, 'events', /"camera" must match/],
    ['a bad time', { from: 'yesterday-ish' }, 'events', /"from" must be/],
    ['a missing device', {}, 'sensors', /"deviceId" is required/],
    ['an unknown query', {}, 'everything', /unknown query/],
  ];
  for (const [what, params, kind, error] of badFilters) {
    it(`answers 400 for ${what}`, async () => {
      const store = await fresh();
      await assert.rejects(
        store.query(kind as 'events', params),
        (err: Error & { statusCode?: number }) => err.statusCode === 400 && error.test(err.message),
      );
      await store.close();
    });
  }

  it('answers 404 for the sensor history of an unknown device', async () => {
    const store = await fresh();
    await assert.rejects(store.query('sensors', { deviceId: 'ghost' }), (err: Error & { statusCode?: number }) => err.statusCode === 404);
    await store.close();
  });

  it('returns raw sensor readings for short ranges and averages long ones into buckets', async () => {
    const store = await fresh();
    // on a minute: points of a minute or more come from the roll-ups, whole minutes each
    const t0 = 1_705_299_960_000;
    // one day of readings every 2 s would be 43,200 rows; use one hour (1,800)
    for (let i = 0; i < 1800; i++) store.write(reading(t0 + i * 2000, i < 900 ? 20 : 30), () => undefined);
    await store.writer.flush();
    const short = (await store.query('sensors', { deviceId: PI, from: t0, to: t0 + 19_999 })) as {
      readings: Array<{ temperature: number }>;
      bucketMs: number;
    };
    assert.equal(short.bucketMs, 0);
    assert.equal(short.readings.length, 10);
    const long = (await store.query('sensors', { deviceId: PI, from: t0, to: t0 + 3_600_000 - 1, points: 2 })) as {
      readings: Array<{ temperature: number; samples: number; time_ms: number }>;
      bucketMs: number;
    };
    assert.equal(long.bucketMs, 1_800_000);
    assert.deepEqual(
      long.readings.map((r) => [r.time_ms, r.temperature, r.samples]),
      [
        [t0, 20, 900],
        [t0 + 1_800_000, 30, 900],
      ],
    );
    await store.close();
  });
});

describe('retention', () => {
  it('deletes rows older than the configured days and keeps the rest', async () => {
    const store = await fresh({ retention: { activity: 10, status: 10, sensors: 1, deadLetters: 0 } });
    const now = 1_705_300_000_000;
    const day = 86_400_000;
    store.write(start('old', now - 11 * day), () => undefined);
    store.write(start('new', now - 9 * day), () => undefined);
    store.write(reading(now - 2 * day, 20), () => undefined);
    store.write(reading(now - 1000, 21), () => undefined);
    store.write({ kind: 'dead-letter', timeMs: now - 400 * day, source: 's', reason: 'r', payload: '', payloadBytes: 0 }, () => undefined);
    await store.writer.flush();
    assert.equal(await store.prune(now), 2);
    assert.deepEqual(await rows(store.file, 'SELECT event_id FROM activity_events'), [{ event_id: 'new' }]);
    assert.deepEqual(await rows(store.file, 'SELECT temperature FROM sensor_readings'), [{ temperature: 21 }]);
    assert.deepEqual(await rows(store.file, 'SELECT count(*) AS n FROM dead_letters'), [{ n: 1 }], '0 days keeps forever');
    await store.close();
  });
});

describe('stream health', () => {
  const health = (path: string, timeMs: number, online: boolean, readers = 0) =>
    ({
      kind: 'stream-health',
      deviceId: path,
      deviceType: 'mediamtx',
      timeMs,
      online,
      readers,
      inboundKbps: online ? 1800 : 0,
    }) as StoreRecord;

  it('keeps every poll, answers the latest per path and one path’s history, and prunes with the status retention', async () => {
    const store = await fresh({ retention: { status: 1 } });
    const now = Date.now();
    for (const r of [
      health('picam-1', now - 3000, true, 1),
      health('picam-1', now - 1000, false),
      health('picam-2', now - 2000, true, 2),
      health('picam-2', now - 2 * 86_400_000, true),
    ])
      await store.writeAsync(r);
    const latest = (await store.query('streams')) as { streams: Array<{ path: string; online: number; readers: number }> };
    assert.deepEqual(
      latest.streams.map((s) => [s.path, s.online, s.readers]),
      [
        ['picam-1', 0, 0],
        ['picam-2', 1, 2],
      ],
    );
    const history = (await store.query('streams', { path: 'picam-1' })) as { history: Array<{ online: number; inbound_kbps: number }> };
    assert.deepEqual(
      history.history.map((h) => [h.online, h.inbound_kbps]),
      [
        [1, 1800],
        [0, 0],
      ],
    );
    await assert.rejects(store.query('streams', { path: "x'; DROP TABLE stream_health; --" }), /"path" must be a MediaMTX path name/);
    assert.equal(await store.prune(now), 1, 'the two-day-old poll');
    await store.close();
  });
});
