/**
 * /api/status's row counts and /metrics's store figures without scanning (issue 18: 0.7-1 s at
 * 5 million events): the counts kept by triggers (migration 12) match count(*) through inserts,
 * upserts, duplicates, retention and an upgrade of a filled file; the figures are right; and no
 * statement behind status, metrics, the camera grid or the stream list reads a history table
 * from end to end (their query plans, as SQLite reports them).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as queries from '../../../../nodes/lib/store/queries';
import { storeFigures } from '../../../../nodes/lib/store/ops-figures';
import type { Reader } from '../../../../nodes/lib/store/read-pool';
import { MIGRATIONS, migrate } from '../../../../nodes/lib/store/schema';
import { Connection, type SqlValue } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { CAMERA, CAMERA_2, PI } from '../../../support/fixtures';
import { conn, reading, rows, start, stop } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
let n = 0;
const fileName = () => join(dir, `f${n++}.db`);

const COUNTED = [
  'activity_events',
  'alerts_outbox',
  'camera_registry',
  'command_queue',
  'dead_letters',
  'sensor_readings',
  'status_events',
  'stream_health',
];

/** What count(*) says, through another connection. */
async function realCounts(file: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of COUNTED) out[t] = (await rows<{ n: number }>(file, `SELECT count(*) AS n FROM ${t}`))[0]!.n;
  return out;
}

const poll = (path: string, timeMs: number, online: boolean): StoreRecord => ({
  kind: 'stream-health',
  deviceId: path,
  deviceType: 'mediamtx',
  timeMs,
  online,
  readers: 0,
});
const deadLetter = (timeMs: number): StoreRecord => ({
  kind: 'dead-letter',
  timeMs,
  source: 'prod/device/x',
  reason: 'not JSON',
  payload: '{',
  payloadBytes: 1,
});
const connectionOf = (deviceId: string, timeMs: number, status: 'connected' | 'disconnected'): StoreRecord => ({
  ...conn(timeMs, status),
  deviceId,
});
const addAlert = (store: EventStore, state: string, createdMs: number) =>
  store.writer.exclusive((db) =>
    db.run(`INSERT INTO alerts_outbox (channel, alert, state, next_attempt_ms, created_ms) VALUES ('telegram', '{}', ?, 0, ?)`, [
      state,
      createdMs,
    ]),
  );

describe('row counts kept by triggers (migration 12)', () => {
  it('match count(*) through inserts, duplicates, upserts and retention', async () => {
    const store = await EventStore.open({ file: fileName(), retention: { activity: 1, status: 1, sensors: 1, deadLetters: 1 } });
    try {
      const now = Date.now();
      const old = now - 3 * 86_400_000;
      const records: StoreRecord[] = [
        conn(old),
        conn(old), // the same status row again: stored once
        connectionOf(CAMERA_2, now, 'connected'),
        start('e-old', old),
        start('e1', now),
        stop('e1', now + 5000), // an upsert of the same row
        reading(old, 20),
        reading(now, 21),
        reading(now, 22), // same device and time: an update, not a row
        poll('cam/a', old, true),
        poll('cam/a', now, true),
        poll('cam/a', now, false), // same path and time: an update
        deadLetter(old),
        deadLetter(now),
      ];
      for (const r of records) await store.writeAsync(r);
      await addAlert(store, 'sent', old);
      await addAlert(store, 'pending', old);
      const before = (await store.query('status')).counts;
      assert.deepEqual(before, await realCounts(store.file));
      assert.equal(before.sensor_readings, 2);
      assert.equal(before.activity_events, 2);

      assert.ok((await store.prune(now)) > 0, 'retention deleted old rows');
      const after = (await store.query('status')).counts;
      assert.deepEqual(after, await realCounts(store.file));
      assert.equal(after.sensor_readings, 1);
      assert.equal(after.alerts_outbox, 1, 'the pending alert is kept, the sent one pruned');
      assert.equal((await store.query('status')).schemaVersion, MIGRATIONS.at(-1)!.version);
    } finally {
      await store.close();
    }
  });

  it('starts from the rows already there when a filled file is upgraded', async () => {
    const file = fileName();
    const c = await Connection.open(file);
    await migrate(
      c,
      MIGRATIONS.filter((m) => m.version <= 10),
    );
    await c.exec(`
      INSERT INTO camera_registry (camera_id, connection_status) VALUES ('a', 'connected'), ('b', 'disconnected');
      INSERT INTO activity_events (event_id, camera_id, start_timestamp) VALUES ('e1', 'a', 1), ('e2', 'a', 2), ('e3', 'b', 3);
      INSERT INTO sensor_readings (device_id, time_ms) VALUES ('a', 1), ('a', 2), ('a', 3), ('a', 4);
      INSERT INTO dead_letters (received_ms, source, reason) VALUES (1, 's', 'r');`);
    await c.close();
    const store = await EventStore.open({ file });
    try {
      const { counts } = await store.query('status');
      assert.deepEqual(counts, await realCounts(file));
      assert.deepEqual([counts.camera_registry, counts.activity_events, counts.sensor_readings, counts.dead_letters], [2, 3, 4, 1]);
      await store.writeAsync(reading(Date.now(), 20));
      assert.equal((await store.query('status')).counts.sensor_readings, 5);
    } finally {
      await store.close();
    }
  });
});

