/**
 * Group commit of the alerts outbox: alerts that arrive together share one
 * transaction (one fsync), each caller still learns what became of its own,
 * and one that cannot be written fails alone. Real SQLite.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GroupCommit } from '../../../../nodes/lib/store/group-commit';
import { AlertOutbox, type NewDelivery } from '../../../../nodes/lib/store/outbox';
import type { Connection } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import { motionAlert } from '../../../support/fixtures';
import { rows } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
let n = 0;

const delivery = (eventId: string): NewDelivery => ({
  target: '42',
  item: 'alert',
  dedupeKey: `alert:${eventId}`,
  payload: motionAlert(eventId),
  deviceId: 'cam-a',
  eventId,
});

/** An outbox on a fresh store whose transactions are counted. */
async function countedOutbox() {
  const file = join(dir, `g${n++}.db`);
  const store = await EventStore.open({ file });
  const counted = { transactions: 0 };
  const outbox = new AlertOutbox(
    <T>(task: (db: Connection) => Promise<T>) => {
      counted.transactions++;
      return store.writer.exclusive(task);
    },
    'telegram',
    'node-1',
  );
  return { file, store, outbox, counted };
}

describe('alerts outbox: group commit', () => {
  it('commits alerts that arrive together in one transaction, and answers each caller for its own', async () => {
    const { file, store, outbox, counted } = await countedOutbox();
    const ids = Array.from({ length: 40 }, (_, i) => `evt_${i}`);
    const results = await Promise.all(ids.map((id) => outbox.add([delivery(id)])));
    assert.equal(counted.transactions, 1, 'forty alerts, one commit');
    assert.ok(results.every(([r]) => r && !r.duplicate && r.state === 'pending' && typeof r.id === 'number'));
    assert.equal(new Set(results.map(([r]) => r!.id)).size, 40, 'each caller got its own row');
    // The same alert again, together with a new one: only the new one is added.
    const [again, fresh] = await Promise.all([outbox.add([delivery('evt_3')]), outbox.add([delivery('evt_new')])]);
    assert.deepEqual(again, [{ duplicate: true }]);
    assert.equal(fresh[0]!.duplicate, false);
    await store.close();
    assert.deepEqual(await rows(file, 'SELECT count(*) AS n FROM alerts_outbox'), [{ n: 41 }]);
  });

  it('fails only the alert that cannot be written; the others of its group are committed', async () => {
    const { file, store, outbox } = await countedOutbox();
    const bad = { ...delivery('evt_bad'), payload: { ...motionAlert('evt_bad'), size: 10n } } as unknown as NewDelivery;
    const settled = await Promise.allSettled([outbox.add([delivery('evt_1')]), outbox.add([bad]), outbox.add([delivery('evt_2')])]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    await store.close();
    assert.deepEqual(await rows(file, 'SELECT event_id FROM alerts_outbox ORDER BY id'), [{ event_id: 'evt_1' }, { event_id: 'evt_2' }]);
  });

  it('takes what arrives during a commit into the next one, never more than one commit at a time', async () => {
    let running = 0;
    let most = 0;
    const commits: string[][] = [];
    const group = new GroupCommit<string, string>(async (items) => {
      most = Math.max(most, ++running);
      commits.push(items);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return items.map((i) => `${i}!`);
    });
    const first = group.add('a');
    await new Promise((r) => setTimeout(r, 5)); // 'a' is committing
    const later = ['b', 'c', 'd'].map((i) => group.add(i));
    assert.deepEqual(await Promise.all([first, ...later]), ['a!', 'b!', 'c!', 'd!']);
    assert.deepEqual(commits, [['a'], ['b', 'c', 'd']]);
    assert.equal(most, 1);
  });
});
