/**
 * Retention (nodes/lib/store/retention.ts, issue 18): indexed deletes in small batches
 * between ingest commits, nothing written when nothing is due, and a file that shrinks.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { INDEXED_TABLES, KEYED_TABLES, MAX_BATCH, retentionSql } from '../../../../nodes/lib/store/retention';
import { MIGRATIONS, migrate } from '../../../../nodes/lib/store/schema';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { reading, rows } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
let n = 0;
const fileName = () => join(dir, `r${n++}.db`);
const day = 86_400_000;
const now = 1_765_000_000_000;

const heartbeat = (deviceId: string, timeMs: number, raw = '{}'): StoreRecord => ({
  kind: 'heartbeat',
  deviceId,
  deviceType: 'hive-cam',
  timeMs,
  online: true,
  batteryLevel: 80,
  raw,
});

/** Writes `count` records made by `make(i)` in batches, and waits for them. */
async function fill(store: EventStore, count: number, make: (i: number) => StoreRecord): Promise<void> {
  for (let i = 0; i < count; i++) store.write(make(i), () => undefined);
  await store.writer.flush();
}

/** Every exclusive task the store runs, in order, with what it answered. */
function recordExclusive(store: EventStore, log: string[]): void {
  const original = store.writer.exclusive.bind(store.writer);
  store.writer.exclusive = async <T>(task: Parameters<typeof original<T>>[0]): Promise<T> => {
    const result = await original(task);
    const changes = (result as { changes?: number } | undefined)?.changes;
    log.push(changes === undefined ? 'vacuum' : `delete ${changes}`);
    return result;
  };
}

