import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { StoreRecord } from '../../../nodes/lib/types';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { CAMERA, PI } from '../../support/fixtures';
import { conn, reading, start } from '../../support/records';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, rows, sleep, spy, text, trackIntervals, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir();
let n = 0;

/**
 * A picam-database `db` on a fresh file plus the given nodes. Retention is off
 * (0 days) so the fixtures' 2023 timestamps are never pruned.
 */
async function load(nodes: object[], db: Record<string, unknown> = {}) {
  const file = join(dir, `events${n++}.db`);
  const flow = [
    {
      id: 'db',
      type: 'picam-database',
      file,
      maxBatch: 2000,
      maxDelayMs: 20,
      synchronous: 'NORMAL',
      retainActivityDays: 0,
      retainStatusDays: 0,
      retainSensorDays: 0,
      retainDeadLetterDays: 0,
      ...db,
    },
    ...nodes,
  ];
  await helper.load([databaseNode, processorNode, eventsNode], flow);
  return file;
}

const writer = (id: string, wires: string[][] = []) => ({
  id,
  type: 'sqlite-events',
  name: '',
  database: 'db',
  mode: 'write',
  query: 'cameras',
  wires,
});
const querier = (id: string, query: string, out: string) => ({
  id,
  type: 'sqlite-events',
  name: '',
  database: 'db',
  mode: 'query',
  query,
  wires: [[out]],
});
const sink = (id: string) => ({ id, type: 'helper' });

/** A write node w1 whose confirmations go to c1 and a query node q1 answering to a1, on one database. */
async function writeAndQuery(query: string) {
  const file = await load([writer('w1', [['c1']]), sink('c1'), querier('q1', query, 'a1'), sink('a1')]);
  return { file, w1: node('w1'), q1: node('q1'), confirmed: new Collector('c1'), answers: new Collector('a1'), errors: spy('q1', 'error') };
}

/** Writes records through w1 and waits until every one is confirmed. */
async function store(f: Awaited<ReturnType<typeof writeAndQuery>>, records: StoreRecord[]) {
  const before = f.confirmed.msgs.length;
  for (const r of records) f.w1.receive({ payload: r });
  await f.confirmed.wait(before + records.length);
}

