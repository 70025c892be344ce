/**
 * The event store on PostgreSQL (the cluster role, issue 21): ingest from one and from two
 * runtimes on one database, the transient failures a shared server brings (deadlocks, a lost
 * connection) retried without losing what was acknowledged, and the URL's password kept out
 * of every message.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { appendAudit, listAudit } from '../../../../nodes/lib/store/audit';
import { PgConnection } from '../../../../nodes/lib/store/postgres';
import { MIGRATIONS } from '../../../../nodes/lib/store/schema';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { Alert, StoreRecord } from '../../../../nodes/lib/types';
import { describeWithPostgres } from '../../../support/postgres';
import { conn, reading, start, stop } from '../../../support/records';

const T0 = 1_700_000_000_000;

/** A store with quick retries: a test waits for a retry, not for production's backoff. */
const open = (url: string, opts: Partial<Parameters<typeof EventStore.open>[0]> = {}) =>
  EventStore.open({ url, maxDelayMs: 5, readConnections: 1, ...opts });

const writeMany = (store: EventStore, records: StoreRecord[]) =>
  new Promise<void>((resolve, reject) => store.writeMany(records, (err) => (err ? reject(err) : resolve())));

interface EventRow {
  event_id: string;
  start_timestamp: number | null;
  end_timestamp: number | null;
  duration_seconds: number | null;
}

