/** The camera gateway's logic without Node-RED: access, rate limits, commands, retention, playlists. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FailureLimiter } from '../../nodes/lib/failure-limiter';
import { DEVICE_ID_PATTERN } from '../../nodes/lib/types';
import { decideAccess, EnrolmentWindow, parseCameraList } from '../../nodes/hivecam-gateway/access';
import { parseCommand } from '../../nodes/hivecam-gateway/control';
import { servedPlaylist } from '../../nodes/hivecam-gateway/hls';
import { diskUse, pruneUploads } from '../../nodes/hivecam-gateway/retention';
import { EventStore } from '../../nodes/picam-database/store';
import type { UploadFileRow } from '../../nodes/picam-database/uploads';
import { rows, start } from '../support/records';
import { tempDir } from '../support/tmp';

const dir = tempDir('picam-gateway-unit-');

describe('failure limiter', () => {
  it('blocks a client after too many failures in the window, then lets it back', () => {
    const l = new FailureLimiter({ maxFailures: 3, windowMs: 1000, blockMs: 5000 });
    assert.equal(l.fail('a', 0), false);
    assert.equal(l.fail('a', 100), false);
    assert.equal(l.retryAfter('a', 150), 0);
    assert.equal(l.fail('a', 200), true, 'the third failure blocks');
    assert.equal(l.retryAfter('a', 200), 5);
    assert.equal(l.retryAfter('b', 200), 0, 'other clients are not affected');
    assert.equal(l.retryAfter('a', 5200), 0, 'the block ends');
  });

  it('forgets failures older than the window', () => {
    const l = new FailureLimiter({ maxFailures: 3, windowMs: 1000, blockMs: 5000 });
    l.fail('a', 0);
    l.fail('a', 100);
    assert.equal(l.fail('a', 2000), false, 'two old failures no longer count');
  });
});

describe('certificate access', () => {
  it('allows settings, registered cameras and enrolment; refuses the rest with the way out', () => {
    const registered = { cameraId: 'cam', registeredMs: 1, registeredBy: 'admin' as const, certIssuedMs: null, certRequests: 0 };
    assert.deepEqual(decideAccess('cam', { inSettings: true, windowOpen: false }), { allowed: true, via: 'settings' });
    assert.deepEqual(decideAccess('cam', { registered, inSettings: false, windowOpen: false }), { allowed: true, via: 'registered' });
    assert.deepEqual(decideAccess('new', { inSettings: false, windowOpen: true }), { allowed: true, via: 'enrolment' });
    const refused = decideAccess('new', { inSettings: false, windowOpen: false });
    assert.equal(refused.allowed, false);
    assert.match((refused as { reason: string }).reason, /open it, or register the camera/);
  });

  it('opens and closes the enrolment window, and refuses nonsense durations', () => {
    const w = new EnrolmentWindow();
    assert.equal(w.isOpen(0), false);
    assert.equal(w.open(10, 1000), 1000 + 600_000);
    assert.equal(w.isOpen(600_999), true);
    assert.equal(w.isOpen(601_000), false);
    w.open(10, 0);
    w.open(0, 1);
    assert.equal(w.isOpen(2), false, '0 closes it');
    assert.throws(() => w.open(-1), RangeError);
    assert.throws(() => w.open(Number.NaN), RangeError);
  });

  it('reads the registered list from the settings and names the invalid ids', () => {
    const { ids, invalid } = parseCameraList(' cam-1, cam_2  bad.id,,cam-1 ', (id) => DEVICE_ID_PATTERN.test(id));
    assert.deepEqual([...ids], ['cam-1', 'cam_2']);
    assert.deepEqual(invalid, ['bad.id']);
  });
});

describe('gateway commands', () => {
  it('parses every command and its argument', () => {
    assert.deepEqual(parseCommand('enrolment', { minutes: 15 }), { command: 'enrolment', minutes: 15 });
    assert.deepEqual(parseCommand('enrolment', '0'), { command: 'enrolment', minutes: 0 });
    assert.deepEqual(parseCommand('register', { cameraId: 'cam-1' }), { command: 'register', cameraId: 'cam-1' });
    assert.deepEqual(parseCommand('unregister', 'cam-1'), { command: 'unregister', cameraId: 'cam-1' });
    assert.deepEqual(parseCommand('usage', undefined), { command: 'usage' });
  });

  it('says what is wrong with a bad one', () => {
    assert.throws(() => parseCommand('enrolment', {}), /payload.minutes between 0/);
    assert.throws(() => parseCommand('enrolment', { minutes: 5000 }), /between 0 \(close\) and 1440 \(got 5000\)/);
    assert.throws(() => parseCommand('register', { cameraId: 'a/b' }), /cameraId matching/);
    assert.throws(() => parseCommand(undefined, {}), /msg.topic must be one of enrolment, register/);
  });
});

describe('upload retention', () => {
  const row = (root: string, eventId: string, uploadedAt: number): UploadFileRow => {
    const uploadDir = join(root, 'cam-a', `${eventId}-x`);
    mkdirSync(uploadDir, { recursive: true });
    const filePath = join(uploadDir, 'thumb.jpg');
    writeFileSync(filePath, 'jpeg');
    return { eventId, cameraId: 'cam-a', fileType: 'thumbnail', filePath, fileName: 'thumb.jpg', fileSize: 4, uploadDir, uploadedAt };
  };

  it('removes old uploads with their rows and event links, keeps new ones, and reports disk use', async () => {
    const file = join(dir, 'retention.db');
    const root = join(dir, 'uploads');
    const store = await EventStore.open({ file });
    try {
      const now = Date.now();
      await store.writeAsync(start('old', now - 40 * 86_400_000, 'cam-a'));
      const uploads = store.uploads();
      const old = row(root, 'old', Math.floor(now / 1000) - 40 * 86_400);
      const fresh = row(root, 'new', Math.floor(now / 1000) - 86_400);
      await uploads.recordUpload([old, fresh]);
      assert.deepEqual((await diskUse(uploads, root)).byType, { thumbnail: { files: 2, bytes: 8 } });

      const result = await pruneUploads(uploads, root, 30, now);
      assert.deepEqual(result, { files: 1, folders: 1, failures: [] });
      assert.equal(existsSync(old.uploadDir), false);
      assert.equal(existsSync(fresh.filePath), true);
      const usage = await diskUse(uploads, root);
      assert.equal(usage.files, 1);
      assert.ok(usage.disk!.totalBytes > 0);
      const [event] = await rows<{ thumbnail_path: string | null }>(
        file,
        "SELECT thumbnail_path FROM activity_events WHERE event_id = 'old'",
      );
      assert.equal(event!.thumbnail_path, null, 'the event no longer points at a deleted file');
      assert.deepEqual(await pruneUploads(uploads, root, 0, now), { files: 0, folders: 0, failures: [] }, '0 days keeps everything');
    } finally {
      await store.close();
    }
  });

  it('never deletes a folder outside the uploads folder, whatever a row says', async () => {
    const store = await EventStore.open({ file: join(dir, 'outside.db') });
    try {
      const elsewhere = row(join(dir, 'elsewhere'), 'e', 1);
      await store.uploads().recordUpload([elsewhere]);
      const result = await pruneUploads(store.uploads(), join(dir, 'uploads-2'), 1);
      assert.equal(result.folders, 0);
      assert.match(result.failures[0]!, /not inside .*left alone/);
      assert.equal(existsSync(elsewhere.filePath), true);
    } finally {
      await store.close();
    }
  });
});

describe('HLS playlist', () => {
  it('points the segments next to the served playlist URL', async () => {
    const p = join(dir, 'index.m3u8');
    writeFileSync(p, '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nsegment000.ts\n#EXTINF:1.0,\nsegment001.ts\n#EXT-X-ENDLIST\n');
    const served = await servedPlaylist(p, 'evt:1');
    assert.match(served, /^evt%3A1\/segment000\.ts$/m);
    assert.match(served, /^evt%3A1\/segment001\.ts$/m);
    assert.match(served, /#EXT-X-ENDLIST/);
  });
});
