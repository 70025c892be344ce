/**
 * The person detector in the camera pipeline, with real processes: the fake
 * rpicam-vid shows a scene (an empty building, then a person walks in) through
 * the real ffmpeg analyser; motion and the real model make the event MOTION_SMART
 * with its box and a boxed thumbnail. A detector far slower than the frames never
 * holds up the stream or the motion events: its queue drops the oldest frames and
 * says how far behind it is.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeJpeg } from '../../../../nodes/lib/detect/jpeg';
import { DEFAULT_FILTER, type FrameDetections, type ObjectDetector } from '../../../../nodes/lib/detect/types';
import type { ActivityPayload } from '../../../../nodes/lib/types';
import { Camera, type CameraOptions } from '../../../../nodes/lib/camera/camera';
import type { CameraDetectionResult } from '../../../../nodes/lib/camera/camera-detection';
import type { StreamConfig } from '../../../../nodes/lib/camera/types';
import { skipWithoutFfmpeg } from '../../../support/ffmpeg';
import { buildFakeRpicamVid } from '../../../support/fake-rpicam-vid';
import { tempDir } from '../../../support/tmp';
import { waitFor } from '../../../support/wait';

const FIXTURES = join(__dirname, '../../../fixtures/detect');
const dir = tempDir('picam-detect-');

/**
 * 4 s of the empty building, then 6 s with a person in it, then 30 s empty again (long enough for
 * the motion's background to forget the person and end the event); looped by the fake camera.
 */
function sceneVideo(): string {
  const out = join(dir, 'scene.mp4');
  const still = (name: string, seconds: number) => ['-loop', '1', '-framerate', '10', '-t', String(seconds), '-i', join(FIXTURES, name)];
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...still('empty-building.jpg', 4),
    ...still('person-rendered-60.jpg', 6),
    ...still('empty-building.jpg', 30),
    ...['-filter_complex', '[0][1][2]concat=n=3:v=1,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', out],
  ]);
  return out;
}

function stream(): StreamConfig {
  return {
    source: 'rpicam',
    width: 640,
    height: 442,
    framerate: 10,
    bitrate: 500_000,
    keyframeInterval: 10,
    rotation: 0,
    hflip: false,
    vflip: false,
    lowLatency: true,
    rpicamPath: buildFakeRpicamVid(dir),
    ffmpegPath: 'ffmpeg',
    v4l2Device: '/dev/video0',
    v4l2Encoder: 'libx264',
    analysis: { jpegFps: 2, jpegWidth: 640, motionFps: 5, motionWidth: 64, motionHeight: 48 },
    // Without a relay the fake camera reports no progress: the stall watch is not what is tested here.
    stallTimeoutMs: 600_000,
    backoff: { baseMs: 500, maxMs: 2000 },
  };
}

type Seen = {
  activity: Array<{ kind: string; payload: ActivityPayload; at: number }>;
  thumbnails: Map<string, Buffer>;
  detections: CameraDetectionResult[];
};

function camera(opts: Partial<CameraOptions>): { camera: Camera; seen: Seen } {
  const seen: Seen = { activity: [], thumbnails: new Map(), detections: [] };
  const cam = new Camera(
    { stream: stream(), motion: { on: true, minDurationMs: 400, quietMs: 2000 }, snapshotEveryMs: 0, mode: 'ARMED', ...opts },
    {
      state: () => undefined,
      activity: (kind, payload) => seen.activity.push({ kind, payload, at: Date.now() }),
      thumbnail: (eventId, jpeg) => seen.thumbnails.set(eventId, jpeg),
      snapshot: () => undefined,
      detection: (r) => seen.detections.push(r),
      problem: () => undefined,
    },
  );
  return { camera: cam, seen };
}

