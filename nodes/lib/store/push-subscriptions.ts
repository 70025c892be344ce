/**
 * Web Push's data (migration 18): the runtime's VAPID key pair, made on first use and then
 * kept, and the browsers each dashboard user subscribed. The dashboard server adds and removes
 * subscriptions; webpush-alert reads them and drops those the push service says are gone.
 */
import { generateVapidKeys, type PushSubscription, type VapidKeys } from '../alerts/web-push';
import type { SecretBox } from '../secret-box';
import type { Exclusive } from './command-queue';
import type { StoreConnection } from './connection';

export interface StoredSubscription extends PushSubscription {
  username: string;
  createdMs: number;
}

export class PushSubscriptionStore {
  /** the count query running now, which every caller meanwhile shares */
  private counting?: Promise<number>;

  /** `box`: seals the private key at rest under the credential secret (none: stored as it is) */
  constructor(
    private readonly exclusive: Exclusive,
    private readonly box?: SecretBox,
  ) {}

  /**
   * The key pair; made and stored the first time (one row: two callers at once get the same,
   * also two runtimes sharing a PostgreSQL store: the second's insert yields to the first's).
   */
  vapidKeys(): Promise<VapidKeys> {
    return this.exclusive(async (db) => {
      const stored = await this.storedKeys(db);
      if (stored) return stored;
      const keys = generateVapidKeys();
      await db.run('INSERT INTO webpush_keys (id, public_key, private_key, created_ms) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING', [
        keys.publicKey,
        this.box ? this.box.seal(keys.privateKey) : keys.privateKey,
        Date.now(),
      ]);
      return (await this.storedKeys(db))!;
    });
  }

  private async storedKeys(db: StoreConnection): Promise<VapidKeys | undefined> {
    const row = await db.get<VapidKeys>('SELECT public_key AS "publicKey", private_key AS "privateKey" FROM webpush_keys WHERE id = 1');
    // An unsealed key (written without a secret) opens as it is; another secret's key throws SecretBoxError.
    return row && { publicKey: row.publicKey, privateKey: this.box ? this.box.open(row.privateKey) : row.privateKey };
  }

  /** Adds a browser of `username` (the same endpoint again: its keys and user are replaced). */
  subscribe(username: string, sub: PushSubscription): Promise<void> {
    return this.exclusive(async (db) => {
      await db.run(
        `INSERT INTO webpush_subscriptions (endpoint, username, p256dh, auth, created_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (endpoint) DO UPDATE SET username = excluded.username, p256dh = excluded.p256dh, auth = excluded.auth`,
        [sub.endpoint, username, sub.p256dh, sub.auth, Date.now()],
      );
    });
  }

  /** Removes one browser; true when it was there. */
  unsubscribe(endpoint: string): Promise<boolean> {
    return this.exclusive(async (db) => {
      return (await db.run('DELETE FROM webpush_subscriptions WHERE endpoint = ?', [endpoint])).changes > 0;
    });
  }

  /**
   * How many browsers are subscribed (none: an alert is not queued; nobody could receive it).
   * webpush-alert asks once per alert, and a batch's alerts ask in the same turn: callers
   * share the query already running instead of queueing one each on the writer connection,
   * where each waited for the ingest commit and held up the next (an activity flood ran a
   * query per alert between commits).
   */
  count(): Promise<number> {
    this.counting ??= this.exclusive(
      async (db) => (await db.get<{ n: number }>('SELECT count(*) AS n FROM webpush_subscriptions'))?.n ?? 0,
    ).finally(() => (this.counting = undefined));
    return this.counting;
  }

  list(): Promise<StoredSubscription[]> {
    return this.exclusive((db) =>
      db.all<StoredSubscription>(
        'SELECT endpoint, username, p256dh, auth, created_ms AS "createdMs" FROM webpush_subscriptions ORDER BY created_ms',
      ),
    );
  }
}
