/**
 * Upload usage (GET /api/gateway/usage, /api/media/usage) from totals kept by
 * migration 11's triggers, not a sum over every upload row (issue 18: ~2 s at a
 * year of a fleet); /api/alerts?camera= by index; and upload retention's look-ups
 * and deletes by index (a year's store queued seconds of scans ahead of the API).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as queries from '../../../../nodes/lib/store/queries';
import { MIGRATIONS, migrate } from '../../../../nodes/lib/store/schema';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import { UploadStore, type StoredUpload } from '../../../../nodes/lib/store/uploads';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
let n = 0;

const insert = (db: Connection, type: string, size: number, at: number) =>
  db.run('INSERT INTO file_uploads (event_id, camera_id, file_type, file_path, file_size, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)', [
    `e${n}`,
    'cam',
    type,
    `f${n++}`,
    size,
    at,
  ]);

/** What usage() answered before: the sum over every row. */
async function summed(db: Connection) {
  return db.all<{ fileType: string; files: number; bytes: number; oldest: number }>(
    'SELECT file_type AS fileType, count(*) AS files, sum(file_size) AS bytes, min(uploaded_at) AS oldest FROM file_uploads GROUP BY 1 ORDER BY 1',
  );
}

describe('upload usage', () => {
  it('keeps its totals through inserts, deletes and changes, from rows stored before migration 11 on', async () => {
    const file = join(dir, `u${n++}.db`);
    const old = await Connection.open(file);
    await migrate(
      old,
      MIGRATIONS.filter((m) => m.version <= 10),
    );
    await insert(old, 'thumbnail', 100, 1000);
    await insert(old, 'recording', 5000, 900);
    await old.close();

    const store = await EventStore.open({ file });
    const w = await Connection.open(file);
    await insert(w, 'thumbnail', 200, 800);
    await insert(w, 'segment', 300, 1200);
    await insert(w, 'segment', 400, 1300);
    await w.run("DELETE FROM file_uploads WHERE file_type = 'segment' AND file_size = 300");
    await w.run("UPDATE file_uploads SET file_size = 150 WHERE file_type = 'thumbnail' AND file_size = 100");
    await w.run("UPDATE file_uploads SET file_type = 'thumbnail' WHERE file_type = 'recording'");
    const usage = await store.uploads().usage();
    const expected = await summed(w);
    assert.deepEqual(
      Object.fromEntries(Object.entries(usage.byType).sort()),
      Object.fromEntries(expected.map((r) => [r.fileType, { files: r.files, bytes: r.bytes }])),
    );
    assert.deepEqual([usage.files, usage.bytes, usage.oldest], [4, 5750, 800]);
    await w.run('DELETE FROM file_uploads');
    assert.deepEqual(await store.uploads().usage(), { files: 0, bytes: 0, byType: {}, oldest: null });
    await w.close();
    await store.close();
  });

  it('reads no upload row to answer, and finds a camera’s alerts by index', async () => {
    const store = await EventStore.open({ file: join(dir, `u${n++}.db`) });
    const db = await Connection.open(store.file, true);
    const plan = async (sql: string) => (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)).map((r) => r.detail).join(' | ');
    const usage = await plan(
      'SELECT t.file_type, t.files, t.bytes, (SELECT min(f.uploaded_at) FROM file_uploads f WHERE f.file_type = t.file_type) FROM file_upload_totals t',
    );
    assert.doesNotMatch(usage, /SCAN f\b|SCAN file_uploads/, usage);
    assert.match(usage, /SEARCH f USING COVERING INDEX file_uploads_type_time/, usage);
    // The alerts query as the API runs it, filtered by camera.
    const seen: string[] = [];
    const spy = { all: (sql: string, a: never[]) => (seen.push(sql), db.all(sql, a)), get: (sql: string, a: never[]) => db.get(sql, a) };
    await queries.alerts(spy as unknown as Connection, { camera: 'cam-1' });
    const alerts = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${seen[0]!}`, ['cam-1', 50, 0])).map((r) => r.detail).join(' | ');
    assert.match(alerts, /SEARCH alerts_outbox USING INDEX alerts_outbox_device \(device_id=\?\)/, alerts);
    assert.doesNotMatch(alerts, /TEMP B-TREE/, alerts);
    await db.close();
    await store.close();
  });

  it('finds an upload folder’s rows and forgets uploads through indexes, not by reading every row', async () => {
    const store = await EventStore.open({ file: join(dir, `u${n++}.db`) });
    const db = await Connection.open(store.file);
    const seen: Array<{ sql: string; params: readonly unknown[] }> = [];
    const spy = {
      dialect: 'sqlite',
      all: (sql: string, params: readonly never[] = []) => (seen.push({ sql, params }), db.all(sql, params)),
      get: (sql: string, params: readonly never[] = []) => (seen.push({ sql, params }), db.get(sql, params)),
      run: (sql: string, params: readonly never[] = []) => (seen.push({ sql, params }), db.run(sql, params)),
      exec: (sql: string) => db.exec(sql),
    } as unknown as Connection;
    const uploads = new UploadStore((task) => task(spy), spy);
    await uploads.inFolders(['/up/cam/e1', '/up/cam/e2']);
    const gone: StoredUpload = {
      id: 1,
      eventId: 'e1',
      cameraId: 'cam',
      fileType: 'thumbnail',
      filePath: '/up/cam/e1/t.jpg',
      fileName: 't.jpg',
      fileSize: 1,
      uploadDir: '/up/cam/e1',
      uploadedAt: 1,
      hlsPlaylist: null,
    };
    await uploads.forget([gone]);
    const plans = await Promise.all(
      seen
        .filter((q) => /^\s*(SELECT|WITH)/i.test(q.sql))
        .map(async (q) =>
          (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${q.sql}`, q.params as never[])).map((r) => r.detail).join(' | '),
        ),
    );
    assert.equal(plans.length, 4, 'the folder look-up and the three statements of forget');
    assert.match(plans[0]!, /SEARCH file_uploads USING INDEX file_uploads_dir \(upload_dir=\?\)/, plans[0]);
    for (const plan of plans) assert.doesNotMatch(plan, /SCAN (file_uploads|activity_events)\b/, plan);
    await db.close();
    await store.close();
  });
});
