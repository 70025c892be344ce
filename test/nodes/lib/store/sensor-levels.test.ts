/**
 * One list of sensor levels for the history query and retention (sensor-levels.ts), and
 * migration 13's frozen copy agreeing with it: each level's table exists on a new store,
 * a reading lands in each roll-up in the bucket of that level's width, and retention
 * prunes every level after its own setting.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KEYED_TABLES } from '../../../../nodes/lib/store/retention';
import { SENSOR_LEVELS } from '../../../../nodes/lib/store/sensor-levels';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import { tempDir } from '../../../support/tmp';

const dir = tempDir('picam-sensor-levels-');

describe('sensor levels', () => {
  let db: Connection | undefined;
  after(() => db?.close());

  it('are the tables migration 13 made, each rolling a reading up into buckets of its width', async () => {
    const file = join(dir, 'store.db');
    const store = await EventStore.open({ file, synchronous: 'NORMAL' });
    const timeMs = Date.UTC(2026, 11, 6, 10, 17, 42, 500);
    await store.writeAsync({ kind: 'sensor', deviceId: 'picam-a', deviceType: 'picam', timeMs, temperature: 21.5 });
    await store.close();
    db = await Connection.open(file, true);
    for (const level of SENSOR_LEVELS) {
      const row: { t: number; n: number } | undefined = await db.get(
        `SELECT ${level.time} AS t, count(*) AS n FROM ${level.table} WHERE device_id = 'picam-a'`,
      );
      assert.equal(row?.n, 1, `${level.table} holds the reading`);
      assert.equal(row?.t, level.ms === 0 ? timeMs : Math.floor(timeMs / level.ms) * level.ms, `${level.table} buckets are ${level.ms} ms`);
    }
  });

  it('are each pruned by retention after their own number of days', () => {
    for (const level of SENSOR_LEVELS) {
      const pruned = KEYED_TABLES.find((t) => t.table === level.table);
      assert.deepEqual(pruned && { time: pruned.time, days: pruned.days }, { time: level.time, days: level.days }, level.table);
    }
  });
});
