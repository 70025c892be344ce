/**
 * Recording case (issue 19): the recorder (nodes/lib/recording/) recording 720p cameras from a
 * real RTSP server (GStreamer's, scripts/rtsp-test-camera.py: a moving test pattern, H.264, a key
 * frame every second), with a real SQLite index, for 1 and 4 cameras at once.
 *
 *   - CPU per recorded camera: the segmenting ffmpeg's CPU plus the runtime's (indexing, the
 *     events-mode clean-up), as a share of one core;
 *   - disk writes per camera: bytes of segments written per second (and ffmpeg's write_bytes);
 *   - clip ready: from the end of the post-roll to the clip's `clip/ready` (event of 3 s, the
 *     default 5 s pre-roll and 10 s post-roll, 2 s segments);
 *   - baseline, same stream: an ffmpeg that only pulls the stream (`-c copy -f null`), the cost of
 *     reading a camera at all.
 *
 * Targets on a 2-core machine: ≤ 2 % of a core per recorded camera; clip ready ≤ 5 s after the
 * post-roll ends. Runs alone: `node --import tsx bench/recording.ts` (BENCH_RECORD_S, default 30).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ffmpegInstalled } from '../nodes/lib/child-process';
import { CLIP_READY_TOPIC } from '../nodes/lib/contract/recordings';
import { RecorderService } from '../nodes/lib/recording/recorder-service';
import { EventStore } from '../nodes/lib/store/store';
import { concatScript, hiddenInputArgs } from '../nodes/lib/rtsp/rtsp-input';
import { RtspCamera, skipWithoutGstRtsp } from '../test/support/rtsp-camera';
import { tempDir } from '../test/support/tmp';
import { machine } from './machine';
import { cpuSeconds, sleep, until } from './proc';

const MEASURE_S = Number(process.env.BENCH_RECORD_S ?? 30);
const PRE_MS = 5000;
const POST_MS = 10_000;
const EVENT_MS = 3000;

/** Bytes a process wrote to storage, from /proc (0 once it is gone). */
function writeBytes(pid: number): number {
  try {
    const m = /write_bytes: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The segmenting ffmpegs' pids: children of this process whose command line has -segment_list. */
function segmenterPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('-segment_list')) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

interface CaseResult {
  cameras: number;
  ffmpegCorePct: number;
  runtimeCorePct: number;
  perCameraCorePct: number;
  segmentBytesPerS: number;
  ffmpegWriteBytesPerS: number;
  clipReadyMs: number[];
}

async function recordCase(camera: RtspCamera, cameras: number): Promise<CaseResult> {
  const dir = tempDir('bench-rec-');
  const store = await EventStore.open({ file: join(dir, 'events.db') });
  const ready = new Map<string, number>();
  const ids = Array.from({ length: cameras }, (_, i) => `cam-${i + 1}`);
  const input = {
    args: hiddenInputArgs(),
    stdin: concatScript({ url: camera.url('main'), username: camera.user, password: camera.password, transport: 'tcp' }),
  };
  let segmentBytes = 0;
  const service = new RecorderService({
    root: join(dir, 'recordings'),
    cameras: ids.map((cameraId) => ({ cameraId, mode: 'events' as const, input, where: 'bench' })),
    defaultMode: 'events',
    preRollMs: PRE_MS,
    postRollMs: POST_MS,
    maxClipMs: 300_000,
    segmentSeconds: 2,
    rules: { retainClipDays: 30, retainSegmentDays: 7, freePercent: 0, freeGB: 0 },
    store: store.recordings(),
    clipUrl: (c, e) => `/api/recordings/${c}/clips/${e}`,
    send: (topic, p) => topic === CLIP_READY_TOPIC && ready.set(p.cameraId, Date.now()),
    alert: () => undefined,
    log: () => undefined,
    warn: (t) => console.log(`  warn: ${t}`),
    changed: () => undefined,
  });
  const addSegment = service.addSegment.bind(service);
  service.addSegment = (seg) => {
    segmentBytes += seg.bytes;
    return addSegment(seg);
  };
  await service.start();
  await until('every camera recording', () => service.cameras().every((c) => c.running), 60_000);
  const pids = segmenterPids();
  // Measure: CPU and writes over the window.
  const cpu0 = pids.map(cpuSeconds);
  const io0 = pids.map(writeBytes);
  const self0 = process.cpuUsage();
  const bytes0 = segmentBytes;
  const t0 = Date.now();
  // An event on every camera in the middle of the window; its clip is timed below.
  await sleep(Math.max(0, (MEASURE_S * 1000) / 2 - EVENT_MS));
  const start = Date.now();
  for (const cameraId of ids)
    service.activity({
      kind: 'activity-start',
      deviceId: cameraId,
      deviceType: 'picam',
      timeMs: start,
      eventId: 'e1',
      activityType: 'MOTION',
    });
  await sleep(EVENT_MS);
  const end = Date.now();
  for (const cameraId of ids)
    service.activity({
      kind: 'activity-stop',
      deviceId: cameraId,
      deviceType: 'picam',
      timeMs: end,
      eventId: 'e1',
      activityType: 'MOTION',
      startMs: start,
    });
  await sleep(Math.max(0, t0 + MEASURE_S * 1000 - Date.now()));
  const seconds = (Date.now() - t0) / 1000;
  const ffmpegCpu = pids.reduce((n, p, i) => n + cpuSeconds(p) - cpu0[i]!, 0);
  const ffmpegIo = pids.reduce((n, p, i) => n + writeBytes(p) - io0[i]!, 0);
  const self = process.cpuUsage(self0);
  // The bench's own process also runs the store and the test camera's reader: an upper bound.
  const runtimeCpu = (self.user + self.system) / 1e6;
  await until('every clip ready', () => ready.size === ids.length, 60_000);
  const postRollEnd = end + POST_MS;
  const result: CaseResult = {
    cameras,
    ffmpegCorePct: (100 * ffmpegCpu) / seconds,
    runtimeCorePct: (100 * runtimeCpu) / seconds,
    perCameraCorePct: (100 * (ffmpegCpu + runtimeCpu)) / seconds / cameras,
    segmentBytesPerS: (segmentBytes - bytes0) / seconds / cameras,
    ffmpegWriteBytesPerS: ffmpegIo / seconds / cameras,
    clipReadyMs: ids.map((id) => ready.get(id)! - postRollEnd),
  };
  await service.close();
  await store.close();
  return result;
}

/** The baseline: one ffmpeg that pulls the same stream and throws it away. */
async function pullOnly(camera: RtspCamera): Promise<number> {
  const p = spawn('ffmpeg', ['-v', 'error', ...hiddenInputArgs(), '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  p.stdin.end(concatScript({ url: camera.url('main'), username: camera.user, password: camera.password, transport: 'tcp' }));
  await sleep(3000);
  const c0 = cpuSeconds(p.pid!);
  const t0 = Date.now();
  await sleep(Math.min(MEASURE_S, 20) * 1000);
  const pct = (100 * (cpuSeconds(p.pid!) - c0)) / ((Date.now() - t0) / 1000);
  p.kill('SIGTERM');
  return pct;
}

async function main(): Promise<void> {
  if (!ffmpegInstalled() || skipWithoutGstRtsp) {
    console.log('recording bench skipped: needs ffmpeg and GStreamer’s RTSP server (scripts/install-test-deps.sh)');
    return;
  }
  console.log(
    `recording bench on ${machine()}; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const camera = new RtspCamera({ mainSize: '1280x720' });
  await camera.start();
  try {
    const baseline = await pullOnly(camera);
    console.log(`baseline (pull only, -c copy -f null): ${baseline.toFixed(2)} % of a core`);
    for (const n of [1, 4]) {
      const r = await recordCase(camera, n);
      const ms = r.clipReadyMs.map((x) => `${(x / 1000).toFixed(2)} s`).join(', ');
      console.log(
        `${n} camera${n > 1 ? 's' : ''}: ${r.perCameraCorePct.toFixed(2)} % of a core per camera ` +
          `(ffmpeg ${(r.ffmpegCorePct / n).toFixed(2)} %, runtime ${(r.runtimeCorePct / n).toFixed(2)} % each), ` +
          `segments ${(r.segmentBytesPerS / 1024).toFixed(0)} kB/s per camera (ffmpeg write_bytes ${(r.ffmpegWriteBytesPerS / 1024).toFixed(0)} kB/s), ` +
          `clip ready after the post-roll: ${ms}; load ${loadavg()[0]!.toFixed(1)}`,
      );
    }
  } finally {
    await camera.stop();
  }
}

void main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
