/**
 * The same records into a SQLite store and a PostgreSQL store: the API answers the same on both
 * (queries.ts, sensor history at each level, ops figures, the devices a restart restores, the
 * command list with its camelCase fields), and retention deletes the same rows. Parametrised by dialect: each case runs on both and compares.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storeFigures } from '../../../../nodes/lib/store/ops-figures';
import type { CommandRow, QueryKind, QueryParams } from '../../../../nodes/lib/store/queries';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { ActivityRecord, ConnectionRecord, StoreRecord } from '../../../../nodes/lib/types';
import { CAMERA, CAMERA_2, PI } from '../../../support/fixtures';
import { skipWithoutPostgres, startPostgres, type PostgresServer } from '../../../support/postgres';
import { conn, reading, start, stop } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const dir = tempDir();
const NOW = 1_765_000_000_000;
const DAY = 86_400_000;
const T0 = NOW - 3 * DAY;

/** Three days of a small site: cameras, events with zones and detections, Pi readings, streams, refusals. */
function site(): StoreRecord[] {
  const records: StoreRecord[] = [conn(T0), { ...(conn(T0 + 10) as ConnectionRecord), deviceId: CAMERA_2, name: 'Garage' }];
  for (let i = 0; i < 120; i++) {
    const t = T0 + i * 30 * 60_000;
    const camera = i % 3 ? CAMERA : CAMERA_2;
    const begin: ActivityRecord = { ...(start(`ev${i}`, t, camera, i % 4 ? 'MOTION' : 'PERSON') as ActivityRecord) };
    begin.zones = i % 2 ? ['driveway'] : ['gate', 'driveway'];
    if (i % 5 === 0) begin.detection = { label: 'person', score: 0.75, box: { x: 1, y: 2, w: 3, h: 4 } };
    records.push(begin, { ...(stop(`ev${i}`, t + 7000) as ActivityRecord), deviceId: camera });
    records.push({
      kind: 'heartbeat',
      deviceId: camera,
      deviceType: 'hive-cam',
      timeMs: t + 1,
      online: true,
      batteryLevel: 80.5,
      raw: '{}',
    });
    records.push({
      kind: 'stream-health',
      deviceId: `cam/${camera}`,
      deviceType: 'mediamtx',
      timeMs: t,
      online: i % 7 !== 0,
      readers: i % 3,
      inboundKbps: 512.5,
    });
  }
  // A reading every 2 minutes: raw, minute and hour levels all have rows.
  for (let t = T0; t < NOW; t += 120_000) records.push(reading(t, 20 + ((t / 120_000) % 8) / 2));
  records.push({
    kind: 'dead-letter',
    timeMs: T0 + 5,
    source: 'mqtt',
    reason: 'not JSON',
    payload: '{oops',
    payloadBytes: 5,
    deviceId: CAMERA,
  });
  records.push({ kind: 'dead-letter', timeMs: NOW - 5, source: 'mqtt', reason: 'too big', payload: 'x', payloadBytes: 9000 });
  return records;
}

/** What differs by when the test ran (the store's own clock): created_at, updated_at. */
function timeless(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(timeless);
  if (x && typeof x === 'object' && !Buffer.isBuffer(x)) {
    return Object.fromEntries(
      Object.entries(x)
        .filter(([k]) => k !== 'created_at' && k !== 'updated_at')
        .map(([k, v]) => [k, timeless(v)]),
    );
  }
  return x;
}

const QUERIES: Array<[QueryKind, QueryParams]> = [
  ['cameras', {}],
  ['events', {}],
  ['events', { limit: 7 }],
  ['events', { camera: CAMERA, type: 'PERSON' }],
  ['events', { zone: 'gate', limit: 5 }],
  ['events', { label: 'person' }],
  ['events', { from: (T0 + DAY) / 1000, to: (T0 + 2 * DAY) / 1000, limit: 1000 }],
  ['sensors', { deviceId: PI, from: NOW - 3600_000, to: NOW }],
  ['sensors', { deviceId: PI, from: NOW - DAY, to: NOW, points: 50 }],
  ['sensors', { deviceId: PI, from: T0, to: NOW, points: 20 }],
  ['sensors', { deviceId: PI, from: NOW - 600_000, to: NOW, points: 2 }],
  ['dead-letters', {}],
  ['alerts', {}],
  ['streams', {}],
  ['streams', { path: `cam/${CAMERA}`, from: T0, to: NOW }],
  ['status', {}],
  ['commands', {}],
  ['commands', { device: CAMERA }],
  ['commands', { state: 'sent' }],
  ['commands', { id: 'cmd-2' }],
];

