/**
 * Online/offline alerts with two runtimes sharing a PostgreSQL store (issue 21, item 3): each
 * runtime processes part of the devices' messages, both contend for leadership (a real election
 * on a real server), and only the leader's sweep announces; each change is announced once, and
 * once leadership moves the new leader announces what follows without repeating what was told.
 * The runtimes are wired here as mqtt-processor wires them (processor, store, sweep while leader).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { whileLeader } from '../../../nodes/lib/cluster/leadership';
import { PostgresLeadership } from '../../../nodes/lib/cluster/postgres-leadership';
import { EventStore } from '../../../nodes/lib/store/store';
import type { Alert, StoreRecord } from '../../../nodes/lib/types';
import { startSweeping } from '../../../nodes/mqtt-processor/connection-sweeper';
import { Processor } from '../../../nodes/mqtt-processor/processor';
import { connected, disconnected, heartbeat, topics } from '../../support/fixtures';
import { sleep } from '../../support/node-helper';
import { skipWithoutPostgres, startPostgres, type PostgresServer } from '../../support/postgres';
import { waitFor } from '../../support/wait';

/** Pis: their ids are free-form (a VBC01 camera's are 32 hex digits) */
const CAMERAS = ['CAM_A', 'CAM_B', 'CAM_C', 'CAM_D'];
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Runtime {
  name: string;
  leadership: PostgresLeadership;
  store: EventStore;
  processor: Processor;
  /** the alerts this runtime sent on */
  alerts: Alert[];
  /** a device message through this runtime: processed, then committed */
  take(topic: string, payload: unknown): Promise<void>;
  close(): Promise<void>;
}

const commit = (store: EventStore, records: StoreRecord[]) =>
  new Promise<void>((resolve, reject) => store.writeMany(records, (err) => (err ? reject(err) : resolve())));

async function runtime(name: string, url: string, silentMs = 0): Promise<Runtime> {
  const leadership = new PostgresLeadership({ url, applicationName: name, retryMs: 300, warn: (m) => console.log(`# ${name}: ${m}`) });
  const store = await EventStore.open({ url, maxDelayMs: 5, readConnections: 1 });
  const processor = new Processor(
    { prefix: 'prod', deviceTypes: ['picam'], maxPayloadBytes: 65_536, debounceMs: 1000, deadLetterBytes: 4096 },
    () => {
      throw new Error('nothing comes from the processor’s memory when the store is shared');
    },
  );
  processor.shareConnections();
  const alerts: Alert[] = [];
  const stop = whileLeader(leadership, () =>
    startSweeping({
      sweep: (limits) => store.sweepConnections(limits),
      announce: (swept) => {
        const out = processor.swept(swept);
        alerts.push(...out.alerts);
        store.writeMany(out.records, (err) => err && console.log(`# ${name}: ${err.message}`));
      },
      failed: (err) => console.log(`# ${name}: sweep failed: ${err.message}`),
      debounceMs: 1000,
      silentMs,
      everyMs: 100,
    }),
  );
  return {
    name,
    leadership,
    store,
    processor,
    alerts,
    take: async (topic, payload) => {
      const out = processor.handleDevice(topic, json(payload));
      assert.equal(out.rejected, undefined);
      assert.deepEqual(out.alerts, [], 'no connection alert from a runtime’s own messages');
      await commit(store, [out.record!]);
    },
    close: async () => {
      stop();
      processor.close();
      await leadership.close();
      await store.close();
    },
  };
}

const said = (...runtimes: Runtime[]) => runtimes.flatMap((r) => r.alerts.map((a) => `${a.deviceId} ${a.kind}`)).sort();
const each = (kind: string, ids = CAMERAS) => ids.map((id) => `${id} ${kind}`);

