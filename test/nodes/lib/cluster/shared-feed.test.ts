import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { sharedHub } from '../../../../cli/runtime/cluster';
import type { DashboardHub, FeedMessage, SensorMessage } from '../../../../nodes/lib/contract/feed';
import { FEED_CHANNEL, fitted, MAX_PAYLOAD_BYTES, pack, SharedFeed } from '../../../../nodes/lib/cluster/shared-feed';
import { describeWithPostgres } from '../../../support/postgres';
import { waitFor } from '../../../support/wait';

const sensor = (deviceId: string, temperature: number): SensorMessage => ({
  type: 'sensor',
  deviceId,
  deviceType: 'picam',
  timeMs: 1_700_000_000_000,
  temperature,
});

/** A runtime's own hub, as the browsers would see it: every message it was asked to show. */
class ShownHub implements DashboardHub {
  readonly shown: FeedMessage[] = [];
  broadcast(message: FeedMessage): void {
    this.shown.push(message);
  }
  clientCount(): number {
    return 1;
  }
  count(deviceId: string): number {
    return this.shown.filter((m) => 'deviceId' in m && m.deviceId === deviceId).length;
  }
}

/** A runtime's side of the shared feed: its hub, and the hub its dashboard-feed node is given. */
function runtime(url: string) {
  const local = new ShownHub();
  const logs: string[] = [];
  const feed = new SharedFeed({ url, deliver: (m) => local.broadcast(m), log: (m) => logs.push(m), warn: (m) => logs.push(m) });
  return { local, feed, hub: sharedHub(local, feed), logs };
}

describe('live feed packing', () => {
  it('packs messages into notifications under PostgreSQL limit, in order', () => {
    const texts = Array.from({ length: 300 }, (_, i) => JSON.stringify(sensor(`cam-${i}`, i)));
    const payloads = pack('o1', texts);
    assert.ok(payloads.length > 1, 'more than one notification is needed');
    for (const p of payloads) assert.ok(Buffer.byteLength(p) <= MAX_PAYLOAD_BYTES);
    const back = payloads.flatMap((p) => (JSON.parse(p) as { m: FeedMessage[] }).m);
    assert.deepEqual(
      back,
      texts.map((t) => JSON.parse(t) as FeedMessage),
    );
  });

  it('cuts device texts of a message too large for a notification, keeping its figures', () => {
    const long: FeedMessage = { ...sensor('cam-1', 21.5), deviceType: 'x'.repeat(20_000) };
    const text = fitted(long)!;
    assert.ok(Buffer.byteLength(text) < MAX_PAYLOAD_BYTES);
    const m = JSON.parse(text) as { temperature: number; deviceType: string };
    assert.equal(m.temperature, 21.5);
    assert.equal(m.deviceType.length, 200);
  });
});

describeWithPostgres('live feed across runtimes over PostgreSQL', (server) => {
  it("shows a record committed on runtime A on B's feed once, and not twice on A's", async () => {
    const url = await server().createDatabase();
    const a = runtime(url);
    const b = runtime(url);
    try {
      await Promise.all([a.feed.whenListening(), b.feed.whenListening()]);
      a.hub.broadcast(sensor('cam-a', 20));
      await waitFor("A's record on B", async () => (b.local.count('cam-a') > 0 ? true : undefined));
      // B answers with a record of its own: NOTIFY keeps commit order, so by the time A shows
      // B's, A would have been sent its own back already, and B a second copy of A's.
      b.hub.broadcast(sensor('cam-b', 21));
      await waitFor("B's record on A", async () => (a.local.count('cam-b') > 0 ? true : undefined));
      a.hub.broadcast(sensor('cam-a2', 22));
      await waitFor("A's second record on B", async () => (b.local.count('cam-a2') > 0 ? true : undefined));
      assert.equal(a.local.count('cam-a'), 1, 'A shows its own record once (its own, not one from the database)');
      assert.equal(b.local.count('cam-a'), 1, "B shows A's record once");
      assert.equal(b.local.count('cam-b'), 1);
      assert.deepEqual(b.local.shown[0], sensor('cam-a', 20), 'the message arrives as A showed it');
      assert.equal(a.feed.stats.sent, 2);
      assert.equal(b.feed.stats.received, 2);
    } finally {
      await a.feed.close();
      await b.feed.close();
    }
  });

  it('carries a burst of records in order, nothing missed', async () => {
    const url = await server().createDatabase();
    const a = runtime(url);
    const b = runtime(url);
    try {
      await Promise.all([a.feed.whenListening(), b.feed.whenListening()]);
      for (let i = 0; i < 2000; i++) a.hub.broadcast(sensor(`cam-${i % 50}`, i));
      await waitFor('all 2000 on B', async () => (b.local.shown.length === 2000 ? true : undefined), 30_000);
      assert.deepEqual(
        b.local.shown.map((m) => (m as { temperature: number }).temperature),
        Array.from({ length: 2000 }, (_, i) => i),
      );
      assert.equal(a.feed.stats.dropped, 0);
    } finally {
      await a.feed.close();
      await b.feed.close();
    }
  });

  it('listens again after its session is terminated, says so, and shows records sent after', async () => {
    const url = await server().createDatabase();
    const a = runtime(url);
    const b = runtime(url);
    try {
      await Promise.all([a.feed.whenListening(), b.feed.whenListening()]);
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query('SELECT pg_terminate_backend($1)', [b.feed.listenerPid]);
      await admin.end();
      await waitFor('B to notice', async () => (b.feed.listening ? undefined : true));
      await b.feed.whenListening();
      assert.match(
        b.logs.join('\n'),
        /lost the LISTEN connection to PostgreSQL \(terminating connection due to administrator command\); reconnecting/,
      );
      assert.match(b.logs.join('\n'), /live feed: listening again after [\d.]+ s/);
      assert.equal(b.feed.stats.reconnects, 1);
      a.hub.broadcast(sensor('cam-after', 23));
      await waitFor('the record after the reconnect on B', async () => (b.local.count('cam-after') === 1 ? true : undefined));
    } finally {
      await a.feed.close();
      await b.feed.close();
    }
  });

  it('ignores a notification on its channel that is not one of ours, and says so', async () => {
    const url = await server().createDatabase();
    const b = runtime(url);
    try {
      await b.feed.whenListening();
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      await other.query('SELECT pg_notify($1, $2)', [FEED_CHANNEL, '{"o":"x","m":[{"type":"<script>"}]}']);
      await other.end();
      await waitFor('a warning', async () => (b.logs.some((l) => /not one of ours/.test(l)) ? true : undefined));
      assert.equal(b.local.shown.length, 0);
    } finally {
      await b.feed.close();
    }
  });
});
