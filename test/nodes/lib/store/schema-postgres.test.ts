import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import type { SqlValue, StoreConnection } from '../../../../nodes/lib/store/connection';
import { PgConnection } from '../../../../nodes/lib/store/postgres';
import { MIGRATIONS, currentVersion, migrate } from '../../../../nodes/lib/store/schema';
import { PG_MIGRATIONS } from '../../../../nodes/lib/store/schema-postgres';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import { describeWithPostgres } from '../../../support/postgres';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
let files = 0;

/** Statements written once, run on both engines: what the triggers keep must come out the same. */
const WRITES: Array<[string, SqlValue[]]> = [
  [
    "INSERT INTO file_uploads (event_id, camera_id, file_type, file_path, file_size, uploaded_at) VALUES ('e1', 'cam1', 'thumbnail', '/t/e1.jpg', 100, 1)",
    [],
  ],
  [
    "INSERT INTO file_uploads (event_id, camera_id, file_type, file_path, file_size, uploaded_at, upload_dir) VALUES ('e1', 'cam1', 'segment', '/s/1.ts', 900, 2, '/s')",
    [],
  ],
  [
    'INSERT INTO file_uploads (event_id, camera_id, file_type, file_path, file_size, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)',
    ['e2', 'cam1', 'thumbnail', '/t/e2.jpg', 50, 3],
  ],
  ["UPDATE file_uploads SET file_size = 70 WHERE file_path = '/t/e2.jpg'", []],
  ["DELETE FROM file_uploads WHERE file_path = '/t/e2.jpg'", []],
  // The upload came first: the event's insert links it (migration 8).
  [
    "INSERT INTO activity_events (event_id, camera_id, activity_type, start_timestamp, created_at) VALUES ('e1', 'cam1', 'MOTION', 1700000000, 1700000000)",
    [],
  ],
  [
    "INSERT INTO activity_events (event_id, camera_id, activity_type, end_timestamp, created_at) VALUES ('e3', 'cam1', 'MOTION', 1700000100, 1700000050)",
    [],
  ],
  ...[20.5, 21.5, null].map((t, i): [string, SqlValue[]] => [
    'INSERT INTO sensor_readings (device_id, time_ms, temperature, humidity, pressure) VALUES (?, ?, ?, ?, ?)',
    ['pi1', 1_700_000_000_000 + i * 1000, t, 40 + i, 1000],
  ]),
  ['UPDATE sensor_readings SET temperature = 30 WHERE device_id = ? AND time_ms = ?', ['pi1', 1_700_000_001_000]],
  ['INSERT INTO sensor_readings (device_id, time_ms, temperature) VALUES (?, ?, ?)', ['pi1', 1_700_000_070_000, 10]],
  [
    "INSERT INTO recording_segments (camera_id, start_ms, end_ms, file, bytes, mode) VALUES ('cam1', 0, 10, 'a.mp4', 500, 'continuous')",
    [],
  ],
  [
    "INSERT INTO recording_clips (camera_id, event_id, state, start_ms, end_ms, updated_ms) VALUES ('cam1', 'e1', 'recording', 0, 5, 1)",
    [],
  ],
  ["UPDATE recording_clips SET bytes = 300, state = 'ready' WHERE event_id = 'e1'", []],
  ["DELETE FROM recording_segments WHERE file = 'a.mp4'", []],
  ["INSERT INTO dead_letters (received_ms, source, reason, payload, payload_bytes) VALUES (1, 'mqtt', 'bad json', '{', 1)", []],
  ["INSERT INTO status_events (camera_id, event_type, status, timestamp) VALUES ('cam1', 'heartbeat', NULL, 5)", []],
  ["INSERT INTO status_events (camera_id, event_type, status, timestamp) VALUES ('cam1', 'heartbeat', NULL, 5) ON CONFLICT DO NOTHING", []],
];

