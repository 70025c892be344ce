/**
 * Batches on the ingest path (picam-broker's `device-batch` messages): the
 * processor turns a batch into ONE record message, the store commits it in one
 * transaction and completes the input once, after COMMIT; a message that cannot
 * be read is dead-lettered alone and the rest are stored; single messages still
 * work as before. Real Node-RED runtime, real SQLite.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import type { PicamDatabaseNode } from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { DEVICE_BATCH_TOPIC, type DeviceMessage } from '../../../nodes/lib/types';
import { activity, CAMERA, environment, PI, topics } from '../../support/fixtures';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, rows, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir('processor-batches-');
let files = 0;

const item = (topic: string, payload: unknown, clientId = PI): DeviceMessage => ({
  topic,
  payload: Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload)),
  qos: 1,
  retain: false,
  clientId,
});

/** processor p → store s (its output 1 to `confirmed`); alerts to `alerts`; completions of p's inputs counted. */
async function load() {
  const file = join(dir, `b${files++}.db`);
  const flow = [
    {
      id: 'db',
      type: 'picam-database',
      file,
      maxBatch: 2000,
      maxDelayMs: 20,
      synchronous: 'NORMAL',
      retainSensorDays: 0,
      retainActivityDays: 0,
    },
    { id: 'p', type: 'mqtt-processor', prefix: 'prod', deviceTypes: 'hive-cam,picam', database: '', wires: [['s'], ['alerts'], [], []] },
    { id: 's', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [['confirmed'], []] },
    { id: 'confirmed', type: 'helper' },
    { id: 'alerts', type: 'helper' },
  ];
  await helper.load([databaseNode, processorNode, eventsNode], flow);
  const store = await (helper.getNode('db') as PicamDatabaseNode).acquire(node('confirmed') as never);
  return { file, store, p: node('p'), confirmed: new Collector('confirmed'), alerts: new Collector('alerts') };
}

describe('mqtt-processor + sqlite-events: batches from the broker', () => {
  it('stores a batch of readings as one message and one transaction', async () => {
    const f = await load();
    const t0 = Date.now() - 60_000;
    const before = f.store.writer.stats.transactions;
    const batch = Array.from({ length: 120 }, (_, i) => item(topics.environment(), environment(t0 + i)));
    f.p.receive({ topic: DEVICE_BATCH_TOPIC, payload: batch });
    const [msg] = await f.confirmed.wait(1);
    assert.equal(msg!.topic, 'records');
    assert.equal((msg!.payload as unknown[]).length, 120, 'the whole batch came out as one message');
    assert.equal(f.store.writer.stats.transactions - before, 1, 'one transaction for the batch');
    assert.deepEqual(await rows(f.file, 'SELECT count(*) AS n FROM sensor_readings'), [{ n: 120 }]);
  });

  it('dead-letters the one message that cannot be read and stores the others of its batch', async () => {
    const f = await load();
    const t0 = Date.now() - 60_000;
    const batch: unknown[] = [
      item(topics.environment(), environment(t0)),
      item(topics.environment(), Buffer.from('{"temperature": 2')), // cut short
      item(topics.start(), activity('evt_batch_1', Math.floor(t0 / 1000)), CAMERA),
      'not a device message at all',
      item(topics.environment(), environment(t0 + 1)),
    ];
    f.p.receive({ topic: DEVICE_BATCH_TOPIC, payload: batch, _msgid: 'batch-1' });
    const [msg] = await f.confirmed.wait(1);
    const kinds = (msg!.payload as Array<{ kind: string }>).map((r) => r.kind);
    assert.deepEqual(kinds, ['sensor', 'dead-letter', 'activity-start', 'dead-letter', 'sensor'], 'in input order');
    assert.deepEqual(await rows(f.file, 'SELECT count(*) AS n FROM sensor_readings'), [{ n: 2 }]);
    assert.deepEqual(await rows(f.file, 'SELECT count(*) AS n FROM activity_events'), [{ n: 1 }]);
    const dead = await rows<{ reason: string }>(f.file, 'SELECT reason FROM dead_letters ORDER BY id');
    assert.equal(dead.length, 2);
    assert.match(dead[0]!.reason, /JSON/);
    // The batch's alerts leave as one message, an array on the alert contract.
    const [alerts] = await f.alerts.wait(1);
    assert.equal(alerts!.topic, 'alerts');
    assert.deepEqual(
      (alerts!.payload as Array<{ kind: string; eventId?: string }>).map((a) => [a.kind, a.eventId]),
      [['activity', 'evt_batch_1']],
    );
  });

  it("shares a batch's committed records and its alerts between the nodes wired after them, read-only, not copied", async () => {
    const flow = [
      { id: 'db', type: 'picam-database', file: join(dir, `b${files++}.db`), maxBatch: 2000, maxDelayMs: 20, synchronous: 'NORMAL' },
      {
        id: 'p',
        type: 'mqtt-processor',
        prefix: 'prod',
        deviceTypes: 'hive-cam,picam',
        database: '',
        wires: [['s'], ['a1', 'a2'], [], []],
      },
      { id: 's', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [['r1', 'r2'], []] },
      ...['r1', 'r2', 'a1', 'a2'].map((id) => ({ id, type: 'helper' })),
    ];
    await helper.load([databaseNode, processorNode, eventsNode], flow);
    const [r1, r2, a1, a2] = ['r1', 'r2', 'a1', 'a2'].map((id) => new Collector(id));
    const t0 = Date.now() - 60_000;
    const batch = [
      item(topics.environment(), environment(t0)),
      item(topics.start(), activity('evt_shared', Math.floor(t0 / 1000)), CAMERA),
    ];
    node('p').receive({ topic: DEVICE_BATCH_TOPIC, payload: batch });
    const [[x], [y], [alertsX], [alertsY]] = await Promise.all([r1!.wait(1), r2!.wait(1), a1!.wait(1), a2!.wait(1)]);
    assert.notEqual(x, y, 'each wire has its own message');
    assert.equal(x!.payload, y!.payload, 'the same committed records, not a copy');
    assert.ok(Object.isFrozen(x!.payload) && (x!.payload as object[]).every((r) => Object.isFrozen(r)), 'read-only');
    assert.deepEqual(
      (x!.payload as Array<{ kind: string }>).map((r) => r.kind),
      ['sensor', 'activity-start'],
    );
    assert.equal(alertsX!.payload, alertsY!.payload, 'the same alerts, not a copy');
    assert.ok(Object.isFrozen((alertsX!.payload as object[])[0]));
  });

  it('still takes single MQTT messages, one record message each', async () => {
    const f = await load();
    f.p.receive({ topic: topics.environment(), payload: JSON.stringify(environment(Date.now())) });
    const [msg] = await f.confirmed.wait(1);
    assert.equal((msg!.payload as { kind: string }).kind, 'sensor');
    assert.deepEqual(await rows(f.file, 'SELECT count(*) AS n FROM sensor_readings'), [{ n: 1 }]);
  });
});
