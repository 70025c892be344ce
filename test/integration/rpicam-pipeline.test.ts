/**
 * The stream pipeline with real processes on both ends: the fake rpicam-vid
 * (which refuses flags the real one does not know) through the Pipeline's
 * ffmpeg relay to an ffmpeg RTSP receiver, checked with ffprobe; the server
 * going away and coming back, a stalled camera, the analyser's output, and
 * stop() leaving no process behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { processTable } from '../support/processes';
import { after, before, describe, it } from 'node:test';
import { Pipeline } from '../../nodes/lib/camera/pipeline';
import type { GreyFrame, PipelineState, StreamConfig } from '../../nodes/lib/camera/types';
import { buildFakeRpicamVid } from '../support/fake-rpicam-vid';
import { RtspReceiver } from '../support/rtsp-receiver';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';
import { freePort } from '../support/ports';
import { skipWithoutFfmpeg } from '../support/ffmpeg';

const skip = skipWithoutFfmpeg;

/** Every process in a process group (a wrapper's children included), from /proc. */
function groupMembers(pgid: number): number[] {
  return processTable()
    .filter((p) => p.pgid === pgid)
    .map((p) => p.pid);
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

type Probed = { codec_name: string; width: number; height: number; avg_frame_rate: string };

function probe(file: string): Probed {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_streams', '-of', 'json', file], {
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { streams: Probed[] }).streams[0]!;
}