/** Commands queued to the cameras (the command-sender's queue): one sent, one failed, one still queued. */
async function queueCommands(store: EventStore): Promise<void> {
  const queue = store.commandQueue('sender-1');
  for (const [i, device] of [CAMERA, CAMERA_2, CAMERA].entries()) {
    await queue.enqueue({
      commandId: `cmd-${i + 1}`,
      deviceId: device,
      // A second mode change for a device expires its first (enqueue): the first is a reboot.
      action: i === 0 ? 'reboot' : 'setmode',
      topic: `picam/${device}/cmd`,
      payload: JSON.stringify({ requestId: `cmd-${i + 1}`, mode: 'ARMED' }),
      createdMs: NOW - 60_000 + i,
      expiresMs: NOW + 60_000,
    });
  }
  const [first, second] = await queue.queued();
  await queue.markSent(first!.seq, NOW - 59_000);
  await queue.markFailed(second!.seq, 'device offline');
}

describe('SQLite and PostgreSQL answer the same', { skip: skipWithoutPostgres }, () => {
  let server: PostgresServer;
  let stores: EventStore[] = [];
  before(async () => {
    server = await startPostgres();
    stores = [await EventStore.open({ file: join(dir, 'same.db') }), await EventStore.open({ url: await server.createDatabase() })];
    const records = site();
    for (const s of stores) {
      await new Promise<void>((resolve, reject) => s.writeMany(records, (err) => (err ? reject(err) : resolve())));
      await queueCommands(s);
    }
  });
  after(async () => {
    for (const s of stores) await s.close();
    await server?.stop();
  });

  for (const [kind, params] of QUERIES) {
    it(`${kind} ${JSON.stringify(params)}`, async () => {
      const [lite, pg] = await Promise.all(stores.map(async (s) => timeless(await s.query(kind, params))));
      assert.deepEqual(pg, lite);
    });
  }

  it('the cases above are not empty: every sensor level answered, every event and command filter matched', async () => {
    const pg = stores[1]!;
    const resolutions = new Set<string>();
    for (const [kind, params] of QUERIES) {
      const answer = (await pg.query(kind, params)) as unknown as Record<string, unknown>;
      if (kind === 'sensors') {
        resolutions.add(answer.resolution as string);
        assert.ok((answer.readings as unknown[]).length > 0, JSON.stringify(params));
      }
      if (kind === 'events') assert.ok((answer.events as unknown[]).length > 0, JSON.stringify(params));
      if (kind === 'commands' && params.id === undefined) assert.ok((answer.commands as unknown[]).length > 0, JSON.stringify(params));
    }
    const { commands } = (await pg.query('commands', { device: CAMERA })) as { commands: CommandRow[] };
    assert.deepEqual(
      commands.map((c) => [c.id, c.deviceId, c.state, c.createdMs, c.sentMs]),
      [
        ['cmd-3', CAMERA, 'queued', NOW - 60_000 + 2, null],
        ['cmd-1', CAMERA, 'sent', NOW - 60_000, NOW - 59_000],
      ],
      'camelCase fields come back in camelCase from PostgreSQL',
    );
    assert.deepEqual([...resolutions].sort(), ['hour', 'minute', 'raw']);
  });

  it('pages by cursor the same way to the end', async () => {
    const pages = await Promise.all(
      stores.map(async (s) => {
        const ids: string[] = [];
        let cursor: string | null | undefined;
        do {
          const page = await s.query('events', { limit: 17, ...(cursor ? { cursor } : {}) });
          ids.push(...page.events.map((e) => e.event_id));
          cursor = page.next;
        } while (cursor);
        return ids;
      }),
    );
    assert.equal(pages[0]!.length, 120);
    assert.deepEqual(pages[1], pages[0]);
  });

  it('the figures for /metrics and the devices a restart restores', async () => {
    const [lite, pg] = await Promise.all(stores.map(async (s) => timeless([await storeFigures(s.reads), await s.knownDevices()])));
    assert.deepEqual(pg, lite);
  });

  it('answers a bad request with the same error', async () => {
    const errors = await Promise.all(stores.map((s) => s.query('events', { cursor: 'nonsense' }).catch((e: Error) => e.message)));
    assert.equal(errors[0], errors[1]);
    assert.match(String(errors[0]), /cursor/);
  });

  it('retention deletes the same rows, in batches, and the answers stay the same', async () => {
    for (const s of stores)
      Object.assign(s.retention, { activity: 2, status: 2, sensors: 1, sensorMinutes: 2, sensorHours: 0, deadLetters: 1 });
    const deleted = await Promise.all(stores.map((s) => s.prune(NOW)));
    assert.ok(deleted[0]! > 1000, `deleted ${deleted[0]}`);
    assert.equal(deleted[1], deleted[0]);
    assert.deepEqual(await Promise.all(stores.map((s) => s.prune(NOW))), [0, 0], 'nothing left to delete');
    const [lite, pg] = await Promise.all(stores.map(async (s) => timeless(await s.query('status'))));
    assert.deepEqual(pg, lite);
  });
});
