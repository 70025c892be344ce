/**
 * Recording retention (issue 19 item 4) on a real SQLite index and a real small file system:
 * a 20 MB tmpfs when this process may mount one (root), else the temp folder with its free space
 * given by an injected statfs (said in the test's name). By age per mode; by free space, oldest
 * continuous footage first, then the oldest clips, the floor kept; a storage-low alert raised
 * once and a storage-ok once it is kept again; nothing outside the recordings folder deleted,
 * whatever the index says.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RecorderService } from '../../../../nodes/lib/recording/recorder-service';
import { statDisk, type DiskSpace } from '../../../../nodes/lib/recording/retention';
import { EventStore } from '../../../../nodes/lib/store/store';
import type { Alert } from '../../../../nodes/lib/types';
import { tempDir } from '../../../support/tmp';

const MB = 1024 * 1024;
const DAY = 86_400_000;

/** A 20 MB tmpfs, or undefined when this process may not mount one. */
function smallDisk(dir: string): string | undefined {
  const mnt = join(dir, 'disk');
  mkdirSync(mnt);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt], { stdio: 'ignore' });
  if (r.status !== 0) return undefined;
  return mnt;
}

const dir = tempDir('rec-retention-');
const mounted = smallDisk(dir);
const root = join(mounted ?? join(dir, 'fake-disk'), 'recordings');
mkdirSync(root, { recursive: true });

/** Without a tmpfs: a 20 MB disk whose use is the bytes the recordings folder (and the filler) hold. */
function fakeStat(): (path: string) => Promise<DiskSpace> {
  return async () => {
    const du = spawnSync('du', ['-sb', join(root, '..')], { encoding: 'utf8' });
    const used = Number(du.stdout.split('\t')[0]);
    return { totalBytes: 20 * MB, freeBytes: Math.max(0, 20 * MB - used) };
  };
}