describeWithPostgres('the event store on PostgreSQL', (server) => {
  it('pairs a stop that comes before its start in one batch, and a start and stop of one batch are one row', async () => {
    const store = await open(await server().createDatabase());
    try {
      await writeMany(store, [
        conn(T0),
        stop('late-start', T0 + 9000),
        start('late-start', T0 + 1000),
        start('both', T0),
        stop('both', T0 + 4000),
      ]);
      await writeMany(store, [start('both', T0), stop('both', T0 + 4000)]);
      const rows = await store.reads.all<EventRow>(
        'SELECT event_id, start_timestamp, end_timestamp, duration_seconds FROM activity_events ORDER BY event_id',
      );
      assert.deepEqual(rows, [
        { event_id: 'both', start_timestamp: (T0 / 1000) | 0, end_timestamp: (T0 + 4000) / 1000, duration_seconds: 4 },
        { event_id: 'late-start', start_timestamp: (T0 + 1000) / 1000, end_timestamp: (T0 + 9000) / 1000, duration_seconds: 8 },
      ]);
      const counts = await store.query('status');
      assert.equal(counts.counts.activity_events, 2, 'counted once each, as SQLite counts them');
      assert.equal(counts.schemaVersion, MIGRATIONS.at(-1)!.version);
    } finally {
      await store.close();
    }
  });

  it('two runtimes writing starts and stops of the same events at once, in any order, end with every event paired', async () => {
    const url = await server().createDatabase();
    const [a, b] = await Promise.all([open(url, { maxBatch: 50 }), open(url, { maxBatch: 50 })]);
    const events = 600;
    try {
      // Each event's start goes to one runtime and its stop to the other, in shuffled order,
      // in overlapping batches: the rows of one batch are the other's too.
      const forA: StoreRecord[] = [];
      const forB: StoreRecord[] = [];
      for (let i = 0; i < events; i++) {
        const s = start(`e${i}`, T0 + i * 1000);
        const t = stop(`e${i}`, T0 + i * 1000 + 5000);
        if (i % 2) (forA.push(s), forB.push(t));
        else (forA.push(t), forB.push(s));
        // Readings of one device and minute from both: the roll-up rows are shared too.
        (i % 3 ? forA : forB).push(reading(T0 + i, 20));
      }
      shuffle(forA);
      shuffle(forB);
      await Promise.all([...chunks(forA, 40).map((batch) => writeMany(a, batch)), ...chunks(forB, 40).map((batch) => writeMany(b, batch))]);
      const unpaired = await a.reads.all<EventRow>(
        'SELECT event_id, start_timestamp, end_timestamp, duration_seconds FROM activity_events WHERE duration_seconds IS DISTINCT FROM 5',
      );
      assert.deepEqual(unpaired, []);
      const status = await a.query('status');
      assert.equal(status.counts.activity_events, events);
      assert.equal(status.counts.sensor_readings, events);
      const minute = await a.reads.get<{ samples: number }>('SELECT sum(samples) AS samples FROM sensor_minute');
      assert.equal(minute?.samples, events, 'every reading rolled up once');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a deadlock with another transaction is retried: the batch is stored and acknowledged once', async () => {
    const url = await server().createDatabase();
    const store = await open(url, { maxBatch: 1000 });
    const other = await PgConnection.open({ url });
    try {
      await writeMany(store, [
        { ...conn(T0), deviceId: 'cam-a' },
        { ...conn(T0), deviceId: 'cam-b' },
      ]);
      // The other transaction holds cam-b; the store's batch locks cam-a, then waits for cam-b;
      // then the other asks for cam-a: a deadlock. The other waits longer before it checks, so
      // PostgreSQL ends the store's transaction (40P01), which must go again and succeed.
      await other.run("SET deadlock_timeout = '20s'");
      await other.run('BEGIN');
      await other.run("UPDATE camera_registry SET camera_name = 'other' WHERE camera_id = 'cam-b'");
      let acknowledged = 0;
      const written = new Promise<void>((resolve, reject) =>
        store.writeMany(
          [
            { ...conn(T0 + 1000, 'connected', 'A'), deviceId: 'cam-a' },
            { ...conn(T0 + 1000, 'connected', 'B'), deviceId: 'cam-b' },
          ],
          (err) => {
            acknowledged++;
            if (err) reject(err);
            else resolve();
          },
        ),
      );
      await waitFor(async () => (await other.get<{ n: number }>('SELECT count(*) AS n FROM pg_locks WHERE NOT granted'))!.n > 0);
      await other.run("UPDATE camera_registry SET camera_name = 'other' WHERE camera_id = 'cam-a'");
      await other.run('COMMIT');
      await written;
      assert.equal(acknowledged, 1);
      assert.match(store.writer.stats.lastError ?? '', /deadlock/);
      const names = await store.reads.all('SELECT camera_id, camera_name FROM camera_registry ORDER BY camera_id');
      assert.deepEqual(names, [
        { camera_id: 'cam-a', camera_name: 'A' },
        { camera_id: 'cam-b', camera_name: 'B' },
      ]);
    } finally {
      await other.close();
      await store.close();
    }
  });

  it("keeps what it was given when the server drops the writer's connection, and writes on a new one", async () => {
    const url = await server().createDatabase();
    const store = await open(url);
    const admin = await PgConnection.open({ url });
    try {
      await store.writeAsync(start('before', T0));
      await admin.get("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'picam-guardian writer'");
      await writeMany(store, [stop('before', T0 + 2000), start('after', T0 + 3000)]);
      const rows = await store.reads.all<{ event_id: string; duration_seconds: number | null }>(
        'SELECT event_id, duration_seconds FROM activity_events ORDER BY event_id',
      );
      assert.deepEqual(rows, [
        { event_id: 'after', duration_seconds: null },
        { event_id: 'before', duration_seconds: 2 },
      ]);
    } finally {
      await admin.close();
      await store.close();
    }
  });

  it("never shows the URL's password: not where the store says it is, not in an error", async () => {
    const url = await server().createDatabase();
    const store = await open(url);
    try {
      assert.ok(!store.file.includes(server().password) && !store.file.includes(encodeURIComponent(server().password)), store.file);
      assert.match(store.file, /:\*\*\*@127\.0\.0\.1/);
    } finally {
      await store.close();
    }
    const wrong = url.replace(encodeURIComponent(server().password), 'nope');
    const err = (await open(wrong).catch((e: unknown) => e)) as Error;
    assert.match(err.message, /password authentication failed/);
    const refused = (await open(url.replace(`:${server().port}/`, ':1/')).catch((e: unknown) => e)) as Error;
    for (const e of [err, refused]) {
      assert.ok(!`${e.message}${e.stack}`.includes(server().password), e.message);
      assert.ok(!`${e.message}${e.stack}`.includes(encodeURIComponent(server().password)), e.message);
    }
  });

  it('gives a working alerts outbox and audit log on a PostgreSQL URL', async () => {
    const store = await open(await server().createDatabase());
    try {
      const outbox = store.outbox('telegram', 'n1');
      const payload: Alert = { kind: 'text', deviceId: 'cam-1', deviceName: 'Porch', timeMs: T0, severity: 'info', text: 'door open' };
      const [added] = await outbox.add([{ target: '42', item: 'alert', dedupeKey: 'a1', payload, deviceId: 'cam-1' }]);
      assert.equal(added?.duplicate, false);
      const due = await outbox.due(Date.now() + 1000);
      assert.deepEqual(
        due.map((r) => [r.id, r.target, r.deviceId, (r.payload as Alert).text]),
        [[added!.id, '42', 'cam-1', 'door open']],
      );
      const claimed = await outbox.claim(due);
      assert.deepEqual(
        claimed.map((r) => r.id),
        [added!.id],
      );
      await outbox.markSent(claimed, { messageId: 7 });
      const sent = await outbox.get(added!.id!);
      assert.equal(sent?.state, 'sent');
      assert.equal(sent?.messageId, 7);
      assert.deepEqual(await outbox.due(Date.now() + 1000), [], 'a sent row is not due again');

      await appendAudit(store.auditLog, {
        actor: 'ann',
        role: 'admin',
        action: 'user.add',
        target: 'bob',
        detail: 'role viewer',
        atMs: T0,
      });
      await appendAudit(store.auditLog, { actor: 'ann', role: 'admin', action: 'token.revoke', target: 't1', detail: '', atMs: T0 + 1 });
      const entries = await listAudit(store.auditLog);
      assert.deepEqual(
        entries.map((e) => [e.atMs, e.actor, e.role, e.action, e.target]),
        [
          [T0 + 1, 'ann', 'admin', 'token.revoke', 't1'],
          [T0, 'ann', 'admin', 'user.add', 'bob'],
        ],
      );
    } finally {
      await store.close();
    }
  });
});

function shuffle<T>(xs: T[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
