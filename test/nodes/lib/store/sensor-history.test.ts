/**
 * Sensor roll-ups (migration 13) and the history query that reads them
 * (nodes/lib/store/sensor-history.ts, issue 18).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SensorPoint } from '../../../../nodes/lib/contract/api-rows';
import { MIGRATIONS, migrate } from '../../../../nodes/lib/store/schema';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { rows } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
let n = 0;
const fileName = () => join(dir, `h${n++}.db`);
const minute = 60_000;
const hour = 3_600_000;
const day = 86_400_000;
const t0 = 1_765_000_000_000 - (1_765_000_000_000 % day);

/** A deterministic sequence, so a failure repeats. */
function numbers(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
}

function readings(count: number, stepMs: number, seed = 7): StoreRecord[] {
  const next = numbers(seed);
  return Array.from({ length: count }, (_, i) => ({
    kind: 'sensor',
    deviceId: i % 2 ? 'pi-b' : 'pi-a',
    deviceType: 'picam',
    timeMs: t0 + Math.floor(i / 2) * stepMs + Math.floor(next() * 1000),
    // Some readings lack a metric: it counts in `samples`, not in that metric's mean.
    temperature: next() < 0.1 ? undefined : Math.round((15 + next() * 10) * 100) / 100,
    humidity: 30 + next() * 40,
    pressure: next() < 0.05 ? undefined : 990 + next() * 30,
  }));
}

async function write(store: EventStore, records: StoreRecord[]): Promise<void> {
  for (const r of records) store.write(r, () => undefined);
  await store.writer.flush();
}

type Row = Record<string, number | string | null>;

/** What a roll-up row must hold, computed from the raw readings. */
const RAW_AGGREGATE = (width: number) => `
  SELECT device_id, time_ms / ${width} * ${width} AS bucket_ms, count(*) AS samples,
         min(temperature) AS temperature_min, max(temperature) AS temperature_max,
         total(temperature) AS temperature_sum, count(temperature) AS temperature_n,
         min(humidity) AS humidity_min, max(humidity) AS humidity_max, total(humidity) AS humidity_sum, count(humidity) AS humidity_n,
         min(pressure) AS pressure_min, max(pressure) AS pressure_max, total(pressure) AS pressure_sum, count(pressure) AS pressure_n
    FROM sensor_readings GROUP BY 1, 2 ORDER BY 1, 2`;