describe('store figures for /metrics', () => {
  it('counts connected devices, undelivered alerts, dead letters, and streams by their latest poll', async () => {
    const store = await EventStore.open({ file: fileName() });
    try {
      const t = Date.now();
      for (const r of [
        connectionOf(CAMERA, t, 'connected'),
        connectionOf(CAMERA_2, t, 'connected'),
        connectionOf(PI, t, 'connected'),
        connectionOf(PI, t + 1000, 'disconnected'),
        poll('cam/a', t, true),
        poll('cam/a', t + 1000, false), // went offline
        poll('cam/b', t, false),
        poll('cam/b', t + 1000, true), // came online
        poll('cam/c', t, true),
        deadLetter(t),
        deadLetter(t),
      ])
        await store.writeAsync(r);
      for (const state of ['pending', 'waiting', 'sending', 'sent', 'failed']) await addAlert(store, state, t);
      assert.deepEqual(await storeFigures(store.reads), {
        deadLetters: 2,
        alertsPending: 3,
        streamsOnline: 2,
        streamsKnown: 3,
        camerasConnected: 2,
      });
      const list = await store.query('streams');
      assert.ok('streams' in list);
      assert.deepEqual(
        list.streams.map((s) => [s.path, s.online, s.time_ms]),
        [
          ['cam/a', 0, t + 1000],
          ['cam/b', 1, t + 1000],
          ['cam/c', 1, t],
        ],
      );
    } finally {
      await store.close();
    }
  });
});

/** Keeps every statement a query sends, to ask SQLite afterwards how it would run them. */
function recording(inner: Reader): Reader & { statements: Array<[string, readonly SqlValue[]]> } {
  const statements: Array<[string, readonly SqlValue[]]> = [];
  return {
    dialect: inner.dialect,
    statements,
    all: (sql, params = []) => (statements.push([sql, params]), inner.all(sql, params)),
    get: (sql, params = []) => (statements.push([sql, params]), inner.get(sql, params)),
  };
}

describe('no full scans behind status, metrics and the first view', () => {
  const HISTORY = /\bSCAN (activity_events|status_events|sensor_readings|dead_letters|alerts_outbox|stream_health|command_queue)\b/;
  const ANY_COUNTED =
    /\bSCAN (camera_registry|activity_events|status_events|sensor_readings|dead_letters|alerts_outbox|stream_health|command_queue)\b/;

  const cases: Array<[string, (r: Reader) => Promise<unknown>, RegExp]> = [
    ['GET /api/status', (r) => queries.status(r), ANY_COUNTED],
    ['GET /metrics (store figures)', (r) => storeFigures(r), ANY_COUNTED],
    // The grid lists every device (camera_registry is the answer); per device, one seek for its last event.
    ['GET /api/cameras', (r) => queries.cameras(r), HISTORY],
    ['GET /api/streams', (r) => queries.streams(r, {}), HISTORY],
  ];
  for (const [what, run, forbidden] of cases) {
    it(`${what}: every statement seeks through an index`, async () => {
      const store = await EventStore.open({ file: fileName() });
      try {
        await store.writeAsync(start('e1', Date.now()));
        await store.writeAsync(poll('cam/a', Date.now(), true));
        const r = recording(store.reads);
        await run(r);
        assert.ok(r.statements.length > 0);
        for (const [sql, params] of r.statements) {
          if (/^\s*PRAGMA/i.test(sql)) continue;
          const plan = await store.reads.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
          const details = plan.map((p) => p.detail).join('\n');
          assert.doesNotMatch(details, forbidden, `${sql}\n-- plan --\n${details}`);
        }
      } finally {
        await store.close();
      }
    });
  }
});
