/**
 * The batch writer's two ways of sharing a transaction: a batch of records handed
 * at once (one input message of the store) is committed in one transaction and
 * answered once; the alert outboxes' adds join the next record transaction
 * instead of running their own, and one that fails fails alone.
 * Real SQLite; transactions counted by the writer and by a commit hook on the file.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PartialWriteError } from '../../../../nodes/lib/store/batch-writer';
import type { NewDelivery } from '../../../../nodes/lib/store/outbox';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { motionAlert } from '../../../support/fixtures';
import { reading, rows, start } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir('batch-writer-');
let n = 0;

const fresh = (maxBatch = 2000) => EventStore.open({ file: join(dir, `w${n++}.db`), maxBatch, maxDelayMs: 20 });

const writeMany = (store: EventStore, records: StoreRecord[]) =>
  new Promise<Error | undefined>((resolve) => store.writeMany(records, resolve));

const delivery = (eventId: string, extra: Partial<NewDelivery> = {}): NewDelivery => ({
  target: '42',
  item: 'alert',
  dedupeKey: `alert:${eventId}`,
  payload: motionAlert(eventId),
  deviceId: 'cam-a',
  eventId,
  ...extra,
});

/** Counts COMMITs on every connection until `stop` (the outbox's own transactions included). */
function countCommits(): { readonly n: number; stop(): void } {
  const original = Connection.prototype.run;
  const counter = { n: 0, stop: () => (Connection.prototype.run = original) };
  Connection.prototype.run = function (this: Connection, sql: string, ...rest: unknown[]) {
    if (sql === 'COMMIT') counter.n++;
    return (original as (...a: unknown[]) => ReturnType<Connection['run']>).call(this, sql, ...rest);
  } as Connection['run'];
  return counter;
}

/** Rejects one device's readings from inside SQLite, as a defect of ours would. */
async function sabotage(file: string, deviceId: string): Promise<void> {
  const c = await Connection.open(file);
  await c.exec(`CREATE TRIGGER reject_bad BEFORE INSERT ON sensor_readings WHEN NEW.device_id = '${deviceId}'
                BEGIN SELECT RAISE(ABORT, 'sabotaged'); END`);
  await c.close();
}

describe('batch writer: a batch of records', () => {
  it('commits a batch in one transaction, even one larger than maxBatch, and answers once after COMMIT', async () => {
    const store = await fresh(100);
    const records = Array.from({ length: 250 }, (_, i) => reading(1_700_000_000_000 + i * 1000, 20));
    let answers = 0;
    let seenAtAnswer = -1;
    await new Promise<void>((resolve, reject) =>
      store.writeMany(records, (err) => {
        answers++;
        if (err) return reject(err);
        void rows<{ n: number }>(store.file, 'SELECT count(*) AS n FROM sensor_readings').then((r) => {
          seenAtAnswer = r[0]!.n;
          resolve();
        }, reject);
      }),
    );
    assert.equal(answers, 1);
    assert.equal(seenAtAnswer, 250, 'every record readable by another connection when the batch is answered');
    assert.equal(store.writer.stats.transactions, 1, 'one transaction for the batch');
    assert.equal(store.writer.stats.committedRecords, 250);
    await store.close();
  });

  it('answers every unit of a transaction once, even when one of their callbacks throws, and goes on writing', async () => {
    const store = await fresh();
    const answered: string[] = [];
    store.writeMany([reading(1_700_000_000_000, 20)], () => {
      answered.push('a');
      throw new Error('a caller defect');
    });
    const b = writeMany(store, [reading(1_700_000_001_000, 21)]);
    assert.equal(await b, undefined);
    answered.push('b');
    assert.equal(await writeMany(store, [reading(1_700_000_002_000, 22)]), undefined, 'the writer goes on');
    await store.writer.flush();
    assert.deepEqual(answered, ['a', 'b']);
    assert.equal(store.writer.stats.committedRecords, 3, 'nothing written twice');
    assert.match(store.writer.stats.lastError ?? '', /a caller defect/);
    await store.close();
  });

  it('commits the rest of a batch when one record can never be written, and names that one', async () => {
    const store = await fresh();
    await sabotage(store.file, 'broken');
    const bad: StoreRecord = { kind: 'sensor', deviceId: 'broken', deviceType: 'picam', timeMs: 5, temperature: 1 };
    const err = await writeMany(store, [reading(1, 20), bad, reading(2, 21)]);
    assert.ok(err instanceof PartialWriteError, `expected a PartialWriteError, got ${String(err)}`);
    assert.deepEqual(
      err.failed.map((f) => f.index),
      [1],
    );
    assert.match(err.message, /sabotaged/);
    await store.close();
    assert.deepEqual(await rows(store.file, 'SELECT time_ms FROM sensor_readings ORDER BY time_ms'), [{ time_ms: 1 }, { time_ms: 2 }]);
  });
});