describe('rpicam-rtsp pipeline (real ffmpeg)', { skip, timeout: 120_000 }, () => {
  let receiver: RtspReceiver;
  let pipeline: Pipeline;
  let cfg: StreamConfig;
  const states: Array<{ state: PipelineState; detail?: string; at: number }> = [];
  const jpeg: Buffer[] = [];
  const grey: GreyFrame[] = [];
  const since = (i: number, state: PipelineState) => states.slice(i).filter((s) => s.state === state);
  const waitState = (i: number, state: PipelineState, ms = 20_000) => waitFor(`state ${state}`, async () => since(i, state)[0], ms);

  // Made here, not in before(): tempDir's clean-up belongs to the suite, not to the hook.
  const dir = tempDir('picam-rtsp-');

  before(async () => {
    receiver = new RtspReceiver({ port: await freePort(), path: 'picam', dir });
    receiver.start();
    cfg = {
      source: 'rpicam',
      rtspUrl: receiver.url,
      width: 320,
      height: 240,
      framerate: 15,
      bitrate: 300_000,
      keyframeInterval: 15,
      rotation: 0,
      hflip: false,
      vflip: false,
      lowLatency: true,
      rpicamPath: buildFakeRpicamVid(dir),
      ffmpegPath: 'ffmpeg',
      v4l2Device: '/dev/video0',
      v4l2Encoder: 'libx264',
      analysis: { jpegFps: 2, jpegWidth: 160, motionFps: 5, motionWidth: 32, motionHeight: 24 },
      stallTimeoutMs: 3000,
      backoff: { baseMs: 200, maxMs: 1000 },
    };
    pipeline = new Pipeline(cfg, { graceMs: 2000 });
    pipeline.on('state', (state, detail) => states.push({ state, detail, at: Date.now() }));
    pipeline.on('mjpegChunk', (chunk) => jpeg.push(chunk));
    pipeline.on('grey', (frame) => grey.push(frame));
  });

  after(async () => {
    // Also when a test failed: no process may outlive the file.
    await pipeline?.stop();
    await receiver?.stop();
  });

  it('publishes H.264 of the configured size and frame rate to the RTSP server', { timeout: 30_000 }, async () => {
    await receiver.waitListening();
    pipeline.start();
    await waitState(0, 'streaming');
    await receiver.waitForFrames(30);
    assert.deepEqual(
      states.map((s) => s.state),
      ['starting', 'streaming'],
    );
    // avg_frame_rate: ffmpeg's RTSP reader gives the first two frames one timestamp, which can
    // throw r_frame_rate (ffprobe's guess from the first frames) off; the average is what was sent.
    const stream = probe(receiver.files[0]!);
    assert.deepEqual(stream, { ...stream, codec_name: 'h264', width: 320, height: 240, avg_frame_rate: '15/1' });
    const stats = pipeline.stats;
    assert.equal(stats.state, 'streaming');
    assert.ok(stats.frames > 0 && stats.fps > 0 && stats.bitrateKbps > 0 && stats.uptimeMs > 0, JSON.stringify(stats));
  });

  it('decodes JPEGs and grey frames of the configured size', { timeout: 20_000 }, async () => {
    await waitFor('JPEG bytes and grey frames', async () => (jpeg.length > 0 && grey.length >= 3 ? true : undefined));
    const bytes = Buffer.concat(jpeg);
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8], 'a JPEG starts with SOI');
    assert.ok(bytes.includes(Buffer.from([0xff, 0xd9])), 'and ends with EOI');
    for (const f of grey) assert.deepEqual([f.width, f.height, f.data.length], [32, 24, 32 * 24]);
    // testsrc2 moves: motion detection has something to see.
    assert.ok(grey.some((f, i) => i > 0 && Buffer.compare(Buffer.from(f.data), Buffer.from(grey[i - 1]!.data)) !== 0));
  });

  it('reconnects with backoff when the RTSP server goes away and comes back, the camera left running', { timeout: 30_000 }, async () => {
    const mark = states.length;
    const { source } = pipeline.pids;
    const restarts = pipeline.stats.restarts;
    await receiver.kill();
    await waitState(mark, 'backing-off');
    await new Promise((r) => setTimeout(r, 2500));
    receiver.start();
    await receiver.waitListening();
    const back = states.length;
    await waitState(back, 'streaming');
    await receiver.waitForFrames(15);
    const starts = since(mark, 'starting');
    // 2.5 s of outage at 200 ms doubling up to 1 s: a handful of attempts, not a tight loop.
    assert.ok(starts.length >= 2 && starts.length <= 8, `${starts.length} relay starts`);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i]!.at - starts[i - 1]!.at >= 100, 'attempts are spaced out');
    assert.match(since(mark, 'backing-off')[0]!.detail ?? '', /relay exited with code \d+.*retrying in/);
    assert.equal(pipeline.pids.source, source, `the source was not restarted: ${JSON.stringify(states.slice(mark))}`);
    assert.ok(pipeline.stats.restarts > restarts);
    assert.ok(pipeline.stats.lastError?.startsWith('relay'));
  });

  it('restarts everything when the camera stalls', { timeout: 30_000 }, async () => {
    const mark = states.length;
    const { source } = pipeline.pids;
    const restarts = pipeline.stats.restarts;
    process.kill(source!, 'SIGUSR1');
    await waitState(mark, 'stalled', 10_000);
    await waitFor('the stalled source to end', async () => (gone(source!) ? true : undefined));
    await waitState(
      states.findIndex((s, i) => i >= mark && s.state === 'stalled'),
      'streaming',
    );
    assert.notEqual(pipeline.pids.source, source);
    assert.ok(pipeline.stats.restarts > restarts);
    assert.match(pipeline.stats.lastError ?? '', /no new frame/);
    const order = since(mark, 'stalled')
      .concat(since(mark, 'backing-off'), since(mark, 'streaming'))
      .map((s) => s.at);
    assert.ok(order[0]! <= order[1]! && order[1]! <= order[2]!, 'stalled, then backing off, then streaming');
  });

  it('stop() ends every process, and is safe to call twice', { timeout: 20_000 }, async () => {
    const leaders = Object.values(pipeline.pids).filter((p): p is number => p !== undefined);
    assert.equal(leaders.length, 3, 'source, relay and analyser');
    const all = [...new Set(leaders.flatMap((pid) => [pid, ...groupMembers(pid)]))];
    assert.ok(groupMembers(pipeline.pids.source!).length >= 2, 'the fake rpicam-vid runs its own ffmpeg, in its group');
    await Promise.all([pipeline.stop(), pipeline.stop()]);
    for (const pid of all) assert.ok(gone(pid), `process ${pid} is still running`);
    assert.equal(pipeline.stats.state, 'stopped');
    await pipeline.stop();
  });

  it('the testsrc source streams a still pattern through the same relay, again after restart()', { timeout: 30_000 }, async () => {
    receiver.start();
    const test = new Pipeline({ ...cfg, source: 'testsrc', pattern: 'static', analysis: undefined }, { graceMs: 2000 });
    try {
      for (const begin of [async () => test.start(), () => test.restart()]) {
        const before = receiver.totalFrames;
        await begin();
        await waitFor('testsrc streaming', async () => (test.stats.state === 'streaming' ? true : undefined));
        await waitFor('frames from testsrc', async () => (receiver.totalFrames > before + 10 ? true : undefined));
      }
    } finally {
      await test.stop();
    }
  });
});
