/**
 * How a batch of records reaches the tables. On SQLite the writer inserts the whole batch as one
 * statement into a TEMP view whose trigger runs the per-table statements (recordBatchView): it
 * must leave exactly the rows those statements leave one by one, for every kind of record. And
 * migration 31's narrower upload link still links an upload that came before its event's start.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { batchStatements, recordBatchStatement, recordBatchView } from '../../../../nodes/lib/store/record-sql';
import { migrate } from '../../../../nodes/lib/store/schema';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { CAMERA, CAMERA_2, PI } from '../../../support/fixtures';
import { conn, reading, start, stop } from '../../../support/records';
import { eachDialect, readRows } from '../../../support/stores';
import { tempDir } from '../../../support/tmp';

const dir = tempDir('record-sql-');
let files = 0;
const T = Date.UTC(2026, 11, 7, 12, 0, 0);

/** One of every kind, and the same keys twice (merged in a batch, upserted across batches). */
const batches: StoreRecord[][] = [
  [
    conn(T, 'connected', 'Porch'),
    start('ev-1', T + 1000),
    start('ev-1', T + 1000, CAMERA_2, 'PERSON'),
    reading(T + 1000, 20),
    reading(T + 1000, 21),
    { kind: 'heartbeat', deviceId: CAMERA, deviceType: 'hive-cam', timeMs: T + 2000, batteryLevel: 70, signalStrength: -50, online: true, ipAddress: '10.0.0.9', raw: '{"a":1}' },
    { kind: 'camera-state', deviceId: CAMERA_2, deviceType: 'hive-cam', timeMs: T + 2000, mode: 'ARMED', status: 'active', online: true, raw: '{}' },
    { kind: 'command', deviceId: CAMERA, deviceType: 'hive-cam', timeMs: T + 2500, action: 'setmode', requestId: 'r-1', topic: 't/1', mode: 'PRIVACY' },
    { kind: 'stream-health', deviceId: 'porch', deviceType: 'mediamtx', timeMs: T + 3000, online: true, readers: 2, inboundKbps: 900, sourceType: 'rtspSession' },
    { kind: 'dead-letter', timeMs: T + 3000, source: 'mqtt', reason: 'not JSON', payload: '{', payloadBytes: 1, deviceId: PI },
  ],
  [
    stop('ev-1', T + 9000),
    { kind: 'connection-alert', deviceId: CAMERA, deviceType: 'hive-cam', timeMs: T + 9000, announced: 'online' },
    { kind: 'connection', deviceId: CAMERA, deviceType: 'hive-cam', timeMs: T + 9500, status: 'disconnected', raw: '{}', untimed: true },
    reading(T + 1000, 25),
  ],
];

const TABLES = ['camera_registry', 'status_events', 'activity_events', 'camera_state', 'sensor_readings', 'commands', 'stream_health', 'dead_letters', 'sensor_minute', 'table_counts'];

async function dump(c: Connection): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) out[t] = await c.all(`SELECT * FROM ${t} ORDER BY 1, 2`);
  return out;
}

async function fresh(): Promise<Connection> {
  const c = await Connection.open(join(dir, `b${files++}.db`));
  await migrate(c);
  return c;
}

describe('a batch as one statement (SQLite)', () => {
  it('leaves the same rows as the per-table statements, batch after batch', async () => {
    const [one, each] = [await fresh(), await fresh()];
    try {
      await one.exec(recordBatchView());
      for (const [i, records] of batches.entries()) {
        const now = T + 10_000 * (i + 1);
        const st = recordBatchStatement(records, now);
        await one.run(st.sql, st.params);
        await each.run('BEGIN IMMEDIATE');
        for (const s of batchStatements(records, now)) await each.run(s.sql, s.params);
        await each.run('COMMIT');
      }
      const [a, b] = [await dump(one), await dump(each)];
      assert.equal(a.activity_events!.length, 2, 'two cameras, one event id each');
      assert.equal(a.dead_letters!.length, 1);
      assert.deepEqual(a, b);
    } finally {
      await one.close();
      await each.close();
    }
  });

  it('is undone whole when one of its rows is refused', async () => {
    const c = await fresh();
    try {
      await c.exec(recordBatchView());
      await c.exec(`CREATE TRIGGER refuse BEFORE INSERT ON sensor_readings WHEN NEW.temperature = 21 BEGIN SELECT RAISE(ABORT, 'refused'); END`);
      const st = recordBatchStatement(batches[0]!, T + 10_000);
      await assert.rejects(c.run(st.sql, st.params), /refused/);
      for (const t of ['camera_registry', 'activity_events', 'status_events']) assert.deepEqual(await c.all(`SELECT * FROM ${t}`), [], t);
    } finally {
      await c.close();
    }
  });
});

eachDialect('uploads that came before their event (migration 31)', (open) => {
  it('links an upload stored before the start, and leaves an event without uploads unlinked', async () => {
    const s = await open();
    try {
      await s.exclusive((db) =>
        db.run(`INSERT INTO file_uploads (event_id, camera_id, file_type, file_path, file_size, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)`, [
          'ev-early',
          CAMERA,
          'thumbnail',
          '/up/ev-early/thumb.jpg',
          100,
          T / 1000,
        ]),
      );
      await new Promise<void>((resolve, reject) =>
        s.writeMany([start('ev-early', T), start('ev-plain', T)], (err) => (err ? reject(err) : resolve())),
      );
      const events = await readRows(s, 'SELECT event_id, thumbnail_path, upload_status FROM activity_events ORDER BY event_id');
      assert.deepEqual(events, [
        { event_id: 'ev-early', thumbnail_path: '/up/ev-early/thumb.jpg', upload_status: 'uploaded' },
        { event_id: 'ev-plain', thumbnail_path: null, upload_status: null },
      ]);
    } finally {
      await s.close();
    }
  });
});
