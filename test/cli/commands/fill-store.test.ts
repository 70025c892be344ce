/**
 * picam-guardian fill-store (issue 18): a store filled through the real schema, which
 * the store's own queries then answer: devices of each kind, events over the days
 * asked for with their thumbnails linked, readings every 2 s, and the side tables.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultPis, fillStoreCli, parseFillArgs } from '../../../cli/commands/fill-store';
import { MIGRATIONS } from '../../../nodes/lib/store/schema';
import { EventStore } from '../../../nodes/lib/store/store';
import { rows } from '../../support/records';
import { tempDir } from '../../support/tmp';

const dir = tempDir();

async function fill(file: string, extra: string[] = []): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await fillStoreCli(
    ['--file', file, '--devices', '12', '--events', '2000', '--readings', '3000', '--days', '30', ...extra],
    (l) => lines.push(l),
  );
  return { code, lines };
}

describe('fill-store', () => {
  it('fills a store the API answers: devices of every kind, events over the days, thumbnails, readings, side tables', async () => {
    const file = join(dir, 'fleet.db');
    const { code, lines } = await fill(file);
    assert.equal(code, 0, lines.join('\n'));
    assert.match(lines.join('\n'), /events: 2,000 of 2,000/);
    assert.match(lines.at(-1)!, /done in \d+ s: .*fleet\.db is [\d.]+ MB/);

    const [version] = await rows<{ user_version: number }>(file, 'PRAGMA user_version');
    assert.equal(version!.user_version, MIGRATIONS.at(-1)!.version, 'every migration applied');
    const kinds = await rows<{ device_type: string; n: number }>(
      file,
      'SELECT device_type, count(*) AS n FROM camera_registry GROUP BY 1 ORDER BY 1',
    );
    assert.deepEqual(
      kinds.map((k) => k.device_type),
      ['hive-cam', 'ipcam', 'picam'],
    );
    assert.equal(
      kinds.reduce((s, k) => s + k.n, 0),
      12,
    );

    const store = await EventStore.open({ file });
    const cameras = await store.query('cameras');
    const vbc01 = cameras.cameras.find((c) => c.device_type === 'hive-cam')!;
    assert.match(vbc01.camera_id, /^[0-9A-F]{32}$/, 'VBC01 ids as the firmware makes them');
    const page = await store.query('events', { limit: 1000 });
    assert.deepEqual([page.total, page.totalCapped], [2000, false]);
    const starts = page.events.map((e) => e.start_timestamp!);
    const spanDays = (Math.max(...starts) - Math.min(...starts)) / 86_400;
    assert.ok(spanDays > 0.9 * 30 * (1000 / 2000) && spanDays <= 30, `the newest 1,000 of 2,000 events span half of 30 days (${spanDays})`);
    assert.ok(Math.max(...starts) * 1000 <= Date.now() && Math.max(...starts) * 1000 > Date.now() - 86_400_000, 'up to now');
    // Uploads came first; migration 8's trigger linked them to their events.
    const withPicture = page.events.filter((e) => e.has_thumbnail);
    assert.ok(withPicture.length >= 150 && withPicture.length <= 250, `about a fifth with a thumbnail (${withPicture.length})`);
    assert.ok(withPicture.every((e) => e.thumbnail_path?.endsWith('/thumbnail.jpg')));
    assert.ok(page.events.some((e) => e.has_recording && e.recording_path));
    const types = new Set(page.events.map((e) => e.activity_type));
    for (const t of ['MOTION', 'PERSON', 'MOTION_SMART', 'AUDIO_ALL', 'VEHICLE', 'ANIMAL']) assert.ok(types.has(t), t);

    const pi = cameras.cameras.find((c) => c.device_type === 'picam')!;
    const history = await store.query('sensors', { deviceId: pi.camera_id, from: Date.now() - 600_000, to: Date.now() + 10_000 });
    const raw = history.readings;
    assert.ok(raw.length > 250, `readings every 2 s for the last 10 minutes (${raw.length})`);
    assert.equal(history.bucketMs, 0, 'few enough to be raw');
    assert.equal(raw[1]!.time_ms - raw[0]!.time_ms, 2000);
    const dead = await store.query('dead-letters', { limit: 5 });
    assert.equal(dead.total, 2);
    assert.ok((await store.query('alerts')).total >= 20);
    const commands = await store.query('commands');
    assert.ok('total' in commands && commands.total >= 2);
    await store.close();
  });

  it('refuses a store that has data, keeping it; --append adds a second fleet beside it', async () => {
    const file = join(dir, 'twice.db');
    assert.equal((await fill(file)).code, 0);
    const again = await fill(file);
    assert.equal(again.code, 1);
    assert.match(again.lines.join('\n'), /already has rows in activity_events: give --append/);
    const [before] = await rows<{ n: number }>(file, 'SELECT count(*) AS n FROM activity_events');
    assert.equal(before!.n, 2000, 'nothing written');
    const appended = await fill(file, ['--append']);
    assert.equal(appended.code, 0, appended.lines.join('\n'));
    const [after] = await rows<{ n: number; devices: number }>(
      file,
      'SELECT (SELECT count(*) FROM activity_events) AS n, (SELECT count(*) FROM camera_registry) AS devices',
    );
    assert.deepEqual(after, { n: 4000, devices: 24 });
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['no file', ['--events', '10'], /--file is required/],
    ['a negative count', ['--file', 'x.db', '--events=-5'], /--events must be a whole number/],
    ['a fraction', ['--file', 'x.db', '--devices', '2.5'], /--devices must be a whole number from 1/],
    ['zero days', ['--file', 'x.db', '--days', '0'], /--days must be a whole number from 1 to 3650/],
    ['an unknown option', ['--file', 'x.db', '--sizes', '3'], /Unknown option '--sizes'/],
  ];
  for (const [what, argv, error] of bad) {
    it(`exits 2 with the reason and the usage for ${what}`, async () => {
      const lines: string[] = [];
      assert.equal(await fillStoreCli(argv, (l) => lines.push(l)), 2);
      assert.match(lines[0]!, error);
      assert.match(lines.join('\n'), /usage: picam-guardian fill-store/);
    });
  }

  it("defaults to the issue's fleet, its Pis holding a month of readings each", () => {
    const o = parseFillArgs(['--file', 'x.db']);
    assert.deepEqual([o.devices, o.events, o.readings, o.days], [600, 5_000_000, 30_000_000, 365]);
    const pis = defaultPis(o.readings, o.devices);
    const days = ((o.readings / pis) * 2) / 86_400;
    assert.ok(days >= 30 && days < 32, `${pis} Pis, ${days} days each`);
  });
});