describe('sqlite-events node: write mode', () => {
  it('confirms each record on its output only once the record is committed', async () => {
    const file = await load([writer('w1', [['c1']]), sink('c1')]);
    const w1 = node('w1');
    const errors = spy('w1', 'error');
    const records = Array.from({ length: 20 }, (_, i) => reading(1_700_000_000_000 + i * 1000, 20 + (i % 5)));
    // As each confirmation arrives, look for its row from another connection.
    const onDisk: Array<Promise<number>> = [];
    node('c1').on('input', (msg: { payload: StoreRecord }) => {
      onDisk.push(
        rows<{ n: number }>(file, 'SELECT count(*) AS n FROM sensor_readings WHERE device_id = ? AND time_ms = ?', [
          PI,
          msg.payload.timeMs,
        ]).then((r) => r[0]!.n),
      );
    });
    const confirmed = new Collector('c1');
    records.forEach((r, i) => w1.receive({ payload: r, seq: i }));
    const msgs = await confirmed.wait(20);
    assert.deepEqual(
      msgs.map((m) => m.seq).sort((a, b) => a - b),
      records.map((_, i) => i),
      'the input messages come back',
    );
    assert.deepEqual(msgs.find((m) => m.seq === 3)!.payload, records[3]);
    assert.deepEqual(await Promise.all(onDisk), new Array(20).fill(1), 'every confirmed record was already readable');
    assert.deepEqual(await rows(file, 'SELECT count(*) AS n FROM sensor_readings'), [{ n: 20 }]);
    assert.equal(errors.length, 0);
  });

  it('with confirmations "batch", sends one message per transaction holding its committed records', async () => {
    const file = await load([{ ...writer('w1', [['c1']]), confirmations: 'batch' }, sink('c1')]);
    const w1 = node('w1');
    const errors = spy('w1', 'error');
    const records = Array.from({ length: 50 }, (_, i) => reading(1_700_000_000_000 + i * 1000, 20 + (i % 5)));
    const onDisk: Array<Promise<number>> = [];
    node('c1').on('input', () => {
      onDisk.push(rows<{ n: number }>(file, 'SELECT count(*) AS n FROM sensor_readings').then((r) => r[0]!.n));
    });
    const confirmed = new Collector('c1');
    // Received in one tick: the writer commits them in one transaction (maxBatch 2000).
    records.forEach((r, i) => w1.receive({ payload: r, seq: i }));
    const [msg] = await confirmed.wait(1);
    assert.equal(msg!.topic, 'records');
    assert.deepEqual(msg!.payload, records, 'every record, in order, in one message');
    assert.equal(msg!.seq, undefined, 'not an input message');
    assert.deepEqual(await Promise.all(onDisk), [50], 'sent once its records were readable');
    await sleep(50);
    assert.equal(confirmed.msgs.length, 1);
    assert.equal(errors.length, 0);
  });

  it('with confirmations "batch", shares the committed records read-only between the nodes wired to its output', async () => {
    await load([{ ...writer('w1', [['c1', 'c2']]), confirmations: 'batch' }, sink('c1'), sink('c2')]);
    const records = Array.from({ length: 5 }, (_, i) => reading(1_700_000_000_000 + i * 1000, 20));
    records.forEach((r) => node('w1').receive({ payload: r }));
    const [[a], [b]] = await Promise.all([new Collector('c1').wait(1), new Collector('c2').wait(1)]);
    assert.notEqual(a, b, 'each wire has its own message');
    assert.equal(a!.payload, b!.payload, 'one array of records, not a deep copy per wire');
    assert.deepEqual(a!.payload, records);
    assert.ok(Object.isFrozen(a!.payload) && Object.isFrozen((a!.payload as object[])[0]), 'read-only');
  });

  it('fails a message whose payload is not a store record and writes nothing for it', async () => {
    const file = await load([writer('w1', [['c1']]), sink('c1')]);
    const w1 = node('w1');
    const errors = spy('w1', 'error');
    const confirmed = new Collector('c1');
    w1.receive({ payload: { hello: 'world' } });
    w1.receive({ payload: { kind: 'sensor', deviceId: PI, timeMs: 'yesterday', temperature: 20 } });
    w1.receive({ payload: reading(1_700_000_000_000, 21) });
    await confirmed.first();
    await sleep(50);
    assert.equal(errors.length, 2);
    for (const e of errors) assert.match(text(e), /not a store record/);
    assert.equal(confirmed.msgs.length, 1, 'only the valid record is confirmed');
    assert.deepEqual(await rows(file, 'SELECT device_id, time_ms FROM sensor_readings'), [{ device_id: PI, time_ms: 1_700_000_000_000 }]);
    assert.deepEqual(await rows(file, 'SELECT count(*) AS n FROM dead_letters'), [{ n: 0 }]);
  });

  it('commits what is still queued when the flow stops', async () => {
    // A long delay and a large batch: nothing but the close can commit these records.
    const file = await load([writer('w1'), querier('q1', 'status', 'a1'), sink('a1')], { maxDelayMs: 10_000, maxBatch: 10_000 });
    const answers = new Collector('a1');
    node('q1').receive({});
    assert.equal((await answers.first()).statusCode, 200); // the file is open
    for (let i = 0; i < 5; i++) node('w1').receive({ payload: start(`evt_close_${i}`, 1_700_000_000_000 + i * 1000) });
    await helper.unload();
    assert.deepEqual(await rows(file, 'SELECT count(*) AS n FROM activity_events'), [{ n: 5 }]);
  });

  it('leaves no timer running once the flow has stopped', async () => {
    const timers = trackIntervals();
    try {
      await load([writer('w1', [['c1']]), sink('c1')]);
      node('w1').receive({ payload: reading(1_700_000_000_000, 21) });
      await new Collector('c1').first(); // the file is open and its retention timer set
      assert.ok(timers.running().length > 0, 'the database node runs retention on a timer');
      await helper.unload();
      assert.deepEqual(timers.running(), []);
    } finally {
      timers.dispose();
    }
  });

  it('leaves no timer running when the flow stops while the file is still opening', async () => {
    const timers = trackIntervals();
    try {
      await load([writer('w1')]);
      await helper.unload(); // picam-database's close waits for the open to finish
      await sleep(50);
      assert.deepEqual(timers.running(), []);
    } finally {
      timers.dispose();
    }
  });

  it('commits records that arrived while the file was opening when the flow stops at once', async () => {
    const timers = trackIntervals();
    try {
      const file = await load([writer('w1')]);
      for (let i = 0; i < 5; i++) node('w1').receive({ payload: start(`evt_early_${i}`, 1_700_000_000_000 + i * 1000) });
      await helper.unload();
      assert.deepEqual(await rows(file, 'SELECT count(*) AS n FROM activity_events'), [{ n: 5 }]);
    } finally {
      timers.dispose();
    }
  });
});

