import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTransientStoreError } from '../../../../nodes/lib/store-errors';
import { sqlOf } from '../../../../nodes/lib/store/dialect';
import { PgConnection, toPgPlaceholders } from '../../../../nodes/lib/store/postgres';
import { describeWithPostgres } from '../../../support/postgres';

describe('placeholders for PostgreSQL', () => {
  it('numbers ? in order and keeps ?N, leaving quoted text, comments and dollar quotes alone', () => {
    assert.equal(toPgPlaceholders('SELECT ? , ?'), 'SELECT $1 , $2');
    assert.equal(toPgPlaceholders('WHERE a = ?2 AND b = ?1 AND c = ?'), 'WHERE a = $2 AND b = $1 AND c = $3');
    assert.equal(toPgPlaceholders("SELECT 'a?b', 'it''s ?', \"we?rd\", ? -- why?\n"), "SELECT 'a?b', 'it''s ?', \"we?rd\", $1 -- why?\n");
    assert.equal(toPgPlaceholders('SELECT /* ? */ ? , $f$ ? $f$, $$?$$'), 'SELECT /* ? */ $1 , $f$ ? $f$, $$?$$');
  });
});

describeWithPostgres('PgConnection on a real PostgreSQL', (server) => {
  it('binds ? outside strings, and answers int8, numeric and booleans as numbers and BYTEA as a Buffer', async () => {
    const c = await PgConnection.open({ url: await server().createDatabase() });
    try {
      const row = await c.get<Record<string, unknown>>(
        "SELECT '?' AS literal, ?::text AS bound, count(*) AS n, 1700000000000::bigint AS ms, sum(x) AS total, (1 = 1) AS yes, (1 = 2) AS no FROM (VALUES (1), (2)) v(x)",
        ['value'],
      );
      assert.deepEqual(row, { literal: '?', bound: 'value', n: 2, ms: 1_700_000_000_000, total: 3, yes: 1, no: 0 });
      await c.exec('CREATE TABLE t (id BIGSERIAL PRIMARY KEY, b BYTEA, note TEXT)');
      const bytes = Buffer.from([0, 1, 2, 255, 0x3f]);
      const ins = await c.run('INSERT INTO t (b, note) VALUES (?, ?) RETURNING id', [bytes, "it's ?"]);
      assert.deepEqual(ins, { changes: 1, lastID: 1 });
      const back = await c.get<{ b: Buffer; note: string }>('SELECT b, note FROM t WHERE id = ?', [ins.lastID]);
      assert.ok(Buffer.isBuffer(back?.b));
      assert.deepEqual(back, { b: bytes, note: "it's ?" });
      assert.deepEqual(await c.run('UPDATE t SET note = ? WHERE id > ?', ['x', 0]), { changes: 1, lastID: 0 });
    } finally {
      await c.close();
    }
  });

  it("the dialect's fragments run: greatest, JSON rows into a table's types, JSON text and arrays", async () => {
    const c = await PgConnection.open({ url: await server().createDatabase() });
    try {
      const sql = sqlOf(c);
      await c.exec('CREATE TABLE r (k TEXT PRIMARY KEY, ms BIGINT, v REAL, blob BYTEA)');
      const cols = ['k', 'ms', 'v', 'blob'];
      await c.run(`INSERT INTO r (${cols.join(', ')}) ${sql.rowsSource('r', cols)}`, [
        sql.rowsParam(cols, [
          ['a', 1_700_000_000_001, 1.5, Buffer.from('hi')],
          ['b', 2, null, null],
        ]),
      ]);
      assert.deepEqual(await c.all('SELECT k, ms, v, blob FROM r ORDER BY k'), [
        { k: 'a', ms: 1_700_000_000_001, v: 1.5, blob: Buffer.from('hi') },
        { k: 'b', ms: 2, v: null, blob: null },
      ]);
      assert.deepEqual(await c.get(`SELECT ${sql.greatest('?::bigint', 'NULL', '3')} AS g`, [7]), { g: 7 });
      const doc = JSON.stringify({ kind: 'motion', zones: ['a', 'b'] });
      assert.deepEqual(await c.get(`SELECT ${sql.jsonText('?', 'kind')} AS kind`, [doc]), { kind: 'motion' });
      assert.deepEqual(await c.get(`SELECT ${sql.jsonArrayHas('?')} AS has`, ['["driveway","gate"]', 'gate']), { has: 1 });
    } finally {
      await c.close();
    }
  });

  it('interrupt cancels the running statement; the connection goes on; close ends it on the server', async () => {
    const url = await server().createDatabase();
    const c = await PgConnection.open({ url, applicationName: 'picam-interrupt-test' });
    const slow = c.get('SELECT pg_sleep(30)');
    await new Promise((r) => setTimeout(r, 200));
    c.interrupt();
    await assert.rejects(slow, /cancel/i);
    assert.deepEqual(await c.get('SELECT 1 AS one'), { one: 1 });
    await c.close();
    await c.close();
    const watcher = await PgConnection.open({ url });
    const left = await watcher.all("SELECT pid FROM pg_stat_activity WHERE application_name = 'picam-interrupt-test'");
    await watcher.close();
    assert.deepEqual(left, []);
    await assert.rejects(c.get('SELECT 1'), /closed/);
  });

  it('a connection lost inside a transaction fails (transiently) until ROLLBACK, then opens again', async () => {
    const url = await server().createDatabase();
    const c = await PgConnection.open({ url, applicationName: 'picam-lost-test' });
    const killer = await PgConnection.open({ url });
    try {
      await c.exec('CREATE TABLE t (x INTEGER)');
      await c.run('BEGIN');
      await c.run('INSERT INTO t VALUES (1)');
      await killer.get("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'picam-lost-test'");
      const err = await c.run('INSERT INTO t VALUES (2)').catch((e: unknown) => e);
      assert.ok(isTransientStoreError(err), `transient: ${String(err)}`);
      const again = await c.run('COMMIT').catch((e: unknown) => e);
      assert.ok(isTransientStoreError(again), 'COMMIT after the loss must fail too');
      await c.run('ROLLBACK');
      assert.deepEqual(await c.all('SELECT x FROM t'), [], 'nothing of the lost transaction was committed');
    } finally {
      await c.close();
      await killer.close();
    }
  });

  it("never puts the URL's password in an error", async () => {
    const wrong = server()
      .url()
      .replace(encodeURIComponent(server().password), encodeURIComponent(`${server().password}x`));
    const err = (await PgConnection.open({ url: wrong }).catch((e: unknown) => e)) as Error;
    assert.ok(err instanceof Error);
    assert.match(err.message, /password authentication failed/);
    assert.ok(!err.message.includes(server().password) && !err.message.includes(encodeURIComponent(server().password)));
    assert.ok(!String(err.stack).includes(server().password));
  });
});
