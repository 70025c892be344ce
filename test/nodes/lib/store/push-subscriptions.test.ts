/**
 * Web Push's subscriptions on a real SQLite file: webpush-alert asks how many browsers are
 * subscribed once per alert, so a batch of alerts asks many times in one turn. Those callers
 * share one query on the writer connection (each used to queue its own between the ingest
 * commits), and a count asked after a change still sees it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { StoreConnection } from '../../../../nodes/lib/store/connection';
import { PushSubscriptionStore } from '../../../../nodes/lib/store/push-subscriptions';
import { EventStore } from '../../../../nodes/lib/store/store';
import { tempDir } from '../../../support/tmp';

const dir = tempDir('push-subscriptions-');
const browser = (n: number) => ({ endpoint: `https://push.example/${n}`, p256dh: `key-${n}`, auth: `auth-${n}` });

describe('web push subscriptions', () => {
  it('a batch of alerts asking for the count in one turn runs one query on the writer, and later counts see changes', async () => {
    const store = await EventStore.open({ file: join(dir, 'count.db') });
    try {
      let tasks = 0;
      const writer = store.pushSubscriptions();
      // The store's writer connection, as EventStore.pushSubscriptions() wires it, counting the tasks queued on it.
      const counted = new PushSubscriptionStore(<T>(task: (db: StoreConnection) => Promise<T>) => {
        tasks++;
        return store.writer.exclusive(task);
      });
      await writer.subscribe('alice', browser(1));
      const answers = await Promise.all(Array.from({ length: 80 }, () => counted.count()));
      assert.deepEqual(new Set(answers), new Set([1]));
      assert.equal(tasks, 1, 'one query for the whole batch');

      await writer.subscribe('bob', browser(2));
      assert.equal(await counted.count(), 2);
      assert.equal(await writer.unsubscribe(browser(1).endpoint), true);
      assert.equal(await counted.count(), 1);
      assert.equal(tasks, 3);
    } finally {
      await store.close();
    }
  });
});
