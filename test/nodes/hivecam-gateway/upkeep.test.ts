/**
 * The uploads folder's hourly upkeep (nodes/hivecam-gateway/upkeep.ts): what a run says in the
 * node's log. A data folder moved to a new disk leaves every old row pointing outside the
 * uploads folder; the log gets the first few of those and a count, not a line per folder, and
 * the run's answer names a hundred at most (a year of uploads would be a million strings).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { MAX_FAILURES, pruneUploads } from '../../../nodes/hivecam-gateway/retention';
import { UploadUpkeep } from '../../../nodes/hivecam-gateway/upkeep';
import { EventStore } from '../../../nodes/lib/store/store';
import type { UploadFileRow } from '../../../nodes/lib/store/uploads';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const dir = tempDir('picam-upkeep-');

/** `n` old thumbnails, each in its own event folder outside the uploads folder (a moved disk's). */
const uploadsElsewhere = (n: number): UploadFileRow[] =>
  Array.from({ length: n }, (_, i) => ({
    eventId: `e${i}`,
    cameraId: 'cam-a',
    fileType: 'thumbnail',
    filePath: join(dir, 'old-disk', 'uploads', 'cam-a', `e${i}`, 'thumb.jpg'),
    fileName: 'thumb.jpg',
    fileSize: 4,
    uploadDir: join(dir, 'old-disk', 'uploads', 'cam-a', `e${i}`),
    uploadedAt: 1000 + i,
  }));

it('logs the first ten folders it left alone and counts the rest, and forgets their rows', async () => {
  const store = await EventStore.open({ file: join(dir, 'upkeep.db') });
  try {
    await store.uploads().recordUpload(uploadsElsewhere(25));
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

it('names at most a hundred folders it left alone in its answer, and counts them all', async () => {
  const store = await EventStore.open({ file: join(dir, 'many.db') });
  try {
    await store.uploads().recordUpload(uploadsElsewhere(MAX_FAILURES + 50));
    const result = await pruneUploads(store.uploads(), join(dir, 'uploads'), 30);
    assert.equal(result.files, MAX_FAILURES + 50);
    assert.equal(result.failed, MAX_FAILURES + 50);
    assert.equal(result.failures.length, MAX_FAILURES);
  } finally {
    await store.close();
  }
});
