/**
 * The cloud stores a replayed message once. A Pi resends what the broker took
 * but whose PUBACK it never saw (its outbox replays after an outage); by then
 * the cloud runtime may have restarted and forgotten the packets it saw. The
 * rows, not the processor's memory, must make the second copy a no-op.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import { MIGRATIONS, migrate } from '../../../nodes/lib/store/schema';
import { Connection } from '../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../nodes/lib/store/store';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { PI } from '../../support/fixtures';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, rows, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir();

/** The cloud's path: mqtt-processor → sqlite-events → committed confirmations on `stored`. */
async function cloud(file: string) {
  await helper.load(
    [databaseNode, processorNode, eventsNode],
    [
      { id: 'db', type: 'picam-database', file, maxBatch: 100, maxDelayMs: 5, synchronous: 'NORMAL' },
      {
        id: 'p1',
        type: 'mqtt-processor',
        prefix: 'prod',
        deviceTypes: 'hive-cam,picam',
        maxPayloadKiB: 256,
        debounceSeconds: 30,
        database: 'db',
        wires: [['w1'], [], [], []],
      },
      { id: 'w1', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [['stored']] },
      { id: 'stored', type: 'helper' },
    ],
  );
  return new Collector('stored');
}

/** What the Pi flow publishes, with the device's own (recent) timestamps. */
function piMessages(t0: number) {
  const base = `prod/device/message/picam/${PI}`;
  return [
    { topic: `${base}/sensors/environment`, payload: { temperature: 21.5, humidity: 40, pressure: 1012, timestamp: t0 } },
    { topic: `prod/device/status/picam/${PI}`, payload: { timestamp: t0 + 1000, uptime: 60, temperature: 48, streamState: 'streaming' } },
    { topic: `prod/device/status/picam/${PI}`, payload: { timestamp: t0 + 31_000, uptime: 90 } },
    { topic: `${base}/activity/start`, payload: { eventId: 'evt_replay', activityType: 'MOTION', timestamp: t0 + 2000, confidence: 0.8 } },
    { topic: `${base}/activity/stop`, payload: { eventId: 'evt_replay', activityType: 'MOTION', timestamp: t0 + 9000 } },
    { topic: `${base}/camera/state`, payload: { mode: 'ARMED', timestamp: t0 + 3000 } },
  ].map((m) => ({ topic: m.topic, payload: Buffer.from(JSON.stringify(m.payload)) }));
}

async function counts(file: string) {
  const [status] = await rows<{ n: number }>(
    file,
    "SELECT COUNT(*) AS n FROM status_events WHERE camera_id = ? AND event_type = 'heartbeat'",
    [PI],
  );
  const [sensors] = await rows<{ n: number }>(file, 'SELECT COUNT(*) AS n FROM sensor_readings WHERE device_id = ?', [PI]);
  const [activity] = await rows<{ n: number }>(file, 'SELECT COUNT(*) AS n FROM activity_events WHERE camera_id = ?', [PI]);
  return { heartbeats: status!.n, readings: sensors!.n, activity: activity!.n };
}