describe('batch writer: alert outbox adds join the record transaction', () => {
  it("two alert nodes' adds for an activity and the activity's row share one transaction", async () => {
    const store = await fresh();
    const telegram = store.outbox('telegram', 'node-telegram');
    const webhook = store.outbox('webhook', 'node-webhook');
    const commits = countCommits();
    const record = new Promise<void>((resolve, reject) =>
      store.write(start('evt_1', 1_700_000_000_000), (e) => (e ? reject(e) : resolve())),
    );
    const [t, w] = await Promise.all([telegram.add([delivery('evt_1')]), webhook.add([delivery('evt_1', { target: 'hook' })]), record]);
    commits.stop();
    assert.equal(commits.n, 1, 'one COMMIT for the row and both outboxes');
    assert.ok(t[0] && !t[0].duplicate && t[0].state === 'pending');
    assert.ok(w[0] && !w[0].duplicate && w[0].state === 'pending');
    // The same alert again is still known as a duplicate (the rows really are committed).
    assert.deepEqual(await telegram.add([delivery('evt_1')]), [{ duplicate: true }]);
    await store.close();
    assert.deepEqual(await rows(store.file, 'SELECT owner FROM alerts_outbox ORDER BY owner'), [
      { owner: 'node-telegram' },
      { owner: 'node-webhook' },
    ]);
    assert.deepEqual(await rows(store.file, 'SELECT count(*) AS n FROM activity_events'), [{ n: 1 }]);
  });

  it('an add that cannot be written fails alone; the records and the other adds are committed', async () => {
    const store = await fresh();
    const outbox = store.outbox('telegram', 'node-1');
    // A BigInt cannot be bound: the INSERT fails inside the add's own savepoint.
    const bad = { ...delivery('evt_bad'), payload: { ...motionAlert('evt_bad'), size: 10n } } as unknown as NewDelivery;
    const commits = countCommits();
    const record = new Promise<void>((resolve, reject) => store.write(reading(7, 20), (e) => (e ? reject(e) : resolve())));
    const settled = await Promise.allSettled([outbox.add([delivery('evt_1')]), outbox.add([bad]), outbox.add([delivery('evt_2')]), record]);
    commits.stop();
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.equal(commits.n, 1, 'one COMMIT: the transaction ran again without the failed add');
    await store.close();
    assert.deepEqual(await rows(store.file, 'SELECT event_id FROM alerts_outbox ORDER BY id'), [
      { event_id: 'evt_1' },
      { event_id: 'evt_2' },
    ]);
    assert.deepEqual(await rows(store.file, 'SELECT count(*) AS n FROM sensor_readings'), [{ n: 1 }]);
  });

  it('an add with no records queued is committed on its own, without waiting for a batch', async () => {
    const store = await EventStore.open({ file: join(dir, `w${n++}.db`), maxDelayMs: 60_000 });
    const [r] = await store.outbox('telegram', 'node-1').add([delivery('evt_1')]);
    assert.equal(r!.duplicate, false);
    await store.close();
  });

  it('adds wait with the records while the store cannot write, and are committed once it can', async () => {
    const store = await fresh();
    // query_only makes every write fail as a full disk would make it fail: for now, not for good.
    await store.writer.exclusive((db) => db.exec('PRAGMA query_only = ON'));
    const outbox = store.outbox('telegram', 'node-1');
    const record = new Promise<void>((resolve, reject) => store.write(reading(9, 20), (e) => (e ? reject(e) : resolve())));
    const added = outbox.add([delivery('evt_1')]);
    let settled = false;
    void added.finally(() => (settled = true));
    await new Promise<void>((resolve) => {
      const unsubscribe = store.writer.onHealth((h) => {
        if (!h.ok) {
          unsubscribe();
          resolve();
        }
      });
    });
    assert.equal(settled, false, 'not answered while nothing can be written');
    await store.writer.exclusive((db) => db.exec('PRAGMA query_only = OFF'));
    const [[r]] = await Promise.all([added, record]);
    assert.equal(r!.duplicate, false);
    await store.close();
    assert.deepEqual(await rows(store.file, 'SELECT count(*) AS n FROM alerts_outbox'), [{ n: 1 }]);
  });
});
