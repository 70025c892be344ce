/**
 * /api/media with two cameras that used the same event id (issue 13): the
 * camera names the event; without it the answer is 409, never the other
 * camera's file. A real store and real files behind the router.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { mediaRouter } from '../../../nodes/hivecam-gateway/media-routes';
import { EventStore } from '../../../nodes/lib/store/store';
import { tempDir } from '../../support/tmp';

const JPEG_START = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
const dir = tempDir();
let store: EventStore;
let server: ReturnType<ReturnType<typeof express>['listen']>;
let base = '';

before(async () => {
  store = await EventStore.open({ file: join(dir, 'media.db') });
  for (const cameraId of ['cam-a', 'cam-b']) {
    const filePath = join(dir, `${cameraId}.jpg`);
    // A JPEG's first bytes: the routes serve only what really is an image.
    writeFileSync(filePath, Buffer.concat([JPEG_START, Buffer.from(`picture of ${cameraId}`)]));
    const row = { eventId: 'evt_same', cameraId, fileType: 'thumbnail' as const, filePath, fileName: 'thumb.jpg', fileSize: 16 };
    await store.uploads().recordUpload([{ ...row, uploadDir: dir, uploadedAt: Math.floor(Date.now() / 1000) }]);
  }
  const app = express();
  app.use('/api/media', mediaRouter({ store: () => store.uploads(), usage: async () => ({}) as never, hlsAvailable: () => false }));
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/media`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  await store.close();
});

describe('media of an event id two cameras used', () => {
  it("serves each camera's own thumbnail when the camera is named", async () => {
    for (const camera of ['cam-a', 'cam-b']) {
      const res = await fetch(`${base}/thumbnail/evt_same?camera=${camera}`);
      assert.equal(res.status, 200);
      assert.ok(
        Buffer.from(await res.arrayBuffer())
          .subarray(JPEG_START.length)
          .equals(Buffer.from(`picture of ${camera}`)),
      );
    }
  });

  it('answers 409 naming both cameras when the camera is not named, and 400 for a bad camera id', async () => {
    const ambiguous = await fetch(`${base}/thumbnail/evt_same`);
    assert.equal(ambiguous.status, 409);
    assert.match(((await ambiguous.json()) as { error: string }).error, /cam-a, cam-b.*\?camera=/);
    assert.equal((await fetch(`${base}/thumbnail/evt_same?camera=../x`)).status, 400);
    assert.equal((await fetch(`${base}/thumbnail/evt_same?camera=cam-c`)).status, 404);
  });
});
