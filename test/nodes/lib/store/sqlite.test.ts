/**
 * The SQLite connection answers a statement with RETURNING as the PostgreSQL one does
 * (connection.ts): how many rows it changed, and the new row's id. sqlite3's own run gave the
 * previous statement's count for it, so a duplicate looked inserted and a delete miscounted.
 * Writes are prepared once and kept (one trip to SQLite's thread each, not two); a kept
 * statement behaves as a fresh one would, and the connection still closes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection } from '../../../../nodes/lib/store/sqlite';

describe('SQLite connection', () => {
  it('counts the rows a RETURNING statement changed, and gives the new id', async () => {
    const c = await Connection.open(':memory:');
    try {
      await c.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE)');
      await c.exec("INSERT INTO t (k) VALUES ('a'), ('b'), ('c')");
      assert.deepEqual(await c.run("INSERT INTO t (k) VALUES ('d') ON CONFLICT (k) DO NOTHING RETURNING id"), { changes: 1, lastID: 4 });
      assert.deepEqual(await c.run("INSERT INTO t (k) VALUES ('d') ON CONFLICT (k) DO NOTHING RETURNING id"), { changes: 0, lastID: 0 });
      assert.equal((await c.run("DELETE FROM t WHERE k IN ('a', 'b') RETURNING id")).changes, 2);
      assert.equal((await c.run("DELETE FROM t WHERE k = 'c'")).changes, 1, 'and without RETURNING as before');
    } finally {
      await c.close();
    }
  });

  it('runs a kept statement again with new values, prepares again one that failed, and closes', async () => {
    const c = await Connection.open(':memory:');
    const insert = 'INSERT INTO t (k) VALUES (?)';
    await assert.rejects(c.run(insert, ['a']), /no such table: t/);
    await c.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE)');
    assert.deepEqual(await c.run(insert, ['a']), { changes: 1, lastID: 1 }, 'the failed preparation was not kept');
    assert.deepEqual(await c.run(insert, ['b']), { changes: 1, lastID: 2 });
    await assert.rejects(c.run(insert, ['b']), /UNIQUE/);
    assert.deepEqual(await c.run(insert, ['c']), { changes: 1, lastID: 3 }, 'a statement that failed to run runs again');
    // More distinct writes than are kept: the oldest are let go, every one still runs.
    for (let i = 0; i < 100; i++) await c.run(`UPDATE t SET k = k WHERE id = ${i}`);
    await c.exec('ALTER TABLE t ADD COLUMN n INTEGER');
    assert.equal((await c.run(insert, ['d'])).changes, 1, 'kept across a change of the table');
    assert.deepEqual(await c.all('SELECT k FROM t ORDER BY id'), [{ k: 'a' }, { k: 'b' }, { k: 'c' }, { k: 'd' }]);
    await c.close(); // SQLite refuses to close with statements still prepared
  });
});