describe('online/offline alerts from the leader’s sweep', { skip: skipWithoutPostgres }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  it('are sent by the leader only, each once, and by the next leader after a failover', async () => {
    const url = await server.createDatabase();
    const a = await runtime('runtime-a', url);
    await waitFor('runtime-a to lead', async () => (a.leadership.isLeader ? true : undefined));
    const b = await runtime('runtime-b', url);
    try {
      await waitFor('runtime-b to contend', async () => (b.leadership.sessionPid ? true : undefined));
      // The cameras' messages split between the runtimes, as RabbitMQ splits them.
      const t = nowSeconds();
      for (const [i, id] of CAMERAS.entries()) await (i % 2 ? a : b).take(topics.connection(id, 'picam'), connected(t));
      await waitFor('the online alerts', async () => (said(a, b).length >= 4 ? true : undefined));
      // A disconnection, its reconnection inside the debounce (through the other runtime), a
      // heartbeat: nothing to announce.
      await a.take(topics.connection('CAM_A', 'picam'), disconnected(t + 1));
      await b.take(topics.connection('CAM_A', 'picam'), connected(t + 2));
      await b.take(topics.status('CAM_B', 'picam'), heartbeat(t + 2));
      for (const id of ['CAM_C', 'CAM_D']) await b.take(topics.connection(id, 'picam'), disconnected(t + 3));
      await waitFor('the offline alerts', async () => (said(a, b).length >= 6 ? true : undefined));
      await sleep(1500); // sweeps of both runtimes: a follower's would show here
      assert.deepEqual(said(b), [], 'the follower announced nothing');
      assert.deepEqual(said(a), [...each('camera-online'), ...each('camera-offline', ['CAM_C', 'CAM_D'])].sort());

      // The leader goes (its runtime stopped); the other takes over.
      await a.close();
      await waitFor('runtime-b to lead', async () => (b.leadership.isLeader ? true : undefined));
      // A delivery again of an old disconnection (the stopped runtime never acknowledged it) and
      // the cameras' return.
      await b.take(topics.connection('CAM_A', 'picam'), disconnected(t + 1));
      for (const id of ['CAM_C', 'CAM_D']) await b.take(topics.connection(id, 'picam'), connected(t + 10));
      await waitFor('the online alerts from the new leader', async () => (said(b).length >= 2 ? true : undefined));
      await sleep(1500);
      assert.deepEqual(said(b), each('camera-online', ['CAM_C', 'CAM_D']), 'what the old leader told is not told again');
    } finally {
      await b.close();
      await a.close().catch(() => undefined);
    }
  });

  it('marks a device offline on the leader when its heartbeats stop (its Will lost with its broker node)', async () => {
    const url = await server.createDatabase();
    const a = await runtime('runtime-a', url, 2500);
    await waitFor('runtime-a to lead', async () => (a.leadership.isLeader ? true : undefined));
    const b = await runtime('runtime-b', url, 2500);
    try {
      const t = nowSeconds();
      await b.take(topics.connection('CAM_A', 'picam'), connected(t));
      await b.take(topics.connection('CAM_B', 'picam'), connected(t));
      // CAM_B keeps sending heartbeats; CAM_A falls silent.
      const stopAt = Date.now() + 5000;
      while (Date.now() < stopAt) {
        await b.take(topics.status('CAM_B', 'picam'), heartbeat(Date.now()));
        await sleep(300);
      }
      await waitFor('CAM_A marked offline', async () => (said(a).includes('CAM_A camera-offline') ? true : undefined));
      assert.deepEqual(said(a, b), ['CAM_A camera-offline', 'CAM_A camera-online', 'CAM_B camera-online']);
      // Its disconnection is in its history, said to be the cloud's (the feed and the dashboard show it).
      const marked = await waitFor('the disconnection in the history', async () => {
        const rows = await a.store.reads.all<{ raw_payload: string }>(
          "SELECT raw_payload FROM status_events WHERE camera_id = 'CAM_A' AND event_type = 'connection' AND status = 'disconnected'",
        );
        return rows.length ? rows : undefined;
      });
      assert.match(marked[0]!.raw_payload, /marked offline by the cloud/);
      const registry = await a.store.reads.get<{ connection_status: string }>(
        "SELECT connection_status FROM camera_registry WHERE camera_id = 'CAM_A'",
      );
      assert.equal(registry?.connection_status, 'disconnected');

      // It comes back: its reconnection (newer by its own clock) wins, and the leader says so once.
      await b.take(topics.connection('CAM_A', 'picam'), connected(nowSeconds() + 1));
      await waitFor('CAM_A back online', async () => (said(a).filter((s) => s === 'CAM_A camera-online').length === 2 ? true : undefined));
    } finally {
      await b.close();
      await a.close();
    }
  });
});
