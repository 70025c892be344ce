/**
 * node --import tsx bench/count-triggers.ts: what the row-count triggers of migration 12 cost
 * the ingest path. The same records go through the store's batch writer into a fresh file
 * with the triggers and into one with them dropped, alternating, several rounds; the figure is
 * the process's CPU time (all threads: SQLite runs on libuv's pool) per record, which a shared
 * machine disturbs less than the wall time.
 *
 * BENCH_TRIGGER_RECORDS (default 200,000: sensor readings of 1,000 devices, every tenth record
 * a heartbeat's status row), BENCH_TRIGGER_ROUNDS (default 3).
 *
 * The whole path's CPU per record varies by more than the triggers cost on a shared machine,
 * so the SQL alone is measured too: a million sensor rows inserted by one statement, with and
 * without the triggers, CPU per row (the trigger's own cost, without the JavaScript around it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore } from '../nodes/lib/store/store';
import type { StoreRecord } from '../nodes/lib/types';
import { machine } from './machine';

const RECORDS = Number(process.env.BENCH_TRIGGER_RECORDS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_TRIGGER_ROUNDS ?? 3);
const DEVICES = 1000;
const dir = mkdtempSync(join(tmpdir(), 'picam-triggers-'));

function records(t0: number): StoreRecord[] {
  return Array.from({ length: RECORDS }, (_, i): StoreRecord => {
    const deviceId = `pi-${String(i % DEVICES).padStart(4, '0')}`;
    const timeMs = t0 + Math.floor(i / DEVICES) * 2000;
    return i % 10 === 9
      ? { kind: 'heartbeat', deviceId, deviceType: 'picam', timeMs, raw: '{}' }
      : { kind: 'sensor', deviceId, deviceType: 'picam', timeMs, temperature: 21, humidity: 45, pressure: 1013 };
  });
}

async function dropCountTriggers(store: EventStore): Promise<void> {
  const names = await store.reads.all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_count_%'`);
  // Trigger names come from sqlite_master, not from input.
  await store.writer.exclusive(async (db) => {
    for (const { name } of names) await db.run(`DROP TRIGGER ${name}`);
  });
}

/** CPU µs and wall ms per record for one fresh store. */
async function once(withTriggers: boolean, round: number): Promise<{ cpuUs: number; wallUs: number }> {
  const store = await EventStore.open({ file: join(dir, `${withTriggers ? 'with' : 'without'}-${round}.db`), synchronous: 'NORMAL' });
  if (!withTriggers) await dropCountTriggers(store);
  const batch = records(Date.now() - 86_400_000);
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  await Promise.all(batch.map((r) => store.writeAsync(r)));
  const wallUs = Number(process.hrtime.bigint() - t) / 1000 / RECORDS;
  const used = process.cpuUsage(cpu);
  const counted = (await store.query('status')).counts;
  await store.close();
  if (withTriggers && !counted.sensor_readings) throw new Error('nothing counted');
  return { cpuUs: (used.user + used.system) / RECORDS, wallUs };
}

/** CPU µs per row of one INSERT ... SELECT of ROWS sensor readings. */
async function sqlOnly(withTriggers: boolean, round: number): Promise<number> {
  const ROWS = 1_000_000;
  const store = await EventStore.open({ file: join(dir, `sql-${withTriggers ? 'with' : 'without'}-${round}.db`), synchronous: 'NORMAL' });
  if (!withTriggers) await dropCountTriggers(store);
  const cpu = process.cpuUsage();
  await store.writer.exclusive((db) =>
    db.run(
      `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ? - 1)
       INSERT INTO sensor_readings (device_id, time_ms, temperature, humidity, pressure)
       SELECT printf('pi-%04d', i % 1000), 1700000000000 + (i / 1000) * 2000, 21, 45, 1013 FROM s`,
      [ROWS],
    ),
  );
  const used = process.cpuUsage(cpu);
  await store.close();
  return (used.user + used.system) / ROWS;
}

async function main(): Promise<void> {
  console.log(`# row-count triggers on ingest\n${machine()}\n${RECORDS} records per store, ${ROUNDS} rounds`);
  const results: Record<'with' | 'without', Array<{ cpuUs: number; wallUs: number }>> = { with: [], without: [] };
  await once(true, -1); // warm-up (JIT, page cache)
  for (let round = 0; round < ROUNDS; round++) {
    results.without.push(await once(false, round));
    results.with.push(await once(true, round));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log('\n| | CPU µs / record (median) | wall µs / record (median) | rounds (CPU µs) |\n|---|---|---|---|');
  for (const k of ['without', 'with'] as const) {
    const cpu = results[k].map((r) => r.cpuUs);
    console.log(
      `| ${k} triggers | ${median(cpu).toFixed(2)} | ${median(results[k].map((r) => r.wallUs)).toFixed(2)} | ${cpu.map((c) => c.toFixed(2)).join(', ')} |`,
    );
  }
  const sql: Record<'with' | 'without', number[]> = { with: [], without: [] };
  for (let round = 0; round < ROUNDS; round++) {
    sql.without.push(await sqlOnly(false, round));
    sql.with.push(await sqlOnly(true, round));
  }
  console.log('\n| one INSERT of 1,000,000 readings | CPU µs / row (median) | rounds |\n|---|---|---|');
  for (const k of ['without', 'with'] as const)
    console.log(`| ${k} triggers | ${median(sql[k]).toFixed(2)} | ${sql[k].map((c) => c.toFixed(2)).join(', ')} |`);
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
