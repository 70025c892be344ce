/**
 * A Pi's clip arriving at the cloud (issue 19), against a real store and real ffmpeg: it replaces
 * the clip the cloud could not cut (no footage while the Pi's uplink was down), the cloud's own
 * cutter then keeps it, a clip the event already has is not stored again, a clip while the cloud
 * still cuts its own waits (409), and a body that only claims to be an MP4 is refused (422).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ClipCutter, clipName } from '../../../../nodes/lib/recording/clip-cutter';
import { ClipRefused, takeClip } from '../../../../nodes/lib/recording/clip-intake';
import { EventStore } from '../../../../nodes/lib/store/store';
import { skipWithoutFfmpeg, testClip } from '../../../support/ffmpeg';
import { start } from '../../../support/records';
import { tempDir } from '../../../support/tmp';

const CAMERA = 'picam-9';

describe("a Pi's clip arriving at the cloud", { skip: skipWithoutFfmpeg }, () => {
  const dir = tempDir('clip-intake-');
  const root = join(dir, 'recordings');
  let store: EventStore;
  let mp4: Buffer;
  const t = Date.now() - 3_600_000;

  before(async () => {
    store = await EventStore.open({ file: join(dir, 'events.db') });
    mp4 = testClip(join(dir, 'pi-clip.mp4'), 3);
    for (const id of ['evt-failed', 'evt-ready', 'evt-cutting', 'evt-fake']) await store.writeAsync(start(id, t, CAMERA));
  });
  after(() => store.close());

  const arrive = (eventId: string, body: Buffer) =>
    takeClip(
      { root, store: store.recordings(), maxBytes: 16 * 1024 ** 2, clipName },
      { cameraId: CAMERA, eventId, startMs: t - 2000, endMs: t + 1000, body: Readable.from([body]), declaredBytes: body.length },
    );
  const failed = { state: 'failed' as const, startMs: t - 2000, endMs: t + 1000, durationMs: null, bytes: null, file: null };

  it("replaces the clip the cloud could not cut, and the cloud's own cutter keeps it", async () => {
    await store
      .recordings()
      .finishClip({ cameraId: CAMERA, eventId: 'evt-failed', ...failed, reason: 'no recorded video covers the event' });
    const out = await arrive('evt-failed', mp4);
    assert.equal(out.stored, true);
    const row = await store.recordings().clip(CAMERA, 'evt-failed');
    assert.equal(row?.state, 'ready');
    assert.equal(row?.reason, null);
    assert.ok(Math.abs(row!.durationMs! - 3000) <= 100, `${row?.durationMs} ms`);
    assert.deepEqual(readFileSync(join(root, row!.file!)), mp4, 'the bytes the Pi sent');
    // The event's stop arrives late (the outbox drained): the cutter has no footage, and leaves the clip alone.
    const sent: string[] = [];
    const cutter = new ClipCutter({
      root,
      store: store.recordings(),
      clipUrl: () => '/x',
      send: (topic) => sent.push(topic),
      warn: () => undefined,
      done: () => undefined,
    });
    cutter.queue({ cameraId: CAMERA, eventId: 'evt-failed', fromMs: t - 2000, toMs: t + 1000 });
    await cutter.close();
    assert.deepEqual(sent, [], 'no clip/failed for a clip that is there');
    assert.equal((await store.recordings().clip(CAMERA, 'evt-failed'))?.state, 'ready');
  });

  it('does not store a second clip for an event that has one, and asks to try later while the cloud cuts its own', async () => {
    assert.deepEqual(await arrive('evt-failed', mp4), { stored: false, reason: 'the cloud already has a clip for this event' });
    await store.recordings().openClip({ cameraId: CAMERA, eventId: 'evt-cutting', startMs: t, endMs: t + 1000 });
    await assert.rejects(arrive('evt-cutting', mp4), (err: ClipRefused) => err.status === 409 && /still cutting its own/.test(err.message));
  });

  it('refuses a body that only starts like an MP4 (422) and one larger than allowed (413), keeping nothing', async () => {
    const fake = Buffer.concat([mp4.subarray(0, 32), Buffer.alloc(4096, 7)]);
    await assert.rejects(arrive('evt-fake', fake), (err: ClipRefused) => err.status === 422);
    const huge = takeClip(
      { root, store: store.recordings(), maxBytes: 1000, clipName },
      { cameraId: CAMERA, eventId: 'evt-fake', startMs: t, endMs: t + 1, body: Readable.from([mp4]) },
    );
    await assert.rejects(huge, (err: ClipRefused) => err.status === 413, 'no Content-Length: counted as it comes');
    assert.equal(await store.recordings().clip(CAMERA, 'evt-fake'), undefined);
    const incoming = join(root, '.incoming');
    assert.deepEqual(existsSync(incoming) ? readdirSync(incoming) : [], []);
  });
});