function assertSameRows(actual: Row[], expected: Row[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: rows`);
  for (const [i, e] of expected.entries()) {
    const a = actual[i]!;
    for (const [k, v] of Object.entries(e)) {
      if (typeof v === 'number' && k.endsWith('_sum'))
        assert.ok(Math.abs((a[k] as number) - v) < 1e-6, `${what} row ${i} ${k}: ${a[k]} vs ${v}`);
      else assert.equal(a[k], v, `${what} row ${i} ${k}`);
    }
  }
}

async function assertRollupsMatchRaw(file: string): Promise<void> {
  assertSameRows(await rows(file, 'SELECT * FROM sensor_minute ORDER BY 1, 2'), await rows(file, RAW_AGGREGATE(minute)), 'minutes');
  assertSameRows(await rows(file, 'SELECT * FROM sensor_hour ORDER BY 1, 2'), await rows(file, RAW_AGGREGATE(hour)), 'hours');
}

describe('sensor roll-ups', () => {
  it('keeps per-minute and per-hour min, max, sum and count equal to the raw readings as they arrive', async () => {
    const store = await EventStore.open({ file: fileName(), synchronous: 'NORMAL' });
    await write(store, readings(3000, 7_000));
    await assertRollupsMatchRaw(store.file);
    await store.close();
  });

  it('moves the sums when a reading is replaced by one with the same device and time', async () => {
    const store = await EventStore.open({ file: fileName(), synchronous: 'NORMAL' });
    const first = readings(20, 2000);
    await write(store, first);
    await write(store, [{ ...first[4]!, temperature: 99 } as StoreRecord, { ...first[6]!, temperature: undefined } as StoreRecord]);
    const [m] = await rows<Row>(store.file, "SELECT * FROM sensor_minute WHERE device_id = 'pi-a' ORDER BY bucket_ms LIMIT 1");
    const [raw] = await rows<Row>(
      store.file,
      `SELECT count(*) AS samples, total(temperature) AS temperature_sum, count(temperature) AS temperature_n, max(temperature) AS temperature_max
         FROM sensor_readings WHERE device_id = 'pi-a' AND time_ms / 60000 * 60000 = ?`,
      [m!.bucket_ms as number],
    );
    assertSameRows([m!], [raw!], 'replaced');
    await store.close();
  });

  it('rolls up the readings a file already holds when migration 13 runs', async () => {
    const file = fileName();
    const c = await Connection.open(file);
    await migrate(
      c,
      MIGRATIONS.filter((m) => m.version <= 10),
    );
    const next = numbers(3);
    await c.exec('BEGIN');
    for (let i = 0; i < 2000; i++) {
      await c.run('INSERT INTO sensor_readings (device_id, time_ms, temperature, humidity, pressure) VALUES (?, ?, ?, ?, ?)', [
        i % 3 ? 'old-a' : 'old-b',
        t0 + i * 5000,
        next() < 0.1 ? null : 20 + next(),
        50,
        1000 + next(),
      ]);
    }
    await c.exec('COMMIT');
    await c.close();
    const store = await EventStore.open({ file });
    await store.close();
    assert.ok((await rows(file, 'SELECT * FROM sensor_hour')).length > 0);
    await assertRollupsMatchRaw(file);
  });
});

describe('sensor history: raw readings or roll-ups by range', () => {
  const PI = 'pi-a';
  /** A reading every 10 minutes for 40 days up to `end`. */
  const end = t0 + 40 * day;
  const history = Array.from({ length: (40 * day) / (10 * minute) }, (_, i): StoreRecord => ({
    kind: 'sensor',
    deviceId: PI,
    deviceType: 'picam',
    timeMs: end - i * 10 * minute,
    temperature: 20 + (i % 12),
    humidity: 50,
    pressure: 1000,
  }));
  type Answer = { resolution: string; bucketMs: number; readings: SensorPoint[] };
  const ask = (store: EventStore, fromMs: number, toMs: number, points?: number) =>
    store.query('sensors', { deviceId: PI, from: fromMs, to: toMs, ...(points === undefined ? {} : { points }) }) as Promise<Answer>;

  it('answers short ranges from raw readings, a day from minutes, a month from hours, with the same means', async () => {
    const store = await EventStore.open({
      file: fileName(),
      synchronous: 'NORMAL',
      retention: { sensors: 0, sensorMinutes: 0, sensorHours: 0 },
    });
    await write(store, history);
    const hourAgo = await ask(store, end - hour, end);
    assert.equal(hourAgo.resolution, 'raw');
    assert.equal(hourAgo.bucketMs, 0);
    assert.equal(hourAgo.readings.length, 7);
    assert.equal(hourAgo.readings[0]!.temperature_min, hourAgo.readings[0]!.temperature);

    const dayAgo = await ask(store, end - day, end, 100);
    assert.equal(dayAgo.resolution, 'minute');
    assert.equal(dayAgo.bucketMs, 15 * minute, 'a day in 100 points: whole minutes, 15 each');
    assert.equal(dayAgo.readings.length, 97);

    // Readings fewer than the points asked for are shown one by one, whatever the range.
    const sparse = await ask(store, end - day, end);
    assert.deepEqual([sparse.resolution, sparse.bucketMs, sparse.readings.length], ['raw', 0, 145]);

    const month = await ask(store, end - 30 * day, end);
    assert.equal(month.resolution, 'hour');
    assert.equal(month.bucketMs, 2 * hour, 'a month in 500 points: 2 hours each');
    // The roll-ups' means and ranges are the raw readings' (12 readings per 2 hours here, 20..31).
    const full = month.readings.filter((p) => p.samples === 12);
    assert.ok(full.length > 300, `${full.length} full points`);
    for (const p of full) {
      assert.equal(p.temperature, 25.5);
      assert.equal(p.temperature_min, 20);
      assert.equal(p.temperature_max, 31);
    }
    assert.equal(
      month.readings.reduce((s, p) => s + p.samples, 0),
      history.filter((r) => r.timeMs >= Math.floor((end - 30 * day) / hour) * hour).length,
      'every reading of the range, counted once',
    );
    await store.close();
  });

  it('answers from a coarser level where the finer one was pruned', async () => {
    const store = await EventStore.open({
      file: fileName(),
      synchronous: 'NORMAL',
      retention: { sensors: 2, sensorMinutes: 10, sensorHours: 0 },
    });
    await write(store, history);
    await store.prune(end);
    const fiveDaysAgo = await ask(store, end - 5 * day - 2 * hour, end - 5 * day);
    assert.equal(fiveDaysAgo.resolution, 'minute', 'raw readings are gone: minutes answer');
    assert.equal(fiveDaysAgo.readings.length, 13);
    const weeksAgo = await ask(store, end - 20 * day - 2 * hour, end - 20 * day);
    assert.equal(weeksAgo.resolution, 'hour', 'minutes are gone too: hours answer');
    assert.equal(weeksAgo.readings.length, 3);
    const recent = await ask(store, end - hour, end);
    assert.equal(recent.resolution, 'raw');
    await store.close();
  });

  it('refuses bad ranges with a reason', async () => {
    const store = await EventStore.open({ file: fileName(), synchronous: 'NORMAL' });
    await write(store, history.slice(0, 10));
    await assert.rejects(ask(store, end, end - 1), /"from" is after "to"/);
    await assert.rejects(ask(store, end - day, end, 0), /"points" must be an integer between 1 and 10000/);
    await store.close();
  });
});
