/**
 * The store's read connections (nodes/lib/store/read-pool.ts): a slow query on one does not
 * hold up the others (issue 18: /api/alerts waited 3.6 s behind one events query), and close
 * releases them all.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ReadPool } from '../../../../nodes/lib/store/read-pool';
import type { StoreConnection } from '../../../../nodes/lib/store/connection';
import { EventStore } from '../../../../nodes/lib/store/store';
import { conn, start } from '../../../support/records';
import { tempDir } from '../../../support/tmp';
import { waitFor } from '../../../support/wait';

const dir = tempDir();
let n = 0;
const fresh = (readConnections?: number) => EventStore.open({ file: join(dir, `pool${n++}.db`), readConnections });

/** A query that runs until interrupted (a billion-step count): it holds its connection meanwhile. */
const LONG_QUERY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000000) SELECT count(*) AS n FROM c';

/** Starts LONG_QUERY on one of the store's read connections; resolves once it runs. */
async function holdOne(store: EventStore) {
  let running: StoreConnection | undefined;
  let settled = false;
  const done = store.reads
    .use((c) => {
      running = c;
      return c.get(LONG_QUERY);
    })
    .finally(() => (settled = true));
  done.catch(() => undefined); // awaited by the caller
  const c = await waitFor('the long query to start', async () => running);
  return { done, settled: () => settled, interrupt: () => c.interrupt() };
}

describe('read connections', () => {
  it('answers other queries while a long one runs on another connection', async () => {
    const store = await fresh(2);
    try {
      await store.writeAsync(conn(Date.now()));
      await store.writeAsync(start('e1', Date.now()));
      const slow = await holdOne(store);
      assert.equal(store.reads.busy, 1);
      // Both answer from the other connection while the long query still holds its own.
      const alerts = await store.query('alerts');
      const cameras = await store.query('cameras');
      assert.deepEqual(alerts.alerts, []);
      assert.equal(cameras.cameras[0]?.last_event_id, 'e1');
      assert.equal(slow.settled(), false, 'the long query is still running: the answers did not wait for it');
      slow.interrupt();
      await assert.rejects(slow.done, /interrupt/i);
      assert.equal(store.reads.busy, 0, 'the interrupted query gave its connection back');
    } finally {
      await store.close();
    }
  });

  it('with one connection, queues the next query behind the running one and answers it after', async () => {
    const store = await fresh(1);
    try {
      const slow = await holdOne(store);
      let answered = false;
      const status = store.query('status').then((s) => {
        answered = true;
        return s;
      });
      assert.equal(answered, false);
      slow.interrupt();
      await assert.rejects(slow.done, /interrupt/i);
      assert.equal((await status).counts.camera_registry, 0);
    } finally {
      await store.close();
    }
  });

  it('close refuses what still waits, releases every connection, and is safe twice', async () => {
    const file = join(dir, 'close.db');
    await (await EventStore.open({ file })).close();
    const pool = await ReadPool.open(file, 1);
    let running: StoreConnection | undefined;
    const long = pool.use((c) => {
      running = c;
      return c.get(LONG_QUERY);
    });
    long.catch(() => undefined);
    const c = await waitFor('the long query to start', async () => running);
    const queued = pool.get('SELECT 1 AS x');
    const closing = pool.close();
    await assert.rejects(queued, /database is closed/);
    await assert.rejects(pool.get('SELECT 1 AS x'), /database is closed/);
    c.interrupt();
    await assert.rejects(long, /interrupt/i);
    await closing;
    await pool.close();
  });

  it('refuses a pool size outside 1 to 16 with a reason, before opening anything', async () => {
    await assert.rejects(ReadPool.open(join(dir, 'x.db'), 0), /from 1 to 16 \(got 0\)/);
    await assert.rejects(ReadPool.open(join(dir, 'x.db'), 2.5), /whole number/);
    await assert.rejects(fresh(17), /from 1 to 16 \(got 17\)/);
  });
});
