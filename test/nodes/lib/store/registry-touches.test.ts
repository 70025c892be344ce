/**
 * The writer leaves out a registry row that would only say "heard again" (registry-touches.ts):
 * a chatty device's registry is written about once a second, not with every message, while
 * `last_seen` stays exact, `heard_ms` at most a second behind, and anything else the row
 * carries (battery, signal, a connection change) is written at once. Real SQLite, with the
 * writer's clock set by the test.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BatchWriter } from '../../../../nodes/lib/store/batch-writer';
import { RegistryTouches } from '../../../../nodes/lib/store/registry-touches';
import { migrate } from '../../../../nodes/lib/store/schema';
import { Connection } from '../../../../nodes/lib/store/sqlite';
import type { StoreRecord } from '../../../../nodes/lib/types';
import { CAMERA, PI } from '../../../support/fixtures';
import { reading, start } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir('registry-touches-');
let files = 0;
const T = Date.UTC(2026, 11, 7, 12, 0, 0);

interface Registry {
  last_seen: number;
  heard_ms: number;
  battery_level: number | null;
  connection_status: string | null;
}

/** A writer on a fresh store whose clock is `clock.now`, and its device's registry row. */
async function writerAt(clock: { now: number }) {
  const conn = await Connection.open(join(dir, `r${files++}.db`));
  await migrate(conn);
  const writer = new BatchWriter(conn, { maxBatch: 1000, maxDelayMs: 1, now: () => clock.now });
  const write = (...records: StoreRecord[]) =>
    new Promise<void>((resolve, reject) => writer.writeMany(records, (err) => (err ? reject(err) : resolve())));
  const registry = (id: string) =>
    conn.get<Registry>('SELECT last_seen, heard_ms, battery_level, connection_status FROM camera_registry WHERE camera_id = ?', [id]);
  const close = async () => {
    await writer.close();
    await conn.close();
  };
  return { writer, write, registry, close };
}

const heartbeat = (timeMs: number, batteryLevel: number, online?: true): StoreRecord => ({
  kind: 'heartbeat',
  deviceId: CAMERA,
  deviceType: 'hive-cam',
  timeMs,
  batteryLevel,
  ...(online ? { online } : {}),
  raw: '{}',
});

describe('registry rows of a chatty device', () => {
  it('writes "heard again" within the same second once, and again after a second or with a new last_seen', async () => {
    const clock = { now: T + 100 };
    const w = await writerAt(clock);
    try {
      await w.write(reading(T + 50, 20));
      assert.deepEqual(await w.registry(PI), { last_seen: T / 1000, heard_ms: T + 100, battery_level: null, connection_status: null });

      clock.now = T + 600; // same second of the device, heard half a second later: left out
      await w.write(reading(T + 550, 21));
      assert.equal((await w.registry(PI))?.heard_ms, T + 100);

      clock.now = T + 1100; // heard a second after the stored heard_ms: written, though last_seen is the same second
      await w.write(reading(T + 900, 22));
      assert.equal((await w.registry(PI))?.heard_ms, T + 1100);

      clock.now = T + 1200; // a new second of the device's own time: written at once
      await w.write(reading(T + 1150, 23));
      assert.deepEqual(await w.registry(PI), { last_seen: T / 1000 + 1, heard_ms: T + 1200, battery_level: null, connection_status: null });
    } finally {
      await w.close();
    }
  });

  it('always writes a row that carries more than "heard": battery, a connection', async () => {
    const clock = { now: T + 100 };
    const w = await writerAt(clock);
    try {
      await w.write(start('ev-1', T + 10));
      clock.now = T + 200;
      await w.write(heartbeat(T + 20, 55));
      assert.deepEqual(await w.registry(CAMERA), { last_seen: T / 1000, heard_ms: T + 200, battery_level: 55, connection_status: null });
      clock.now = T + 300;
      await w.write(heartbeat(T + 30, 54, true));
      assert.deepEqual(await w.registry(CAMERA), { last_seen: T / 1000, heard_ms: T + 300, battery_level: 54, connection_status: 'connected' });
    } finally {
      await w.close();
    }
  });

  it('writes the row again at once after a task that may have deleted it (an IP camera removed)', async () => {
    const clock = { now: T + 100 };
    const w = await writerAt(clock);
    try {
      await w.write(reading(T + 50, 20));
      await w.writer.exclusive((db) => db.run('DELETE FROM camera_registry WHERE camera_id = ?', [PI]));
      clock.now = T + 200;
      await w.write(reading(T + 150, 21));
      assert.equal((await w.registry(PI))?.heard_ms, T + 200, 'the device is listed again with its next message');
    } finally {
      await w.close();
    }
  });

  it('does not remember a row of a transaction that did not commit', async () => {
    const clock = { now: T + 100 };
    const w = await writerAt(clock);
    try {
      await w.write(reading(T + 50, 20));
      clock.now = T + 1500;
      // A reading SQLite refuses makes its transaction fail: the registry row written with it is gone.
      await w.writer.exclusive((db) =>
        db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON sensor_readings WHEN NEW.temperature = -99 BEGIN SELECT RAISE(ABORT, 'refused'); END`),
      );
      await assert.rejects(w.write(reading(T + 1400, -99)), /refused/);
      assert.equal((await w.registry(PI))?.heard_ms, T + 100);
      clock.now = T + 1600;
      await w.write(reading(T + 1450, 21));
      assert.equal((await w.registry(PI))?.heard_ms, T + 1600, 'written: the failed one was not taken as stored');
    } finally {
      await w.close();
    }
  });
});

describe('RegistryTouches', () => {
  const touch = (heardMs: number, lastSeenSec = 100, deviceType = 'picam') => ({ deviceId: PI, deviceType, lastSeenSec, heardMs });

  it('covers a touch only once a row at least as new is committed, and of the same device type', () => {
    const t = new RegistryTouches(1000);
    assert.equal(t.covers(touch(5000)), false);
    t.writing(touch(5000));
    assert.equal(t.covers(touch(5100)), false, 'not committed yet');
    t.commit();
    assert.equal(t.covers(touch(5100)), true);
    assert.equal(t.covers(touch(5999)), true);
    assert.equal(t.covers(touch(6000)), false, 'a second since the stored heard_ms');
    assert.equal(t.covers(touch(5100, 101)), false, 'a later last_seen');
    assert.equal(t.covers(touch(5100, 100, 'hive-cam')), false, 'another device type');
  });

  it('keeps the greatest values committed, forgets a rolled-back row and everything on forget', () => {
    const t = new RegistryTouches(1000);
    t.writing(touch(5000, 100));
    t.writing(touch(4000, 99)); // an older row of the same batch does not make the memory older
    t.commit();
    assert.equal(t.covers(touch(5500, 100)), true);
    t.writing(touch(9000, 200));
    t.rollback();
    assert.equal(t.covers(touch(5500, 150)), false);
    t.forget();
    assert.equal(t.covers(touch(5500, 100)), false);
  });

  it('starts again rather than growing past its bound', () => {
    const t = new RegistryTouches(1000, 2);
    for (const id of ['a', 'b', 'c']) t.writing({ ...touch(5000), deviceId: id });
    t.commit();
    assert.equal(t.covers({ ...touch(5100), deviceId: 'a' }), false);
  });
});