describe(`recording retention on a small disk (${mounted ? 'a real 20 MB tmpfs' : 'statfs faked: no tmpfs could be mounted'})`, () => {
  let store: EventStore;
  let service: RecorderService;
  const alerts: Alert[] = [];
  const warnings: string[] = [];

  before(async () => {
    store = await EventStore.open({ file: join(dir, 'events.db'), synchronous: 'NORMAL' });
    service = new RecorderService({
      root,
      cameras: [
        { cameraId: 'cont', mode: 'continuous', where: 'test' },
        { cameraId: 'ev', mode: 'events', where: 'test' },
      ],
      defaultMode: 'events',
      preRollMs: 5000,
      postRollMs: 10_000,
      maxClipMs: 300_000,
      segmentSeconds: 2,
      // 45 % of 20 MB: 9 MB kept free.
      rules: { retainClipDays: 30, retainSegmentDays: 7, freePercent: 45, freeGB: 0 },
      store: store.recordings(),
      statDisk: mounted ? statDisk : fakeStat(),
      retentionEveryMs: 3_600_000,
      clipUrl: (c, e) => `/api/recordings/${c}/clips/${e}`,
      send: () => undefined,
      alert: (a) => alerts.push(a),
      log: () => undefined,
      warn: (t) => warnings.push(t),
      changed: () => undefined,
    });
  });
  after(async () => {
    await service?.close();
    await store?.close();
    if (mounted) spawnSync('umount', ['-l', mounted], { stdio: 'ignore' });
  });

  /** A continuous segment file of `mb` MB starting `ageMs` ago, indexed. */
  async function segment(name: string, ageMs: number, mb: number, cameraId = 'cont') {
    mkdirSync(join(root, cameraId), { recursive: true });
    const file = join(root, cameraId, `${name}.ts`);
    writeFileSync(file, Buffer.alloc(mb * MB, 1));
    const startMs = Date.now() - ageMs;
    await store.recordings().addSegment({
      cameraId,
      startMs,
      endMs: startMs + 2000,
      file: `${cameraId}/${name}.ts`,
      bytes: mb * MB,
      mode: cameraId === 'cont' ? 'continuous' : 'events',
    });
    return file;
  }

  async function clip(eventId: string, ageMs: number, mb: number) {
    mkdirSync(join(root, 'ev', 'clips'), { recursive: true });
    const file = join(root, 'ev', 'clips', `${eventId}.mp4`);
    writeFileSync(file, Buffer.alloc(mb * MB, 2));
    const startMs = Date.now() - ageMs;
    await store.recordings().finishClip({
      cameraId: 'ev',
      eventId,
      state: 'ready',
      startMs,
      endMs: startMs + 15_000,
      durationMs: 15_000,
      bytes: mb * MB,
      file: `ev/clips/${eventId}.mp4`,
      reason: null,
    });
    return file;
  }

  it('deletes by age: continuous segments and clips past their days, nothing younger', async () => {
    const old = await segment('old', 8 * DAY, 1);
    const young = await segment('young', 6 * DAY, 1);
    const oldClip = await clip('old-clip', 31 * DAY, 1);
    const youngClip = await clip('young-clip', 29 * DAY, 1);
    await service.retention();
    assert.deepEqual([existsSync(old), existsSync(young), existsSync(oldClip), existsSync(youngClip)], [false, true, false, true]);
    assert.equal((await store.recordings().oldestSegments({ mode: 'continuous', limit: 10 })).length, 1);
    assert.equal(await store.recordings().clip('ev', 'old-clip'), undefined);
    assert.equal(alerts.length, 0);
    // Tidy for the next test.
    rmSync(young);
    rmSync(youngClip);
    await store.recordings().removeSegments((await store.recordings().oldestSegments({ limit: 10 })).map((s) => s.id));
    await store.recordings().removeClips([{ cameraId: 'ev', eventId: 'young-clip' }]);
  });

  it('keeps the floor free: the oldest continuous footage first, then the oldest clips; storage-low once, storage-ok once', async () => {
    // 14 MB of continuous segments (oldest first by start), 2 MB of clips: 4 MB free, below the 9 MB floor.
    const stat = () => (mounted ? statDisk(root) : fakeStat()(root));
    const segs: string[] = [];
    for (let i = 0; i < 7; i++) segs.push(await segment(`s${i}`, (10 - i) * 60_000, 2));
    const clips = [await clip('c-old', 3_600_000, 1), await clip('c-new', 60_000, 1)];
    await service.retention();
    assert.ok((await stat()).freeBytes >= 9 * MB, `floor kept: ${(await stat()).freeBytes} bytes free`);
    // The oldest went (only as many as the floor needs), and no clip while continuous footage could give.
    assert.deepEqual(segs.map(existsSync), [false, false, false, true, true, true, true], 'the three oldest segments deleted');
    assert.deepEqual(clips.map(existsSync), [true, true]);
    assert.equal(alerts.length, 0, 'the floor was kept without clips: no alert');

    // Something else fills the disk: all continuous footage cannot make room, so the oldest clip goes too.
    const filler = join(root, '..', 'filler.bin');
    writeFileSync(filler, Buffer.alloc((await stat()).freeBytes - MB / 2, 3));
    await service.retention();
    assert.equal((await store.recordings().oldestSegments({ mode: 'continuous', limit: 10 })).length, 0, 'every continuous segment went');
    assert.deepEqual(clips.map(existsSync), [false, true], 'then the oldest clip, and no more than the floor needs');
    assert.ok((await stat()).freeBytes >= 9 * MB, 'floor kept');
    assert.deepEqual(
      alerts.map((a) => [a.kind, a.severity]),
      [['storage-low', 'critical']],
    );
    assert.match(alerts[0]!.text, /below the .* floor/);
    const usage = await service.usage();
    assert.equal(usage.low, true);
    assert.equal(usage.floorBytes, Math.ceil(usage.disk.totalBytes * 0.45));
    // Still at the floor on the next runs: no second alert.
    await service.retention();
    await service.retention();
    assert.equal(alerts.length, 1, 'raised once');
    // Room again: cleared once.
    rmSync(filler);
    await service.retention();
    await service.retention();
    assert.deepEqual(
      alerts.map((a) => a.kind),
      ['storage-low', 'storage-ok'],
    );
    assert.equal((await service.usage()).low, false);
  });

  it('never deletes outside the recordings folder, whatever the index says (the row is dropped, the file kept)', async () => {
    const outside = join(dir, 'precious.txt');
    writeFileSync(outside, 'keep me');
    const before = warnings.length;
    for (const [i, file] of ['../../precious.txt', `${dir}/precious.txt`, 'cont/../../../precious.txt'].entries())
      await store.recordings().addSegment({
        cameraId: 'cont',
        startMs: Date.now() - 30 * DAY - i,
        endMs: Date.now() - 30 * DAY,
        file,
        bytes: 7,
        mode: 'continuous',
      });
    await service.retention();
    assert.equal(existsSync(outside), true, 'the file outside is still there');
    assert.equal((await store.recordings().oldestSegments({ mode: 'continuous', limit: 10 })).length, 0, 'the rows are gone');
    const refused = warnings.slice(before).filter((w) => /refused: .* is not inside the recordings folder/.test(w));
    assert.equal(refused.length, 3, warnings.slice(before).join('\n'));
    assert.equal(service.counters.refusedPaths, 3);
  });
});
