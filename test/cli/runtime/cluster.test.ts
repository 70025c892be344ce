/**
 * What a runtime shares with the others: nothing on one box; with PostgreSQL the election and
 * the live feed, both let go when the runtime stops.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startCluster } from '../../../cli/runtime/cluster';
import { SINGLE_BOX } from '../../../nodes/lib/cluster/leadership';
import type { DashboardHub, FeedMessage } from '../../../nodes/lib/contract/feed';
import { describeWithPostgres } from '../../support/postgres';
import { waitFor } from '../../support/wait';

function hub(): DashboardHub & { shown: FeedMessage[] } {
  const shown: FeedMessage[] = [];
  return { shown, broadcast: (m) => void shown.push(m), clientCount: () => 0 };
}

const quiet = { log: () => undefined, warn: () => undefined };

it('on one box: always the leader, and the feed is the runtime’s own hub', async () => {
  const own = hub();
  const c = startCluster({ hub: own, ...quiet });
  assert.equal(c.leadership, SINGLE_BOX);
  assert.equal(c.hub, own);
  assert.equal(c.feed, undefined);
  await c.close();
});

describeWithPostgres('with PostgreSQL', (server) => {
  it("two runtimes: one leads, each shows the other's records, and a stopped leader hands over", async () => {
    const url = await server().createDatabase();
    const [hubA, hubB] = [hub(), hub()];
    const a = startCluster({ url, hub: hubA, ...quiet });
    await waitFor('A to lead', async () => (a.leadership.isLeader ? true : undefined));
    const b = startCluster({ url, hub: hubB, ...quiet });
    try {
      await Promise.all([a.feed!.whenListening(), b.feed!.whenListening()]);
      const m: FeedMessage = { type: 'connection', deviceId: 'cam-1', deviceType: 'hive-cam', timeMs: 1, status: 'connected' };
      a.hub!.broadcast(m);
      await waitFor("A's record on B", async () => (hubB.shown.length === 1 ? true : undefined));
      assert.deepEqual(hubB.shown, [m]);
      assert.equal(b.leadership.isLeader, false);
      await a.close();
      await waitFor('B to lead once A stopped', async () => (b.leadership.isLeader ? true : undefined));
      assert.equal(a.leadership.isLeader, false);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
