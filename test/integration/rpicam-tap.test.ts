/**
 * The camera's local copy for the Pi's own recorder (issue 19), with real processes: the fake
 * rpicam-vid through the Pipeline, its RTSP server unreachable (the uplink down). The relay backs
 * off, the tap keeps sending the video as MPEG-TS to the local UDP port, and stop() leaves no tap
 * behind. A server that takes the connection and never answers (an uplink that drops packets) stalls
 * the relay alone: the camera is not restarted, so the recording goes on.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Pipeline } from '../../nodes/lib/camera/pipeline';
import type { PipelineState, StreamConfig } from '../../nodes/lib/camera/types';
import { buildFakeRpicamVid } from '../support/fake-rpicam-vid';
import { skipWithoutFfmpeg } from '../support/ffmpeg';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

/** The fake Pi camera publishing to `rtspUrl`, with its local copy to `udpPort`. */
function config(rtspUrl: string, udpPort: number): StreamConfig {
  return {
    source: 'rpicam',
    rtspUrl,
    recordTo: `udp://127.0.0.1:${udpPort}`,
    width: 320,
    height: 240,
    framerate: 15,
    bitrate: 300_000,
    keyframeInterval: 15,
    rotation: 0,
    hflip: false,
    vflip: false,
    lowLatency: true,
    rpicamPath: buildFakeRpicamVid(tempDir('picam-tap-bin-')),
    ffmpegPath: 'ffmpeg',
    v4l2Device: '/dev/video0',
    v4l2Encoder: 'libx264',
    stallTimeoutMs: 3000,
    backoff: { baseMs: 200, maxMs: 1000 },
  };
}

describe('the local recording tap', { skip: skipWithoutFfmpeg, timeout: 90_000 }, () => {
  const socket = createSocket('udp4');
  const datagrams: Buffer[] = [];
  let pipeline: Pipeline | undefined;

  after(async () => {
    await pipeline?.stop();
    socket.close();
  });

  it('records while the uplink is down: MPEG-TS to the local port as the relay backs off; no tap after stop()', async () => {
    socket.on('message', (m) => datagrams.length < 100_000 && datagrams.push(m));
    const port = await new Promise<number>((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));
    const cfg = config(`rtsp://127.0.0.1:${await freePort()}/picam`, port);
    const states: PipelineState[] = [];
    pipeline = new Pipeline(cfg, { graceMs: 2000 });
    pipeline.on('state', (s) => states.push(s));
    pipeline.start();
    await waitFor('the relay backing off', async () => (states.includes('backing-off') ? true : undefined), 30_000);
    await waitFor('MPEG-TS at the local port', async () => (datagrams.length >= 50 ? true : undefined), 30_000);
    for (const d of datagrams.slice(0, 50)) {
      assert.equal(d.length % 188, 0, 'whole TS packets');
      for (let i = 0; i < d.length; i += 188) assert.equal(d[i], 0x47, 'each starts with the sync byte');
    }
    const tap = pipeline.pids.tap;
    assert.ok(tap, 'the tap runs');
    await pipeline.stop();
    assert.ok(gone(tap), 'no tap after stop()');
  });

  it('a server that never answers stalls the relay alone: the camera runs on and the local copy keeps coming', async () => {
    const held: Socket[] = [];
    const silent = createServer((c) => held.push(c)); // takes the connection, says nothing
    const rtspPort = await new Promise<number>((resolve) =>
      silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)),
    );
    try {
      const port = (socket.address() as { port: number }).port;
      const warnings: string[] = [];
      pipeline = new Pipeline(config(`rtsp://127.0.0.1:${rtspPort}/picam`, port), { graceMs: 1000 });
      pipeline.on('warning', (w) => warnings.push(w));
      pipeline.start();
      const source = await waitFor('the camera running', async () => pipeline!.pids.source, 20_000);
      await waitFor('the relay connected to the silent server', async () => (held.length ? true : undefined), 20_000);
      // Past the stall time-out (3 s) more than twice: the relay is given up on and tried again.
      await waitFor('the relay restarted after its stall', async () => (held.length >= 2 ? true : undefined), 30_000);
      assert.equal(pipeline.pids.source, source, 'the camera was not restarted');
      assert.match(pipeline.stats.lastError ?? '', /relay/);
      const before = datagrams.length;
      await waitFor('the local copy still coming', async () => (datagrams.length > before + 20 ? true : undefined), 20_000);
    } finally {
      await pipeline?.stop();
      for (const c of held) c.destroy();
      silent.close();
    }
  });
});