describe('sqlite-events node: query mode', () => {
  it('answers an events query with the requested page and the total', async () => {
    const f = await writeAndQuery('events');
    await store(f, [start('evt_a', 1_700_000_000_000), start('evt_b', 1_700_000_060_000), start('evt_c', 1_700_000_120_000)]);
    const res = { marker: 'the http response object' };
    f.q1.receive({ req: { query: { limit: '2' }, params: {} }, res });
    const msg = await f.answers.first();
    assert.equal(msg.statusCode, 200);
    assert.equal(msg.payload.total, 3);
    assert.equal(msg.payload.limit, 2);
    assert.deepEqual(
      msg.payload.events.map((e: { event_id: string }) => e.event_id),
      ['evt_c', 'evt_b'],
    );
    assert.equal(msg.res, res, 'msg.res must reach the http response node');
    assert.equal(f.errors.length, 0);
  });

  it('answers a bad limit with 400 naming the parameter, without a node error', async () => {
    const f = await writeAndQuery('events');
    f.q1.receive({ req: { query: { limit: 'abc' }, params: {} } });
    const msg = await f.answers.first();
    assert.equal(msg.statusCode, 400);
    assert.match(msg.payload.error, /limit/);
    await sleep(20);
    assert.equal(f.errors.length, 0);
  });

  it('answers a sensors query for an unknown device with 404', async () => {
    const f = await writeAndQuery('sensors');
    f.q1.receive({ req: { query: {}, params: { deviceId: 'ghost' } } });
    const msg = await f.answers.first();
    assert.equal(msg.statusCode, 404);
    assert.match(msg.payload.error, /unknown device "ghost"/);
  });

  it('takes the query from msg.query.kind when configured "from msg"', async () => {
    const f = await writeAndQuery('msg');
    await store(f, [conn(1_700_000_000_000)]);
    f.q1.receive({ query: { kind: 'cameras' } });
    const msg = await f.answers.first();
    assert.equal(msg.statusCode, 200);
    assert.ok(Array.isArray(msg.payload.cameras));
    assert.deepEqual(
      msg.payload.cameras.map((c: { camera_id: string; camera_name: string }) => [c.camera_id, c.camera_name]),
      [[CAMERA, 'Front Door']],
    );
  });

  it('answers 503 when the database cannot be opened, so an HTTP client is not left waiting', async () => {
    const blocked = join(dir, 'not-a-directory');
    writeFileSync(blocked, 'a file where the database folder should be');
    await load([querier('q1', 'cameras', 'a1'), sink('a1')], { file: join(blocked, 'events.db') });
    const answers = new Collector('a1');
    const errors = spy('q1', 'error');
    node('q1').receive({ req: { query: {}, params: {} } });
    const msg = await answers.first();
    assert.equal(msg.statusCode, 503);
    assert.match(msg.payload.error, /database unavailable/);
    await sleep(20);
    assert.equal(errors.length, 1, 'and the failure reaches catch nodes');
  });
});
