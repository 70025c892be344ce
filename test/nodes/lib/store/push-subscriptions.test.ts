/**
 * Web Push's subscriptions on a real SQLite file and a real PostgreSQL (issue 21): webpush-alert
 * asks how many browsers are subscribed once per alert, so a batch of alerts asks many times in
 * one turn. Those callers share one query on the writer connection (each used to queue its own
 * between the ingest commits), and a count asked after a change still sees it. The VAPID key pair
 * is made once, also when two callers (or two runtimes on one PostgreSQL) ask at the same time.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { StoreConnection } from '../../../../nodes/lib/store/connection';
import { PushSubscriptionStore } from '../../../../nodes/lib/store/push-subscriptions';
import { eachDialect } from '../../../support/stores';

const browser = (n: number) => ({ endpoint: `https://push.example/${n}`, p256dh: `key-${n}`, auth: `auth-${n}` });

eachDialect('web push subscriptions', (open, dialect) => {
  it('a batch of alerts asking for the count in one turn runs one query on the writer, and later counts see changes', async () => {
    const store = await open();
    try {
      let tasks = 0;
      const writer = store.pushSubscriptions();
      // The store's writer connection, as EventStore.pushSubscriptions() wires it, counting the tasks queued on it.
      const counted = new PushSubscriptionStore(<T>(task: (db: StoreConnection) => Promise<T>) => {
        tasks++;
        return store.exclusive(task);
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

  it('the same endpoint again replaces its keys and user; the key pair is made once and kept', async () => {
    const store = await open();
    // PostgreSQL: a second runtime on the same database asks at the same moment.
    const other = dialect === 'postgres' ? await open(store.location) : store;
    try {
      const [k1, k2, k3] = await Promise.all([
        store.pushSubscriptions().vapidKeys(),
        store.pushSubscriptions().vapidKeys(),
        other.pushSubscriptions().vapidKeys(),
      ]);
      assert.deepEqual(k2, k1);
      assert.deepEqual(k3, k1);
      assert.deepEqual(await store.pushSubscriptions().vapidKeys(), k1);
      const push = store.pushSubscriptions();
      await push.subscribe('alice', browser(1));
      await push.subscribe('bob', { ...browser(1), p256dh: 'new-key' });
      assert.deepEqual(
        (await push.list()).map((r) => [r.endpoint, r.username, r.p256dh, typeof r.createdMs]),
        [[browser(1).endpoint, 'bob', 'new-key', 'number']],
      );
    } finally {
      if (other !== store) await other.close();
      await store.close();
    }
  });
});
