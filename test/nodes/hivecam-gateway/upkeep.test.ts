/**
 * The uploads folder's hourly upkeep (nodes/hivecam-gateway/upkeep.ts): what a run says in the
 * node's log. A data folder moved to a new disk leaves every old row pointing outside the
 * uploads folder; the log gets the first few of those and a count, not a line per folder.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { UploadUpkeep } from '../../../nodes/hivecam-gateway/upkeep';
import { EventStore } from '../../../nodes/lib/store/store';
import type { UploadFileRow } from '../../../nodes/lib/store/uploads';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const dir = tempDir('picam-upkeep-');

it('logs the first ten folders it left alone and counts the rest, and forgets their rows', async () => {
  const store = await EventStore.open({ file: join(dir, 'upkeep.db') });
  try {
    const moved = join(dir, 'old-disk', 'uploads');
    const row = (i: number): UploadFileRow => ({
      eventId: `e${i}`,
      cameraId: 'cam-a',
      fileType: 'thumbnail',
      filePath: join(moved, 'cam-a', `e${i}`, 'thumb.jpg'),
      fileName: 'thumb.jpg',
      fileSize: 4,
      uploadDir: join(moved, 'cam-a', `e${i}`),
      uploadedAt: 1000 + i,
    });
    await store.uploads().recordUpload(Array.from({ length: 25 }, (_, i) => row(i)));
    const warnings: string[] = [];
    const upkeep = new UploadUpkeep(join(dir, 'uploads'), 30, 60_000, { log: () => undefined, warn: (l) => warnings.push(l) });
    upkeep.start(store.uploads()); // a run now, then hourly
    try {
      await waitFor('the run', async () => (warnings.some((w) => /more folders not removed/.test(w)) ? true : undefined));
    } finally {
      upkeep.stop();
    }
    assert.equal(warnings.filter((w) => /not inside .* left alone/.test(w)).length, 10, warnings.join('\n'));
    assert.ok(
      warnings.some((w) => /retention: 15 more folders not removed/.test(w)),
      warnings.join('\n'),
    );
    assert.deepEqual(await store.uploads().olderThan(2000), [], 'the rows are forgotten all the same');
  } finally {
    await store.close();
  }
});
