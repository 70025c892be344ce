/**
 * IP-camera case of `npm run bench`: four RTSP cameras (GStreamer's RTSP server,
 * scripts/rtsp-test-camera.py, 640×360 at 10 fps) pulled and analysed at once by
 * the ipcam pipeline (IpCamera → the shared Camera: ffmpeg copying the stream,
 * ffmpeg decoding it for MJPEG at 5 fps and motion at 5 fps).
 *   - time from adding a camera (check included) to its first MJPEG frame;
 *   - CPU per camera of the pull (copy) and of the analyser;
 *   - CPU per camera of the live relay a Pi runs for a camera on its LAN while someone watches
 *     (live-relay.ts: the main stream copied to an RTSP server, here ffmpeg listening as MediaMTX would);
 *   - time from a camera coming back (its server restarted) to frames again.
 * Targets (2-core machine): analyser ≤ 3 % of a core per camera at 5 fps, pull and relay ≤ 1 %,
 * first frame ≤ 3 s. Runs alone: `node --import tsx bench/ipcam.ts`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { ffmpegInstalled } from '../nodes/lib/child-process';
import { cpuSeconds, sleep, until } from './proc';
import { IpCamera, type IpCameraConfig } from '../nodes/ipcam/ip-camera';
import { LiveRelay } from '../nodes/ipcam/live-relay';
import { freePort } from '../test/support/ports';
import { RtspCamera, skipWithoutGstRtsp } from '../test/support/rtsp-camera';
import { RtspReceiver } from '../test/support/rtsp-receiver';
import { tempDir } from '../test/support/tmp';

const CAMERAS = Number(process.env.BENCH_IPCAMS ?? 4);
const MEASURE_S = Number(process.env.BENCH_IPCAM_S ?? 10);
/** This process's ffmpeg children, by role: the pull and the relay read the ffconcat script (the relay publishes over RTSP), the analyser writes image2pipe. */
function ffmpegs(): { pull: number[]; analyser: number[]; relay: number[] } {
  const rows = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout.split('\n');
  const out = { pull: [] as number[], analyser: [] as number[], relay: [] as number[] };
  for (const r of rows) {
    const [pid, ppid, ...args] = r.trim().split(/\s+/);
    if (Number(ppid) !== process.pid || !args[0]?.includes('ffmpeg')) continue;
    const line = args.join(' ');
    if (line.includes('image2pipe')) out.analyser.push(Number(pid));
    else if (line.includes('concat') && line.includes('-f rtsp')) out.relay.push(Number(pid));
    else if (line.includes('concat')) out.pull.push(Number(pid));
  }
  return out;
}

function config(i: number, server: RtspCamera): IpCameraConfig {
  const input = (path: string) => ({ url: server.url(path), username: server.user, password: server.password, transport: 'tcp' as const });
  return {
    id: `bench-${i}`,
    name: `bench ${i}`,
    // the 640×360 stream is the one analysed, as a camera's sub stream would be
    sub: input('main'),
    mode: 'ARMED',
    motion: { on: true },
    snapshotEveryMs: 0,
    jpegFps: 5,
    jpegWidth: 640,
    prefix: 'prod',
    heartbeatMs: 30_000,
    ffmpegPath: 'ffmpeg',
    ffprobePath: 'ffprobe',
    backoff: { baseMs: 250, maxMs: 2000 },
    stallTimeoutMs: 5000,
  };
}

