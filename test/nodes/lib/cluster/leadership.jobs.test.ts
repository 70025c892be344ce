/**
 * The jobs that must run once, in a real Node-RED runtime whose leadership is decided by a real
 * PostgreSQL: a second leadership in this process plays the other runtime. MediaMTX polling and
 * the Telegram command poller run only while the runtime leads, and follow leadership as it moves.
 */
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import healthNode from '../../../../nodes/mediamtx-health/mediamtx-health';
import serverNode from '../../../../nodes/mediamtx-server/mediamtx-server';
import botNode from '../../../../nodes/telegram-bot/telegram-bot';
import alertNode from '../../../../nodes/telegram-alert/telegram-alert';
import databaseNode from '../../../../nodes/picam-database/picam-database';
import eventsNode from '../../../../nodes/sqlite-events/sqlite-events';
import { EventStore } from '../../../../nodes/lib/store/store';
import { rows, start } from '../../../support/records';
import { PostgresLeadership } from '../../../../nodes/lib/cluster/postgres-leadership';
import { FakeMediamtx } from '../../../support/fake-mediamtx';
import { FakeTelegram } from '../../../support/fake-telegram';
import { helper, sleep, spy, until, useNodeRed } from '../../../support/node-helper';
import { describeWithPostgres, terminateSession } from '../../../support/postgres';
import { tempDir } from '../../../support/tmp';
import { join } from 'node:path';
import { waitFor } from '../../../support/wait';

useNodeRed();

describeWithPostgres('jobs that must run once follow leadership', (server) => {
  let other: PostgresLeadership | undefined;
  let ours: PostgresLeadership | undefined;
  const dir = tempDir();

  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    await ours?.close();
    await other?.close();
  });

  /** `other` leads; `ours`, the runtime under test, follows. */
  async function followerRuntime(): Promise<{ url: string; ours: PostgresLeadership; other: PostgresLeadership }> {
    const url = await server().createDatabase();
    other = new PostgresLeadership({ url, applicationName: 'the other runtime', warn: (m) => console.log(`# other: ${m}`) });
    await waitFor('the other runtime to lead', async () => (other!.isLeader ? true : undefined));
    ours = new PostgresLeadership({ url, applicationName: 'this runtime', warn: (m) => console.log(`# ours: ${m}`) });
    await waitFor('this runtime to try', async () => (ours!.sessionPid ? true : undefined));
    helper.settings({ picamLeadership: ours });
    return { url, ours, other };
  }

  it('polls MediaMTX on the leader only, and moves the polling with leadership', async () => {
    const fake = await FakeMediamtx.start({ username: 'monitor', password: 'monitor-secret' });
    try {
      fake.setPath({ name: 'picam-1', online: true });
      const { url, ours: l, other: o } = await followerRuntime();
      await helper.load(
        [serverNode, healthNode],
        [
          { id: 'mtx', type: 'mediamtx-server', apiUrl: fake.url, timeoutSeconds: 6 },
          {
            id: 'health',
            type: 'mediamtx-health',
            server: 'mtx',
            intervalSeconds: 1,
            graceSeconds: 30,
            summarySeconds: 60,
            wires: [[], [], []],
          },
        ],
        { mtx: { user: 'monitor', password: 'monitor-secret' } },
      );
      const polls = () => fake.requests.filter((r) => r.startsWith('/v3/paths/list')).length;
      await sleep(2500);
      assert.equal(polls(), 0, 'a follower does not poll');

      await terminateSession(url, o.sessionPid);
      await until('this runtime polling after the failover', () => polls() >= 2, 15_000);
      assert.equal(l.isLeader, true);

      await terminateSession(url, l.sessionPid);
      await until('this runtime stepping down', () => !l.isLeader, 5000);
      const statuses = spy('health', 'status');
      await sleep(200);
      const after = polls();
      await sleep(2500);
      assert.equal(polls(), after, 'the old leader stopped polling');
      assert.ok(statuses.length === 0 || /standby/.test(JSON.stringify(statuses.at(-1)!.args)));
      assert.deepEqual(fake.contractErrors, []);
    } finally {
      await helper.unload();
      await fake.close();
    }
  });

  it('runs retention on the leader only: a follower keeps old rows, the new leader prunes them at once', async () => {
    const file = join(dir, 'retention.db');
    const seed = await EventStore.open({ file });
    await seed.writeAsync(start('evt-old', Date.now() - 400 * 86_400_000));
    await seed.close();
    const { url } = await followerRuntime();
    await helper.load(
      [databaseNode, eventsNode],
      [
        { id: 'db', type: 'picam-database', file, synchronous: 'NORMAL', retainActivityDays: 30 },
        { id: 'w1', type: 'sqlite-events', database: 'db', wires: [[], []] },
      ],
    );
    const events = async () => (await rows<{ n: number }>(file, 'SELECT count(*) AS n FROM activity_events'))[0]!.n;
    await sleep(2500);
    assert.equal(await events(), 1, 'a follower does not prune');
    await terminateSession(url, other!.sessionPid);
    await waitFor('the new leader to prune', async () => ((await events()) === 0 ? true : undefined));
  });

  it('polls the Telegram bot for commands on the leader only (one getUpdates client per token)', async () => {
    const fake = await FakeTelegram.start();
    try {
      const { url, ours: l, other: o } = await followerRuntime();
      await helper.load(
        [databaseNode, botNode, alertNode],
        [
          { id: 'db', type: 'picam-database', file: join(dir, 'bot.db'), synchronous: 'NORMAL' },
          { id: 'bot', type: 'telegram-bot', apiRoot: fake.url, timeoutSeconds: 2, polling: true },
          { id: 'ta', type: 'telegram-alert', bot: 'bot', database: 'db', chatIds: '42', commands: true, wires: [[], [], []] },
        ],
        { bot: { token: fake.token } },
      );
      const polls = () => fake.calls.filter((c) => c.method === 'getUpdates').length;
      await sleep(2500);
      assert.equal(polls(), 0, 'a follower does not poll the bot');

      await terminateSession(url, o.sessionPid);
      await fake.waitFor(() => polls() > 0, 15_000, 'this runtime polling after the failover');
      fake.userSays(42, '/help');
      await fake.waitFor((f) => f.sent(42).length === 1, 5000, 'the command answered by the new leader');

      await terminateSession(url, l.sessionPid);
      await until('this runtime stepping down', () => !l.isLeader, 5000);
      await sleep(300);
      const after = polls();
      await sleep(2500);
      assert.equal(polls(), after, 'the old leader stopped polling');
      assert.equal(fake.conflicts, 0, 'never two pollers at once');
    } finally {
      await helper.unload();
      await fake.stop();
    }
  });
});
