/**
 * Camera case of `npm run bench`: the rpicam-rtsp pipeline (ffmpeg's test
 * pattern as the camera) publishing to a real ffmpeg RTSP receiver.
 *   - time from start to the first frame at the receiver;
 *   - CPU of the relay per stream (copy only), beside a baseline relay that
 *     re-encodes (what a pipeline without `-c copy` would cost the Pi);
 *   - time from a receiver restart to streaming again.
 * Runs alone: `node --import tsx bench/camera.ts`.
 */
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { sourceCommand } from '../nodes/lib/camera/commands';
import { Pipeline } from '../nodes/lib/camera/pipeline';
import type { StreamConfig } from '../nodes/lib/camera/types';
import { RtspReceiver } from '../test/support/rtsp-receiver';
import { tempDir } from '../test/support/tmp';
import { freePort } from '../test/support/ports';
import { ffmpegInstalled } from '../nodes/lib/child-process';
import { cpuSeconds, sleep, until } from './proc';

const SIZE = { width: 1280, height: 720, framerate: 15 };
const MEASURE_S = Number(process.env.BENCH_CAMERA_S ?? 10);

function config(url: string): StreamConfig {
  return {
    source: 'testsrc',
    rtspUrl: url,
    ...SIZE,
    bitrate: 2_000_000,
    keyframeInterval: 30,
    rotation: 0,
    hflip: false,
    vflip: false,
    lowLatency: true,
    rpicamPath: 'rpicam-vid',
    ffmpegPath: 'ffmpeg',
    v4l2Device: '/dev/video0',
    v4l2Encoder: 'libx264',
    stallTimeoutMs: 10_000,
    backoff: { baseMs: 500, maxMs: 5000 },
  };
}

interface Result {
  firstFrameMs: number;
  relayCpuPercent: number;
  recoveryMs?: number;
}

/** The relay as rpicam-rtsp runs it: the camera's H.264 copied, never decoded. */
async function ours(): Promise<Result> {
  const dir = tempDir('picam-bench-camera-');
  const receiver = new RtspReceiver({ port: await freePort(), path: 'bench', dir });
  receiver.start();
  await receiver.waitListening();
  const pipeline = new Pipeline(config(receiver.url));
  try {
    const t0 = Date.now();
    pipeline.start();
    await until('the first frame at the receiver', () => receiver.totalFrames > 0);
    const firstFrameMs = Date.now() - t0;
    await sleep(2000); // past the start-up
    const relayCpuPercent = await cpuPercent(pipeline.pids.relay!);
    await receiver.kill();
    await sleep(3000); // the relay notices and backs off
    const before = receiver.totalFrames;
    receiver.start();
    await receiver.waitListening();
    const r0 = Date.now();
    await until('frames again after the restart', () => receiver.totalFrames > before);
    return { firstFrameMs, relayCpuPercent, recoveryMs: Date.now() - r0 };
  } finally {
    await pipeline.stop();
    await receiver.stop();
  }
}

/** The baseline: the same camera stream through a relay that decodes and encodes again (no `-c copy`). */
async function reencoding(): Promise<Result> {
  const dir = tempDir('picam-bench-camera-');
  const receiver = new RtspReceiver({ port: await freePort(), path: 'bench', dir });
  receiver.start();
  await receiver.waitListening();
  const src = sourceCommand(config(receiver.url));
  const source = spawn(src.command, src.args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const relayArgs = ['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-framerate', String(SIZE.framerate), '-i', 'pipe:0'];
  relayArgs.push(
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-b:v',
    '2M',
    '-f',
    'rtsp',
    '-rtsp_transport',
    'tcp',
    receiver.url,
  );
  const relay = spawn('ffmpeg', relayArgs, { stdio: ['pipe', 'ignore', 'ignore'] });
  source.stdout.pipe(relay.stdin);
  relay.stdin.on('error', () => undefined); // the relay ends first at the stop below
  try {
    const t0 = Date.now();
    await until('the first frame at the receiver', () => receiver.totalFrames > 0);
    const firstFrameMs = Date.now() - t0;
    await sleep(2000);
    return { firstFrameMs, relayCpuPercent: await cpuPercent(relay.pid!) };
  } finally {
    relay.kill('SIGKILL');
    source.kill('SIGKILL');
    await receiver.stop();
  }
}

async function cpuPercent(pid: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const w0 = Date.now();
  await sleep(MEASURE_S * 1000);
  return ((cpuSeconds(pid) - c0) / ((Date.now() - w0) / 1000)) * 100;
}

async function main() {
  if (!ffmpegInstalled()) {
    console.log('camera case skipped: ffmpeg is not installed (apt-get install ffmpeg)');
    return;
  }
  console.log(
    `camera: ${SIZE.width}x${SIZE.height} @ ${SIZE.framerate} fps test pattern → ffmpeg RTSP receiver, ${MEASURE_S} s of CPU measurement…`,
  );
  const copy = await ours();
  const baseline = await reencoding();
  const cpu = cpus();
  console.log(`machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}\n`);
  console.log('| relay | start → first frame at receiver ms | relay CPU % of one core | receiver restart → streaming again ms |');
  console.log('|---|---:|---:|---:|');
  console.log(`| picam-guardian (copy) | ${copy.firstFrameMs} | ${copy.relayCpuPercent.toFixed(1)} | ${copy.recoveryMs} |`);
  console.log(
    `| baseline: re-encoding relay (libx264 ultrafast) | ${baseline.firstFrameMs} | ${baseline.relayCpuPercent.toFixed(1)} | – |`,
  );
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