const READS = [
  'SELECT name, sum(n) AS n FROM table_counts GROUP BY name ORDER BY name',
  'SELECT file_type, files, bytes FROM file_upload_totals ORDER BY file_type',
  'SELECT event_id, thumbnail_path, recording_path, upload_status, sort_ts FROM activity_events ORDER BY event_id',
  'SELECT * FROM sensor_minute ORDER BY device_id, bucket_ms',
  'SELECT * FROM sensor_hour ORDER BY device_id, bucket_ms',
  'SELECT * FROM recording_totals ORDER BY camera_id',
  'SELECT version, description FROM schema_migrations ORDER BY version',
];

async function applied(c: StoreConnection): Promise<unknown[][]> {
  for (const [sql, params] of WRITES) await c.run(sql, params);
  const answers: unknown[][] = [];
  for (const sql of READS) answers.push(await c.all(sql));
  return answers;
}

describeWithPostgres('the PostgreSQL schema', (server) => {
  it("ends at SQLite's version with the same bookkeeping, and a second run changes nothing", async () => {
    assert.equal(PG_MIGRATIONS.at(-1)!.version, MIGRATIONS.at(-1)!.version, 'a migration added to one dialect must be added to the other');
    const c = await PgConnection.open({ url: await server().createDatabase() });
    try {
      // The baseline, then each migration added since to both lists.
      assert.deepEqual(
        await migrate(c),
        PG_MIGRATIONS.map((m) => m.version),
      );
      assert.equal(await currentVersion(c), MIGRATIONS.at(-1)!.version);
      assert.deepEqual(await migrate(c), []);
      const rows = await c.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        MIGRATIONS.map((m) => m.version),
      );
      const next = [...PG_MIGRATIONS, { version: 99, description: 'test', sql: 'CREATE TABLE extra (x INTEGER);' }];
      assert.deepEqual(await migrate(c, next), [99]);
      await assert.rejects(migrate(c), /schema version 99 is newer than this software knows/);
    } finally {
      await c.close();
    }
  });

  it('two runtimes migrating one new database at once: one applies, the other finds it done', async () => {
    const url = await server().createDatabase();
    const [a, b] = await Promise.all([PgConnection.open({ url }), PgConnection.open({ url })]);
    try {
      const results = await Promise.all([migrate(a), migrate(b)]);
      // Each migration is applied once, by whichever runtime holds the lock when it is next.
      assert.deepEqual(
        results.flat().sort((x, y) => x - y),
        PG_MIGRATIONS.map((m) => m.version),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("has SQLite's tables and columns", async () => {
    const lite = await Connection.open(join(dir, `cols${files++}.db`));
    const pg = await PgConnection.open({ url: await server().createDatabase() });
    try {
      await migrate(lite);
      await migrate(pg);
      const liteTables = await lite.all<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      );
      const shape = async (c: StoreConnection, table: string) =>
        c.dialect === 'sqlite'
          ? (await c.all<{ name: string }>(`SELECT name FROM pragma_table_xinfo('${table}') ORDER BY name`)).map((r) => r.name)
          : (
              await c.all<{ name: string }>(
                'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY column_name COLLATE "C"',
                [table],
              )
            ).map((r) => r.name);
      // PostgreSQL's counts are kept in shards (schema-postgres.ts): its one extra column.
      const extra: Record<string, string[]> = { table_counts: ['shard'] };
      for (const { name } of liteTables) {
        const pgColumns = (await shape(pg, name)).filter((c) => !extra[name]?.includes(c));
        assert.deepEqual(pgColumns, await shape(lite, name), `table ${name}`);
      }
      const pgTables = await pg.all<{ n: number }>(
        'SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()',
      );
      assert.equal(pgTables[0]!.n, liteTables.length);
    } finally {
      await lite.close();
      await pg.close();
    }
  });

  it("keeps what SQLite's triggers keep: counts, upload totals and links, sensor roll-ups, recording totals", async () => {
    const lite = await Connection.open(join(dir, `trig${files++}.db`));
    const pg = await PgConnection.open({ url: await server().createDatabase() });
    try {
      await migrate(lite);
      await migrate(pg);
      assert.deepEqual(await applied(pg), await applied(lite));
    } finally {
      await lite.close();
      await pg.close();
    }
  });
});
