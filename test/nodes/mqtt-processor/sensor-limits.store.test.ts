/**
 * Sensor limits with their state in the store (issue 21, item 3): one alert per crossing when
 * a device's readings are split between processors. On PostgreSQL the two processors are two
 * runtimes, each with its own store on one database (as in the cluster role, where RabbitMQ
 * hands each message to one of them); on SQLite they share one store, as two processor nodes of
 * one runtime would. A restart keeps what was crossed on both engines.
 */
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { Processor, type ProcessorOutput } from '../../../nodes/mqtt-processor/processor';
import { parseSensorLimits } from '../../../nodes/mqtt-processor/sensor-limits';
import type { Alert } from '../../../nodes/lib/types';
import { PI, topics } from '../../support/fixtures';
import { eachDialect, type OpenStore, type TestStore } from '../../support/stores';

const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);
const stores: TestStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A processor with `temperature 5..35` whose limit state is in `store`. */
async function processorOn(store: TestStore): Promise<Processor> {
  const p = new Processor(
    {
      prefix: 'prod',
      deviceTypes: ['hive-cam', 'picam'],
      maxPayloadBytes: 256 * 1024,
      debounceMs: 0,
      deadLetterBytes: 4096,
      sensorLimits: parseSensorLimits('temperature 5..35'),
      now: () => T0 + 60_000,
    },
    () => undefined,
  );
  p.keepSensorLimitsIn(await store.sensorLimitStates(), (text) => assert.fail(text));
  return p;
}

/** The alerts a reading raised, the store's answer included. */
async function alertsOf(out: ProcessorOutput): Promise<Alert[]> {
  return [...(out.alerts as Alert[]), ...((await out.later) ?? [])];
}

const reading = (p: Processor, temperature: number, at: number, device = PI) =>
  alertsOf(p.handleDevice(topics.environment(device), JSON.stringify({ temperature, timestamp: T0 + at * 1000 })));

/** Two processors on one database: two runtimes (PostgreSQL) or one store (SQLite). */
async function twoRuntimes(open: OpenStore, dialect: string) {
  const a = await open();
  const b = dialect === 'postgres' ? await open(a.location) : a;
  stores.push(...new Set([a, b]));
  return { a, b, pa: await processorOn(a), pb: await processorOn(b) };
}

eachDialect('sensor limits in the store', (open, dialect) => {
  it('a crossing seen by one processor and the next readings by the other give one alert', async () => {
    const { a, b, pa, pb } = await twoRuntimes(open, dialect);
    assert.equal((await reading(pa, 30, 1)).length, 0);
    const first = await reading(pa, 36.2, 2);
    assert.equal(first.length, 1);
    assert.match(first[0]!.text, /temperature 36.2 °C .* above the 35 °C limit/);
    assert.deepEqual(await Promise.all([reading(pb, 37, 3), reading(pa, 36.5, 4), reading(pb, 35.5, 5)]), [[], [], []]);

    // 34.8 is inside but not back by the margin (0.5 °C); 34.4 is, on the other processor.
    await reading(pb, 34.8, 6);
    await a.writer.flush();
    assert.equal((await reading(pa, 36, 7)).length, 0, 'not back by the margin: still the same crossing');
    await reading(pb, 34.4, 8);
    await b.writer.flush();
    assert.equal((await reading(pa, 36, 9)).length, 1, 'back by the margin on one, out again on the other: a new crossing');
    assert.match((await reading(pb, 4, 10))[0]!.text, /below the 5 °C limit/, 'jumping to the other side is news');
  });

  it('two processors racing with readings past the limit give one alert per device', async () => {
    const { pa, pb } = await twoRuntimes(open, dialect);
    const devices = Array.from({ length: 20 }, (_, i) => `pi-race-${i}`);
    const alerts = await Promise.all(
      devices.flatMap((d) => [reading(pa, 36, 1, d), reading(pb, 37, 2, d), reading(pa, 38, 3, d), reading(pb, 36.5, 4, d)]),
    );
    for (const d of devices) {
      const of = alerts.flat().filter((x) => x.deviceId === d);
      assert.equal(of.length, 1, `${d}: ${of.map((x) => x.text).join('; ')}`);
    }
  });

  it('a reading handled late does not undo what a newer one set', async () => {
    const { a, pa, pb } = await twoRuntimes(open, dialect);
    assert.equal((await reading(pa, 36, 10)).length, 1);
    await reading(pb, 20, 5); // taken back inside before the crossing: old news
    await a.writer.flush();
    assert.equal((await reading(pb, 36.5, 11)).length, 0, 'still the crossing at 10 s');
    assert.equal((await reading(pa, 36, 2)).length, 0, 'out before the crossing: old news too');
  });

  it('a redelivered crossing alerts again (the outbox keeps it one alert if the first reached it)', async () => {
    const { pa, pb } = await twoRuntimes(open, dialect);
    assert.equal((await reading(pa, 36, 1)).length, 1);
    // The runtime died before the alert's outbox row: the broker hands the reading to the other.
    const again = await alertsOf(pb.handleDevice(topics.environment(), JSON.stringify({ temperature: 36, timestamp: T0 + 1000 }), true));
    assert.equal(again.length, 1);
    assert.equal(again[0]!.timeMs, T0 + 1000);
  });

  it('a restart remembers which limits are crossed', async () => {
    const store = await open();
    stores.push(store);
    const before = await processorOn(store);
    assert.equal((await reading(before, 36, 1)).length, 1);
    assert.equal((await reading(before, 20, 1, 'pi-cool')).length, 0);
    await store.close();
    const reopened = await open(store.location);
    stores.push(reopened);
    const after = await processorOn(reopened);
    assert.equal((await reading(after, 36.5, 2)).length, 0, 'still the crossing from before the restart');
    assert.equal((await reading(after, 20, 3)).length, 0);
    await reopened.writer.flush();
    assert.equal((await reading(after, 37, 4)).length, 1, 'back inside since: a new crossing');
    await reopened.writer.flush();
    const rows = await reopened.exclusive((db) =>
      db.all<{ device_id: string; side: string }>('SELECT device_id, side FROM sensor_limit_states ORDER BY device_id'),
    );
    assert.deepEqual(
      rows.map((r) => [r.device_id, r.side]),
      [
        ['pi-cool', 'in'],
        [PI, 'high'],
      ],
    );
  });
});
