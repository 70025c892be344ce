/**
 * mqtt-processor in a real Node-RED runtime on a PostgreSQL store shared with another runtime
 * (the cluster role, issue 21 item 3): a mode set through the other runtime is the one this
 * runtime restores and puts on its alerts, and online/offline alerts come from the leader's
 * sweep of the store: none while this runtime follows, each once when it leads.
 */
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { PostgresLeadership } from '../../../nodes/lib/cluster/postgres-leadership';
import { EventStore } from '../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../nodes/lib/types';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { activity, connected, disconnected, PI, topics } from '../../support/fixtures';
import { Collector, helper, node, sleep, useNodeRed } from '../../support/node-helper';
import { describeWithPostgres, terminateSession } from '../../support/postgres';
import { waitFor } from '../../support/wait';

useNodeRed();

const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const nowSeconds = () => Math.floor(Date.now() / 1000);
const commit = (store: EventStore, records: StoreRecord[]) =>
  new Promise<void>((resolve, reject) => store.writeMany(records, (err) => (err ? reject(err) : resolve())));

describeWithPostgres('mqtt-processor on a store shared by runtimes', (server) => {
  const closing: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    for (const c of closing.splice(0).reverse()) await c.close();
  });

  /** This runtime's flow: the processor, the store writing its records, a helper on each output. */
  async function load(url: string, leadership: PostgresLeadership) {
    helper.settings({ picamLeadership: leadership });
    await helper.load(
      [databaseNode, processorNode, eventsNode],
      [
        { id: 'db', type: 'picam-database', file: 'unused.db' },
        {
          id: 'p1',
          type: 'mqtt-processor',
          prefix: 'prod',
          deviceTypes: 'hive-cam,picam',
          debounceSeconds: 1,
          database: 'db',
          wires: [['w1'], ['alerts'], ['commands'], []],
        },
        { id: 'w1', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [['stored'], []] },
        { id: 'stored', type: 'helper' },
        { id: 'alerts', type: 'helper' },
        { id: 'commands', type: 'helper' },
      ],
      { db: { url } },
    );
    return { stored: new Collector('stored'), alerts: new Collector('alerts'), commands: new Collector('commands') };
  }

  const leadership = (url: string, name: string) => {
    const l = new PostgresLeadership({ url, applicationName: name, retryMs: 300, warn: (m) => console.log(`# ${name}: ${m}`) });
    closing.push(l);
    return l;
  };

  it('restores and obeys a mode set through the other runtime', async () => {
    const url = await server().createDatabase();
    const ours = leadership(url, 'this runtime');
    await waitFor('this runtime to lead', async () => (ours.isLeader ? true : undefined));
    const other = await EventStore.open({ url, maxDelayMs: 5, readConnections: 1 });
    closing.push(other);
    const f = await load(url, ours);

    node('p1').receive({ topic: topics.connection(PI, 'picam'), payload: json(connected(nowSeconds())) });
    await f.stored.first(10_000);
    await sleep(300);
    assert.deepEqual(f.commands.msgs, [], 'no mode known yet: nothing to restore');

    // The dashboard served by the other runtime sets the Pi to PRIVACY: its command record is committed there.
    await commit(other, [
      {
        kind: 'command',
        deviceId: PI,
        deviceType: 'picam',
        timeMs: Date.now(),
        action: 'setmode',
        requestId: 'from-the-other-runtime',
        topic: `prod/honeycomb/${PI}/system/setmode`,
        mode: 'PRIVACY',
      },
    ]);

    node('p1').receive({ topic: topics.start(PI, 'picam'), payload: json(activity('evt-1', nowSeconds())) });
    const motion = await waitFor('the motion alert', async () => f.alerts.msgs.find((m) => m.topic === 'alert/activity'));
    assert.equal(motion.payload.mode, 'PRIVACY', 'the alert carries the mode set elsewhere (the alert policy keeps PRIVACY quiet)');

    node('p1').receive({ topic: topics.connection(PI, 'picam'), payload: json(connected(nowSeconds() + 1)) });
    const restore = await f.commands.first(10_000);
    assert.equal(restore.topic, `prod/honeycomb/${PI}/system/setmode`);
    assert.equal(restore.payload.mode, 'PRIVACY', 'the reconnecting Pi gets the mode set through the other runtime');
  });

  it('sends online and offline alerts from the sweep, only while it leads, each once', async () => {
    const url = await server().createDatabase();
    const other = leadership(url, 'the other runtime');
    await waitFor('the other runtime to lead', async () => (other.isLeader ? true : undefined));
    const ours = leadership(url, 'this runtime');
    await waitFor('this runtime to contend', async () => (ours.sessionPid ? true : undefined));
    const f = await load(url, ours);
    const said = () => f.alerts.msgs.map((m) => `${m.payload.deviceId} ${m.topic}`);

    node('p1').receive({ topic: topics.connection(PI, 'picam'), payload: json(connected(nowSeconds())) });
    await f.stored.first(10_000);
    await sleep(3000); // more than one sweep interval (2 s): a follower's sweep would have announced by now
    assert.deepEqual(said(), [], 'a follower announces nothing (the leader does)');

    await terminateSession(url, other.sessionPid);
    await waitFor('the online alert once this runtime leads', async () => (said().length ? true : undefined), 20_000);
    assert.deepEqual(said(), [`${PI} alert/camera-online`]);

    node('p1').receive({ topic: topics.connection(PI, 'picam'), payload: json(disconnected(nowSeconds() + 1)) });
    await waitFor('the offline alert after the debounce', async () => (said().length > 1 ? true : undefined), 20_000);
    await sleep(2500);
    assert.deepEqual(said(), [`${PI} alert/camera-online`, `${PI} alert/camera-offline`], 'each once');
  });
});