describe('camera with the person detector (real ffmpeg)', { skip: skipWithoutFfmpeg, timeout: 240_000 }, () => {
  const cameras: Camera[] = [];
  after(async () => {
    delete process.env.FAKE_RPICAM_INPUT;
    await Promise.all(cameras.map((c) => c.close()));
  });

  it(
    'a person walking into the picture becomes a MOTION_SMART start with its box, and a thumbnail with the box drawn',
    { timeout: 180_000 },
    async () => {
      process.env.FAKE_RPICAM_INPUT = sceneVideo();
      const { camera: cam, seen } = camera({ detect: { on: true, filter: DEFAULT_FILTER, holdMs: 10_000 } });
      cameras.push(cam);
      cam.start();
      const start = await waitFor(
        'a smart start',
        async () => seen.activity.find((a) => a.kind === 'start' && a.payload.activityType === 'MOTION_SMART'),
        150_000,
      );
      const det = start.payload.detection!;
      assert.equal(det.label, 'person');
      assert.ok(det.score >= DEFAULT_FILTER.threshold && det.score <= 1);
      // pasted at 30 % across and 60 % of the height, standing on the bottom edge
      assert.ok(det.box.x > 20 && det.box.x < 50 && det.box.h > 30 && det.box.y + det.box.h > 80, JSON.stringify(det.box));
      const eventId = start.payload.eventId!;
      const thumb = await waitFor('its thumbnail', async () => seen.thumbnails.get(eventId));
      const img = decodeJpeg(thumb);
      const row = Math.round(((det.box.y + 0.3) / 100) * img.height);
      const col = Math.round(((det.box.x + det.box.w / 2) / 100) * img.width);
      const i = (row * img.width + col) * 3;
      assert.ok(
        img.data[i + 1]! > 170 && img.data[i]! < 90,
        `the box's top edge is drawn green: ${[...img.data.subarray(i, i + 3)].join(',')}`,
      );
      assert.ok(
        seen.detections.some((r) => r.detections.some((d) => d.label === 'person')),
        'the detection output saw the person too',
      );
      const stop = await waitFor(
        'its stop',
        async () => seen.activity.find((a) => a.kind === 'stop' && a.payload.eventId === eventId),
        60_000,
      );
      const starts = seen.activity.filter((a) => a.payload.eventId === eventId).map((a) => a.kind);
      assert.deepEqual(starts, ['start', 'stop'], 'one start, then one stop');
      assert.ok(stop.at >= start.at);
      await cam.close();
    },
  );

  it('a detector far slower than the frames never holds up the stream or the motion events', { timeout: 120_000 }, async () => {
    process.env.FAKE_RPICAM_INPUT ??= sceneVideo();
    let calls = 0;
    const pending: Array<() => void> = [];
    const stuck: ObjectDetector = {
      // answers only when the test ends: slower than any real CPU
      detect: () => {
        calls++;
        return new Promise<FrameDetections>((resolve) => pending.push(() => resolve({ width: 1, height: 1, detections: [], ms: 1 })));
      },
    };
    const { camera: cam, seen } = camera({ detect: { on: true, filter: DEFAULT_FILTER, holdMs: 1500, detector: stuck } });
    cameras.push(cam);
    const frames = new Set<Buffer>();
    const watch = setInterval(() => cam.preview.lastFrame && frames.add(cam.preview.lastFrame), 50);
    try {
      cam.start();
      const first = await waitFor(
        'a motion start despite the stuck detector',
        async () => seen.activity.find((a) => a.kind === 'start'),
        60_000,
      );
      assert.equal(first.payload.activityType, 'MOTION', 'sent after the bounded hold, as plain motion');
      await waitFor(
        'its stop',
        async () => seen.activity.find((a) => a.kind === 'stop' && a.payload.eventId === first.payload.eventId),
        60_000,
      );
      await waitFor('the queue to drop old frames', async () => ((cam.detectorStats?.dropped ?? 0) >= 3 ? true : undefined), 60_000);
      const stats = cam.detectorStats!;
      assert.equal(calls, 1, 'one frame in the detector, the rest waited or were dropped');
      assert.ok(stats.waiting <= 2, 'bounded');
      assert.ok(stats.behindMs >= 1000, `the status says how far behind: ${JSON.stringify(stats)}`);
      const before = frames.size;
      await waitFor('the stream to go on', async () => (frames.size > before + 5 ? true : undefined), 30_000);
    } finally {
      clearInterval(watch);
      await cam.close();
      for (const p of pending) p();
    }
  });
});
