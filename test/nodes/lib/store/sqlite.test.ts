/**
 * The SQLite connection answers a statement with RETURNING as the PostgreSQL one does
 * (connection.ts): how many rows it changed, and the new row's id. sqlite3's own run gave the
 * previous statement's count for it, so a duplicate looked inserted and a delete miscounted.
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
});
