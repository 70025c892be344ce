/**
 * The start-up sweep of files the recordings index does not know (issue 19 item 4: the disk must
 * not fill with footage retention cannot see): unindexed segments and clips older than a minute
 * go; indexed ones, young ones (being written) and anything else stay. The index on SQLite and on
 * PostgreSQL (issue 21).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { sweepOrphans } from '../../../../nodes/lib/recording/orphans';
import { eachDialect, type TestStore } from '../../../support/stores';
import { tempDir } from '../../../support/tmp';

eachDialect('the orphan sweep', (open) => {
  const dir = tempDir('rec-orphans-');
  const root = join(dir, 'recordings');
  let store: TestStore;
  before(async () => {
    store = await open();
  });
  after(() => store?.close());

  function file(rel: string, ageMs: number): string {
    const abs = join(root, rel);
    mkdirSync(join(abs, '..'), { recursive: true });
    writeFileSync(abs, 'x');
    const t = (Date.now() - ageMs) / 1000;
    utimesSync(abs, t, t);
    return abs;
  }

  it('deletes only old files the index does not name', async () => {
    const indexed = file('cam/1-000001.ts', 600_000);
    await store.recordings().addSegment({ cameraId: 'cam', startMs: 1, endMs: 2, file: 'cam/1-000001.ts', bytes: 1, mode: 'continuous' });
    const indexedClip = file('cam/clips/e1.mp4', 600_000);
    await store.recordings().finishClip({
      cameraId: 'cam',
      eventId: 'e1',
      state: 'ready',
      startMs: 1,
      endMs: 2,
      durationMs: 1,
      bytes: 1,
      file: 'cam/clips/e1.mp4',
      reason: null,
    });
    const lost = file('cam/1-000002.ts', 600_000);
    const lostClip = file('cam/clips/e2.mp4', 600_000);
    const part = file('cam/clips/e3.mp4.part', 600_000);
    const young = file('cam/1-000003.ts', 0);
    const other = file('cam/notes.txt', 600_000);
    const cache = file('.video/cam-1-2.mp4', 600_000);
    assert.equal(await sweepOrphans(root, store.recordings()), 3);
    assert.deepEqual([indexed, indexedClip, lost, lostClip, part, young, other, cache].map(existsSync), [
      true,
      true,
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
  });
});