describe('retention', () => {
  it('finds every row it deletes through an index: no statement scans a table', async () => {
    const c = await Connection.open(fileName());
    await migrate(c);
    const plans: string[] = [];
    const plan = async (sql: string, params: (string | number)[]) => {
      const lines = await c.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
      plans.push(`${sql}\n  ${lines.map((l) => l.detail).join('\n  ')}`);
      return lines.map((l) => l.detail);
    };
    for (const t of INDEXED_TABLES) {
      for (const [sql, params] of [
        [retentionSql.indexedDue(t), [1]],
        [retentionSql.indexedDelete(t), [1, 10]],
      ] as const) {
        const details = await plan(sql, [...params]);
        assert.ok(!details.some((d) => /^SCAN /.test(d)), `${t.table} scanned:\n${plans.at(-1)}`);
        assert.ok(
          details.some((d) => /USING (COVERING )?INDEX/.test(d)),
          `${t.table} uses an index:\n${plans.at(-1)}`,
        );
      }
    }
    for (const t of KEYED_TABLES) {
      // The due check walks the keys through the primary key, one seek each (`k` is its own list).
      for (const [sql, params] of [
        [retentionSql.keyedDue(t), [1]],
        [retentionSql.keyedBound(t), ['x', 1, 10]],
        [retentionSql.keyedDeleteThrough(t), ['x', 1]],
        [retentionSql.keyedDeleteBefore(t), ['x', 1]],
      ] as const) {
        const details = await plan(sql, [...params]);
        assert.ok(!details.some((d) => /^SCAN (?!k$|CONSTANT ROW)/.test(d)), `${t.table} scanned:\n${plans.at(-1)}`);
        assert.ok(
          details.some((d) => /SEARCH .*PRIMARY KEY/.test(d)),
          `${t.table} seeks its primary key:\n${plans.at(-1)}`,
        );
      }
    }
    await c.close();
  });

  it('writes nothing when nothing is due', async () => {
    const store = await EventStore.open({ file: fileName(), synchronous: 'NORMAL' });
    await fill(store, 100, (i) => reading(now - i * 1000, 20));
    await fill(store, 100, (i) => heartbeat('cam-1', now - i * 1000));
    const log: string[] = [];
    recordExclusive(store, log);
    assert.equal(await store.prune(now), 0);
    assert.deepEqual(log, [], 'no write lock taken');
    await store.close();
  });

  it('deletes a backlog in batches of at most 1,000 rows, and writes arriving meanwhile commit between them', async () => {
    const store = await EventStore.open({ file: fileName(), synchronous: 'FULL', retention: { status: 1, sensors: 1 } });
    // Old rows of two kinds, and a few new ones that stay.
    await fill(store, 6000, (i) => heartbeat(`cam-${i % 3}`, now - 10 * day + i * 1000));
    await fill(store, 6000, (i) => reading(now - 10 * day + i * 2000, 20));
    await fill(store, 10, (i) => reading(now - i * 2000, 21));
    const log: string[] = [];
    recordExclusive(store, log);
    // After each delete, a record arrives; its commit is logged when its callback runs.
    const original = store.writer.exclusive;
    let written = 0;
    store.writer.exclusive = async (task) => {
      const result = await original(task);
      const i = written++;
      store.write(reading(now + 1000 + i, 22), (err) => log.push(err ? `failed ${i}` : `commit ${i}`));
      return result;
    };
    const deleted = await store.prune(now);
    await store.writer.flush();
    assert.equal(deleted, 12_000, 'the old heartbeats and readings (their minutes and hours are kept longer)');
    const deletes = log.filter((l) => l.startsWith('delete '));
    assert.ok(deletes.length >= 12, `12,000 rows need at least 12 batches (${deletes.length})`);
    for (const d of deletes) assert.ok(Number(d.split(' ')[1]) <= MAX_BATCH, `${d} rows in one batch`);
    // Order, not timing: the record written after batch k is committed before batch k + 2 starts.
    const position = (entry: string) => log.indexOf(entry);
    const batchesAt = log.flatMap((l, i) => (l.startsWith('delete ') || l === 'vacuum' ? [i] : []));
    for (let k = 0; k + 2 < batchesAt.length; k++) {
      const committed = position(`commit ${k}`);
      assert.ok(committed !== -1 && committed < batchesAt[k + 2]!, `record ${k} committed before batch ${k + 2}: ${log.join(', ')}`);
    }
    assert.deepEqual(
      await original((c) => c.get('PRAGMA synchronous')),
      { synchronous: 2 },
      "the store's own durability (FULL) is back after the batches, which ran without fsync",
    );
    assert.deepEqual(await rows(store.file, 'SELECT count(*) AS n FROM status_events'), [{ n: 0 }]);
    assert.deepEqual(await rows(store.file, 'SELECT count(*) AS n FROM sensor_readings WHERE time_ms < ?', [now - day]), [{ n: 0 }]);
    assert.deepEqual(await rows(store.file, 'SELECT count(*) AS n FROM sensor_readings WHERE temperature = 21'), [{ n: 10 }]);
    await store.close();
  });

  it('gives the freed pages back: the file shrinks', async () => {
    const file = fileName();
    let store = await EventStore.open({ file, synchronous: 'NORMAL', retention: { status: 1 } });
    const payload = JSON.stringify({ pad: 'x'.repeat(2000) });
    await fill(store, 8000, (i) => heartbeat(`cam-${i % 5}`, now - 10 * day + i * 1000, payload));
    await fill(store, 10, (i) => heartbeat('cam-new', now - i * 1000));
    await store.close();
    const before = statSync(file).size;
    store = await EventStore.open({ file, synchronous: 'NORMAL', retention: { status: 1 } });
    assert.ok((await store.prune(now)) >= 8000);
    await store.close();
    const after = statSync(file).size;
    assert.ok(after < before / 4, `the file went from ${before} to ${after} bytes`);
    assert.deepEqual(await rows(file, 'SELECT count(*) AS n FROM status_events'), [{ n: 10 }]);
  });

  it('switches a small existing file to incremental auto-vacuum at open, and leaves a large one (saying so)', async () => {
    for (const [maxBytes, expected] of [
      [undefined, 2],
      [0, 0],
    ] as const) {
      const file = fileName();
      const c = await Connection.open(file);
      await migrate(c, MIGRATIONS);
      await c.close();
      assert.deepEqual(await rows(file, 'PRAGMA auto_vacuum'), [{ auto_vacuum: 0 }], 'made the old way');
      const store = await EventStore.open({ file, switchVacuumMaxBytes: maxBytes });
      assert.equal(store.shrinks, expected === 2);
      await store.close();
      assert.deepEqual(await rows(file, 'PRAGMA auto_vacuum'), [{ auto_vacuum: expected }]);
    }
  });

  it('keeps raw readings, minutes and hours each for their own days', async () => {
    const store = await EventStore.open({
      file: fileName(),
      synchronous: 'NORMAL',
      retention: { sensors: 2, sensorMinutes: 5, sensorHours: 20 },
    });
    const times = [1, 3, 10, 30].map((d) => now - d * day);
    await fill(store, times.length, (i) => reading(times[i]!, 20 + i));
    await store.prune(now);
    const count = async (table: string) => (await rows<{ n: number }>(store.file, `SELECT count(*) AS n FROM ${table}`))[0]!.n;
    assert.equal(await count('sensor_readings'), 1, 'raw: the reading of a day ago');
    assert.equal(await count('sensor_minute'), 2, 'minutes: 1 and 3 days ago');
    assert.equal(await count('sensor_hour'), 3, 'hours: up to 10 days ago');
    await store.close();
  });

  it('ages activity events by their start, else their stop, else when stored: a stop whose start never came goes too', async () => {
    const store = await EventStore.open({ file: fileName(), synchronous: 'NORMAL', retention: { activity: 90 } });
    const sec = (daysAgo: number) => Math.floor((now - daysAgo * day) / 1000);
    await store.writer.exclusive(async (db) => {
      await db.run(
        `INSERT INTO activity_events (event_id, camera_id, start_timestamp, end_timestamp, created_at) VALUES
           ('old-start', 'cam', ?1, NULL, ?1), ('old-stop-only', 'cam', NULL, ?1, ?1), ('old-unknown', 'cam', NULL, NULL, ?1),
           ('new-start', 'cam', ?2, NULL, ?2), ('new-stop-only', 'cam', NULL, ?2, ?2)`,
        [sec(100), sec(10)],
      );
    });
    assert.equal(await store.prune(now), 3);
    assert.deepEqual(await rows(store.file, 'SELECT event_id FROM activity_events ORDER BY event_id'), [
      { event_id: 'new-start' },
      { event_id: 'new-stop-only' },
    ]);
    await store.close();
  });

  it("forgets the limit states of devices gone quiet and cooldowns long over (migration 26's tables)", async () => {
    const store = await EventStore.open({ file: fileName(), synchronous: 'NORMAL', retention: { sensors: 7, status: 30 } });
    await store.writer.exclusive(async (db) => {
      for (const [device, ago] of [
        ['pi-gone', 8],
        ['pi-here', 1],
      ] as const) {
        await db.run("INSERT INTO sensor_limit_states (device_id, metric, side, time_ms) VALUES (?, 'temperature', 'high', ?)", [
          device,
          now - ago * day,
        ]);
      }
      for (const [device, ago] of [
        ['cam-gone', 31],
        ['cam-here', 29],
      ] as const) {
        await db.run("INSERT INTO alert_cooldowns (owner, device_id, what, sent_ms) VALUES ('n1', ?, 'activity:MOTION', ?)", [
          device,
          now - ago * day,
        ]);
      }
    });
    assert.equal(await store.prune(now), 2);
    assert.deepEqual(await rows(store.file, 'SELECT device_id FROM sensor_limit_states'), [{ device_id: 'pi-here' }]);
    assert.deepEqual(await rows(store.file, 'SELECT device_id FROM alert_cooldowns'), [{ device_id: 'cam-here' }]);
    await store.close();
  });
});
