/**
 * One IP camera's start, against a real RTSP camera: the pull starts while the
 * connection check runs (the first frame does not wait for the check), but the
 * camera is announced `connected` only once the check passed, and a check that
 * fails stops the pull again.
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { IpCamera, type IpCameraConfig, type IpCameraState } from '../../../nodes/ipcam/ip-camera';
import type { DeviceMessage } from '../../../nodes/ipcam/device-messages';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;

/** An ffprobe that answers only once `release` exists: the check lasts as long as the test wants. */
function heldFfprobe(dir: string): { path: string; release: string } {
  const release = join(dir, 'release');
  const path = join(dir, 'ffprobe');
  writeFileSync(path, `#!/bin/sh\nwhile [ ! -e '${release}' ]; do sleep 0.05; done\nexec ffprobe "$@"\n`);
  chmodSync(path, 0o755);
  return { path, release };
}

function config(cam: RtspCamera, ffprobePath: string, mainPath = 'main'): IpCameraConfig {
  const input = (path: string) => ({ url: cam.url(path), username: cam.user, password: cam.password, transport: 'tcp' as const });
  return {
    id: 'gate-1',
    name: 'Gate',
    main: input(mainPath),
    sub: input('sub'),
    mode: 'ARMED',
    motion: { on: false },
    snapshotEveryMs: 0,
    jpegFps: 5,
    jpegWidth: 320,
    prefix: 'prod',
    heartbeatMs: 60_000,
    ffmpegPath: 'ffmpeg',
    ffprobePath,
    backoff: { baseMs: 60_000, maxMs: 60_000 },
    stallTimeoutMs: 5000,
  };
}

function watch(cfg: IpCameraConfig) {
  const messages: DeviceMessage[] = [];
  let state: IpCameraState | undefined;
  const camera = new IpCamera(cfg, {
    message: (m) => messages.push(m),
    snapshot: () => undefined,
    state: (s) => (state = s),
    problem: () => undefined,
  });
  const connections = () => messages.filter((m) => m.topic.includes('/connection/')).map((m) => (m.payload as { status: string }).status);
  return { camera, messages, connections, state: () => state };
}

describe('IpCamera start', { skip }, () => {
  const cam = new RtspCamera();
  before(() => cam.start());
  beforeEach(() => cam.serving()); // GStreamer's server has crashed as a test closed its pull
  after(() => cam.stop());

  it('shows frames while the check still runs, and says connected only after it passed', async () => {
    const dir = tempDir();
    const probe = heldFfprobe(dir);
    const w = watch(config(cam, probe.path));
    try {
      w.camera.start();
      await waitFor('a frame during the check', async () => ((w.camera.preview?.stats.frames ?? 0) > 0 ? true : undefined), 30_000);
      assert.equal(w.state()?.state, 'checking');
      assert.ok(!w.connections().includes('connected'), 'not announced before the check');
      writeFileSync(probe.release, '');
      await waitFor('streaming', async () => (w.state()?.state === 'streaming' ? true : undefined), 30_000);
      assert.deepEqual(w.connections(), ['connected']);
    } finally {
      await w.camera.close();
    }
  });

  it('stops the pull when the check fails, and never says connected', async () => {
    const w = watch(config(cam, 'ffprobe', 'no-such-stream'));
    try {
      w.camera.start();
      await waitFor('offline', async () => (w.state()?.state === 'offline' ? true : undefined), 30_000);
      assert.match(w.state()?.error ?? '', /main stream: no such stream/);
      assert.equal(w.camera.preview, undefined, 'the pull is stopped');
      assert.deepEqual(w.connections(), ['disconnected']);
    } finally {
      await w.camera.close();
    }
  });
});