async function main(): Promise<void> {
  if (!ffmpegInstalled() || skipWithoutGstRtsp) {
    console.log(`ipcam case skipped: ${skipWithoutGstRtsp || 'ffmpeg is not installed'} (scripts/install-test-deps.sh)`);
    return;
  }
  const servers = Array.from({ length: CAMERAS }, () => new RtspCamera());
  await Promise.all(servers.map((s) => s.start()));
  // A real camera encodes whether anyone watches; GStreamer's shared test camera starts its encoder
  // for its first client. One reader per camera keeps it encoding, as a real one would be, so the
  // first-frame time measures our start and not the test camera's.
  const readers = servers.map((s) =>
    spawn(
      'ffmpeg',
      [
        '-v',
        'quiet',
        '-rtsp_transport',
        'tcp',
        '-i',
        s.url('main').replace('rtsp://', `rtsp://${s.user}:${s.password}@`),
        '-c',
        'copy',
        '-f',
        'null',
        '-',
      ],
      {
        stdio: 'ignore',
      },
    ),
  );
  await sleep(2000);
  const cams = servers.map(
    (s, i) =>
      new IpCamera(config(i, s), { message: () => undefined, snapshot: () => undefined, state: () => undefined, problem: () => undefined }),
  );
  try {
    const firstFrameMs: number[] = [];
    await Promise.all(
      cams.map(async (c) => {
        const t0 = Date.now();
        c.start();
        await until('first frame', () => (c.preview?.stats.frames ?? 0) > 0);
        firstFrameMs.push(Date.now() - t0);
      }),
    );
    const pids = ffmpegs();
    const all = [...pids.pull, ...pids.analyser];
    const before = new Map(all.map((p) => [p, cpuSeconds(p)]));
    await sleep(MEASURE_S * 1000);
    const used = (list: number[]) => list.reduce((sum, p) => sum + cpuSeconds(p) - (before.get(p) ?? 0), 0);
    const pullPct = (100 * used(pids.pull)) / MEASURE_S / CAMERAS;
    const analyserPct = (100 * used(pids.analyser)) / MEASURE_S / CAMERAS;
    const relayPct = await relayCpu(servers);

    // One camera goes away and comes back: time from its server listening again to frames again.
    const c0 = cams[0]!;
    await servers[0]!.kill();
    await until('reconnecting', () => c0.state.state === 'reconnecting');
    await servers[0]!.start();
    const back = Date.now();
    const framesBefore = c0.preview?.stats.frames ?? 0;
    await until('frames again', () => (c0.preview?.stats.frames ?? 0) > framesBefore);
    const recoveryMs = Date.now() - back;

    const cpu = cpus();
    const median = [...firstFrameMs].sort((a, b) => a - b)[Math.floor(firstFrameMs.length / 2)]!;
    console.log(`machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}\n`);
    console.log(`IP cameras: ${CAMERAS} at once, 640×360 at 10 fps analysed at 5 fps, CPU over ${MEASURE_S} s\n`);
    console.log('| measure | value | target |');
    console.log('|---|---:|---:|');
    console.log(
      `| add → first MJPEG frame (median of ${CAMERAS}, check included) | ${median} ms (max ${Math.max(...firstFrameMs)}) | ≤ 3000 ms |`,
    );
    console.log(`| pull (RTSP copy) CPU per camera | ${pullPct.toFixed(1)} % of a core | ≤ 1 % |`);
    console.log(`| analyser CPU per camera | ${analyserPct.toFixed(1)} % of a core | ≤ 3 % |`);
    console.log(`| live relay (Pi → RTSP server, copy) CPU per camera | ${relayPct.toFixed(1)} % of a core | ≤ 1 % |`);
    console.log(`| camera back → frames back (backoff base 250 ms) | ${recoveryMs} ms | — |`);
  } finally {
    await Promise.all(cams.map((c) => c.close()));
    for (const r of readers) r.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Every camera relayed at once, as a Pi does while someone watches (each to its own receiver): CPU per relay. */
async function relayCpu(servers: RtspCamera[]): Promise<number> {
  const receivers: RtspReceiver[] = [];
  const relays: LiveRelay[] = [];
  try {
    for (const [i, s] of servers.entries()) {
      const receiver = new RtspReceiver({ port: await freePort(), path: `pi-1.bench-${i}`, dir: tempDir('bench-relay-') });
      receiver.start();
      await receiver.waitListening();
      receivers.push(receiver);
      const input = { url: s.url('main'), username: s.user, password: s.password, transport: 'tcp' as const };
      const relay = new LiveRelay(
        { input, target: { url: receiver.url }, ffmpegPath: 'ffmpeg', backoff: { baseMs: 250, maxMs: 2000 } },
        { state: () => undefined },
      );
      relay.request(600);
      relays.push(relay);
    }
    await Promise.all(receivers.map((r) => r.waitForFrames(10, 30_000)));
    const pids = ffmpegs().relay;
    const before = new Map(pids.map((p) => [p, cpuSeconds(p)]));
    await sleep(MEASURE_S * 1000);
    const used = pids.reduce((sum, p) => sum + cpuSeconds(p) - (before.get(p) ?? 0), 0);
    return (100 * used) / MEASURE_S / servers.length;
  } finally {
    await Promise.all(relays.map((r) => r.close()));
    await Promise.all(receivers.map((r) => r.stop()));
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exitCode = 1;
});
