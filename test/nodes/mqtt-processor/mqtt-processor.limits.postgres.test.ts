/**
 * Sensor limits across runtimes in real Node-RED (issue 21, item 3): two mqtt-processor nodes,
 * each with a picam-database node of its own on one PostgreSQL database (two runtimes' worth of
 * connections), take turns with one Pi's readings, as RabbitMQ's competing consumers hand them
 * out. One alert per crossing comes out of output 2, after the store answered, and each input
 * completes (so its acknowledgement waits) only once its alerts are out.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import { ALERT_BATCH_TOPIC, DEVICE_BATCH_TOPIC, type Alert } from '../../../nodes/lib/types';
import { PI, topics } from '../../support/fixtures';
import { PgConnection } from '../../../nodes/lib/store/postgres';
import { Collector, helper, node, sleep, useNodeRed } from '../../support/node-helper';
import { describeWithPostgres } from '../../support/postgres';

useNodeRed();

const T0 = Date.now() - 60_000;

function runtime(n: number) {
  const database = {
    id: `db${n}`,
    type: 'picam-database',
    file: 'unused.db',
    retainActivityDays: 0,
    retainStatusDays: 0,
    retainSensorDays: 0,
    retainDeadLetterDays: 0,
    maxDelayMs: 5,
  };
  const processor = {
    id: `p${n}`,
    type: 'mqtt-processor',
    prefix: 'prod',
    deviceTypes: 'hive-cam,picam',
    maxPayloadKiB: 256,
    debounceSeconds: 30,
    sensorLimits: 'temperature 5..35',
    database: `db${n}`,
    wires: [[], [`a${n}`], [], []],
  };
  return [database, processor, { id: `a${n}`, type: 'helper' }];
}

const reading = (temperature: number, at: number) => ({
  topic: topics.environment(PI),
  payload: Buffer.from(JSON.stringify({ temperature, timestamp: T0 + at * 1000 })),
});

/** Waits (10 s at most) until the Pi's temperature limit is stored on `side`. */
async function sideIs(url: string, side: string): Promise<void> {
  const db = await PgConnection.open({ url });
  try {
    for (const end = Date.now() + 10_000; ; await sleep(20)) {
      const row = await db.get<{ side: string }>('SELECT side FROM sensor_limit_states WHERE device_id = ?', [PI]);
      if (row?.side === side) return;
      if (Date.now() > end) assert.fail(`the limit is stored as ${row?.side ?? 'nothing'}, not ${side}`);
    }
  } finally {
    await db.close();
  }
}

describeWithPostgres('mqtt-processor: sensor limits shared by two runtimes', (server) => {
  it('gives one alert per crossing, whichever runtime reads what, and completes each input after its alerts', async () => {
    const url = await server().createDatabase();
    await helper.load(
      [databaseNode, processorNode],
      [
        ...runtime(1),
        ...runtime(2),
        { id: 'c1', type: 'complete', scope: ['p1', 'p2'], uncaught: false, wires: [['done']] },
        { id: 'done', type: 'helper' },
      ],
      { db1: { url }, db2: { url } },
    );
    const alerts = [new Collector('a1'), new Collector('a2')];
    const completed = new Collector('done');
    let inputs = 0;
    /** Hands `msg` to runtime `n` and waits until it completed: its alerts, if any, are out by then. */
    const to = async (n: 1 | 2, msg: object) => {
      node(`p${n}`).receive(msg);
      await completed.wait(++inputs, 20_000);
    };
    const sent = () =>
      alerts.flatMap((c) => c.msgs.flatMap((m) => (m.topic === ALERT_BATCH_TOPIC ? (m.payload as Alert[]) : [m.payload as Alert])));

    await to(1, reading(30, 1));
    await to(1, reading(36.2, 2));
    await to(2, reading(37, 3));
    await to(2, { topic: DEVICE_BATCH_TOPIC, payload: [reading(36.5, 4), reading(38, 5)] });
    await to(1, reading(35.5, 6));
    assert.deepEqual(
      sent().map((a) => a.text),
      ['temperature 36.2 °C at picam-kitchen is above the 35 °C limit'],
    );
    assert.equal(alerts[0]!.msgs[0]!.topic, ALERT_BATCH_TOPIC, 'decided by the store, after the record');

    await to(2, reading(20, 7)); // back well inside, on the other runtime
    // Written with that runtime's next record transaction: before the reading's own record, so
    // before its acknowledgement (here nothing else is written: wait for it).
    await sideIs(url, 'in');
    await to(1, { topic: DEVICE_BATCH_TOPIC, payload: [reading(36, 8), reading(37, 9)] });
    assert.deepEqual(
      sent().map((a) => [a.sensor?.value, a.timeMs]),
      [
        [36.2, T0 + 2000],
        [36, T0 + 8000],
      ],
    );
  });
});