describe('replayed device messages in the cloud store', () => {
  it('stores a reading, heartbeats and an activity once when the Pi sends them again after a cloud restart', async () => {
    const file = join(dir, 'replay.db');
    const t0 = Date.now() - 10 * 60_000;
    const messages = piMessages(t0);

    let stored = await cloud(file);
    for (const m of messages) node('p1').receive({ ...m });
    await stored.wait(messages.length, 5000);
    assert.deepEqual(await counts(file), { heartbeats: 2, readings: 1, activity: 1 });

    // The cloud restarts (its memory of recent packets is gone), then the Pi replays everything.
    await helper.unload();
    stored = await cloud(file);
    for (const m of messages) node('p1').receive({ ...m });
    await stored.wait(messages.length, 5000);

    assert.deepEqual(await counts(file), { heartbeats: 2, readings: 1, activity: 1 }, 'each message is stored once');
    const [activity] = await rows<{ start_timestamp: number; end_timestamp: number }>(
      file,
      'SELECT start_timestamp, end_timestamp FROM activity_events WHERE event_id = ?',
      ['evt_replay'],
    );
    assert.deepEqual(activity, { start_timestamp: Math.floor((t0 + 2000) / 1000), end_timestamp: Math.floor((t0 + 9000) / 1000) });
    const [reading] = await rows<{ time_ms: number }>(file, 'SELECT time_ms FROM sensor_readings WHERE device_id = ?', [PI]);
    assert.equal(reading!.time_ms, t0, "the reading keeps the device's timestamp, not the time it arrived");
  });

  it('keeps heartbeats that differ only by a second apart, and a heartbeat without a stream state once', async () => {
    const file = join(dir, 'distinct.db');
    const t0 = Date.now() - 5 * 60_000;
    const stored = await cloud(file);
    const beat = (ms: number) => ({
      topic: `prod/device/status/picam/${PI}`,
      payload: Buffer.from(JSON.stringify({ timestamp: ms, uptime: 5 })),
    });
    const sent = [beat(t0), beat(t0 + 1000), beat(t0)];
    // Two processors' worth of memory cannot be assumed: the third copy goes straight to the store.
    for (const m of sent.slice(0, 2)) node('p1').receive(m);
    await stored.wait(2, 5000);
    node('w1').receive({
      payload: { kind: 'heartbeat', deviceId: PI, deviceType: 'picam', timeMs: t0, uptime: 5, raw: sent[2]!.payload.toString() },
    });
    await stored.wait(3, 5000);
    assert.equal((await counts(file)).heartbeats, 2);
  });

  it('stores every reading and heartbeat of a Pi whose clock was wrong, replayed together: none taken for another', async () => {
    const file = join(dir, 'bad-clock.db');
    const stored = await cloud(file);
    const base = `prod/device/message/picam/${PI}`;
    // A Pi without a real-time clock: its times are from 2001, a reading every 2 s, acknowledged as sent.
    const times = Array.from({ length: 50 }, (_, i) => 1_000_000_000_000 + i * 2000);
    const sent = [
      ...times.map((timestamp, i) => ({
        topic: `${base}/sensors/environment`,
        payload: Buffer.from(JSON.stringify({ temperature: 20 + i / 10, humidity: 40, pressure: 1000, timestamp })),
      })),
      ...Array.from({ length: 10 }, (_, i) => ({
        topic: `prod/device/status/picam/${PI}`,
        payload: Buffer.from(JSON.stringify({ uptime: 10 + i, timestamp: i + 1 })),
      })),
    ];
    for (const m of sent) node('p1').receive(m);
    await stored.wait(sent.length, 5000);
    assert.deepEqual(await counts(file), { heartbeats: 10, readings: 50, activity: 0 });
    const readings = await rows<{ temperature: number; device_time_raw: string }>(
      file,
      'SELECT temperature, device_time_raw FROM sensor_readings WHERE device_id = ? ORDER BY time_ms',
      [PI],
    );
    assert.deepEqual(
      readings.map((r) => r.device_time_raw),
      times.map(String),
      'in the order sent, each with the time the Pi gave',
    );
  });

  it('migration 6 removes duplicate heartbeats stored before it, keeping the first, and then enforces the key', async () => {
    const file = join(dir, 'before-6.db');
    const db = await Connection.open(file);
    await migrate(
      db,
      MIGRATIONS.filter((m) => m.version < 6),
    );
    const insert = 'INSERT INTO status_events (camera_id, event_type, status, timestamp, raw_payload) VALUES (?, ?, ?, ?, ?)';
    await db.run(insert, [PI, 'heartbeat', null, 1000, 'first']);
    await db.run(insert, [PI, 'heartbeat', null, 1000, 'copy']);
    await db.run(insert, [PI, 'heartbeat', 'streaming', 1000, 'other state']);
    await db.run(insert, [PI, 'connection', 'connected', 1000, 'connection']);
    await db.close();

    const store = await EventStore.open({ file });
    await store.writeAsync({ kind: 'heartbeat', deviceId: PI, deviceType: 'picam', timeMs: 1000_400, raw: 'replayed' });
    await store.close();
    const left = await rows<{ raw_payload: string }>(file, 'SELECT raw_payload FROM status_events ORDER BY id');
    assert.deepEqual(
      left.map((r) => r.raw_payload),
      ['first', 'other state', 'connection'],
    );
  });
});
