/**
 * npm run bench, fleet case: thousands of devices on one broker (issue 18, item 4).
 *
 * For 1,000 and 5,000 devices, each broker:
 *   embedded   flows/cloud.json with its picam-broker (aedes), as the cloud role runs it
 *   mosquitto  a real Mosquitto with the shipped settings in front, the runtime in
 *              external mode (PICAM_MQTT_BROKER=external): the side-by-side baseline
 * Devices are real MQTT.js connections behaving like Pis (bench/fleet-publisher.ts:
 * retained online message and Last Will, a QoS 1 subscription to their commands, a
 * reading every 2 s, a heartbeat every 30 s), 1,000 per publisher process.
 *
 *   steady state  after a warm-up, FLEET_MEASURE_S seconds of publish→commit
 *                 latency (p50/p99) and the peak RSS of the runtime (plus
 *                 Mosquitto's, when it is in front)
 *   storm         every socket dropped at once (the broker publishes 5,000 wills),
 *                 then every device reconnects at once: the time until all are
 *                 connected, subscribed and its online message committed, and the CPU
 *                 seconds the runtime (and Mosquitto) spent on it
 * FLEET_SIZES=1000,5000 and FLEET_BROKERS=embedded,mosquitto choose the cases;
 * FLEET_HEAP_SNAPSHOT=1 writes the runtime's heap after the steady state (where its RSS goes).
 * The runtime needs a file descriptor per device: the shell's `ulimit -n` (20,000
 * here) must exceed the largest size; the bench checks and says so.
 */
import type { ChildProcess } from 'node:child_process';
import { execSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { MOSQUITTO, shippedMosquittoConfig, startMosquitto } from '../test/support/mosquitto';
import { freePort } from '../test/support/ports';
import { BenchRuntime, mb } from './acked';
import { ask, startChild } from './ipc';
import { machine } from './machine';
import { cpuSeconds, sleep } from './proc';

const SIZES = (process.env.FLEET_SIZES ?? '1000,5000').split(',').map(Number);
const BROKERS = (process.env.FLEET_BROKERS ?? 'embedded,mosquitto').split(',') as BrokerKind[];
const WARMUP_S = Number(process.env.FLEET_WARMUP_S ?? 20);
const MEASURE_S = Number(process.env.FLEET_MEASURE_S ?? 20);
const PER_PROCESS = 1000;
const STORM_LIMIT_S = Number(process.env.FLEET_STORM_LIMIT_S ?? 60);
const LOGIN = { username: 'picam-bench', password: 'bench-only-password' };

type BrokerKind = 'embedded' | 'mosquitto';

interface FleetResult {
  broker: BrokerKind;
  devices: number;
  /** readings and heartbeats the devices published per second (~N/2 + N/30 when they keep up) */
  offeredPerS: number;
  msgPerS: number;
  /** CPU time of the runtime (and Mosquitto) per committed message in the steady state (what a loaded machine shifts least) */
  cpuUsPerMsg: number;
  p50: number;
  p99: number;
  samples: number;
  /** peak RSS: the runtime, and Mosquitto's when in front */
  runtimeRssMb: number;
  mosquittoRssMb: number;
  /** until every device was back; NaN if not within STORM_LIMIT_S (then stormBack says how many were) */
  stormMs: number;
  stormBack: number;
  /** SYNs dropped on full listen queues during the storm (machine-wide: other processes' count too) */
  stormSynDrops: number;
  stormCpuS: number;
  connectS: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

/** VmRSS of a process in bytes; 0 once it is gone. */
function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * SYNs the kernel dropped because a listen queue was full, machine-wide (/proc/net/netstat
 * ListenDrops): a device whose SYN is dropped retries 1, 3, 7 s later, which is what a storm
 * larger than the accept queue (net.core.somaxconn) looks like from outside.
 */
function listenDrops(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const names = lines.find((l) => l.startsWith('TcpExt:'))!.split(' ');
    const values = lines.filter((l) => l.startsWith('TcpExt:'))[1]!.split(' ');
    return Number(values[names.indexOf('ListenDrops')] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Publishes a probe reading until the runtime stores one (with Mosquitto: once its session is subscribed). */
async function untilStoring(url: string, login: object, runtime: BenchRuntime): Promise<void> {
  const until = Date.now() + 30_000;
  let probe: mqtt.MqttClient | undefined;
  while (!probe) {
    probe = await mqtt.connectAsync(url, { clientId: 'fltprobe', reconnectPeriod: 0, ...login }).catch(() => undefined);
    if (!probe && Date.now() > until) throw new Error(`no broker at ${url} within 30 s`);
    if (!probe) await sleep(200);
  }
  try {
    while ((await runtime.committed()) === 0) {
      if (Date.now() > until) throw new Error('the runtime stored nothing within 30 s');
      const payload = JSON.stringify({ temperature: 20, humidity: 40, pressure: 1000, timestamp: Date.now() });
      await probe.publishAsync('prod/device/message/picam/fltprobe/sensors/environment', payload, { qos: 1 });
      await sleep(200);
    }
  } finally {
    await probe.endAsync();
  }
}

const log = (what: string) => process.stderr.write(`  ${new Date().toISOString().slice(11, 19)} ${what}\n`);
/** Every device reconnects at once: ms until all are back, or how many were after STORM_LIMIT_S. */
async function stormOf(publishers: ChildProcess[], devices: number): Promise<{ ms: number; back: number }> {
  const progress = new Map<ChildProcess, { connected: number; back: number }>();
  const done = new Map<ChildProcess, number>();
  const listeners = publishers.map((p) => {
    const on = (m: { storm?: { connected: number; back: number }; reconnected?: number }) => {
      if (m.storm) progress.set(p, m.storm);
      if (m.reconnected !== undefined) done.set(p, m.reconnected);
    };
    p.on('message', on);
    return () => p.off('message', on);
  });
  send(publishers, { cmd: 'reconnect' });
  const until = Date.now() + STORM_LIMIT_S * 1000;
  let shown = '';
  while (done.size < publishers.length && Date.now() < until) {
    await sleep(100);
    const sum = (k: 'connected' | 'back') => [...progress.values()].reduce((n, s) => n + s[k], 0);
    const now = `storm: ${sum('connected')} connected, ${sum('back')} of ${devices} back`;
    if (now !== shown && Date.now() % 5000 < 100) log((shown = now));
  }
  listeners.forEach((off) => off());
  if (done.size === publishers.length) return { ms: Math.max(...done.values()), back: devices };
  return { ms: NaN, back: [...progress.values()].reduce((n, s) => n + s.back, 0) };
}

/** Waits (up to 60 s) until the runtime has committed nothing new for 2 s. */
async function untilSettled(runtime: BenchRuntime): Promise<void> {
  const until = Date.now() + 60_000;
  let last = -1;
  for (let now = await runtime.committed(); now !== last && Date.now() < until; now = await runtime.committed()) {
    last = now;
    await sleep(2000);
  }
}

const send = (procs: ChildProcess[], cmd: object) => procs.forEach((p) => p.send(cmd));

async function runCase(broker: BrokerKind, devices: number): Promise<FleetResult> {
  const dir = mkdtempSync(join(tmpdir(), `bench-fleet-${broker}-`));
  const dbFile = join(dir, 'events.db');
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  let mosquitto: ChildProcess | undefined;
  let env: Record<string, string> | undefined;
  if (broker === 'mosquitto') {
    // Started as root, Mosquitto drops to its own user, which must reach its configuration.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'mosquitto'));
    mosquitto = startMosquitto(join(dir, 'mosquitto'), ports.mqtt, LOGIN, shippedMosquittoConfig(ports.mqtt));
    env = { PICAM_MQTT_BROKER: 'external', MQTT_USERNAME: LOGIN.username, MQTT_PASSWORD: LOGIN.password };
  }
  const login = broker === 'mosquitto' ? LOGIN : {};
  const url = `mqtt://127.0.0.1:${ports.mqtt}`;
  const runtime = await BenchRuntime.start({ dataDir: dir, dbFile, ports, env });
  const publishers: ChildProcess[] = [];
  try {
    await untilStoring(url, login, runtime);
    const connecting = Date.now();
    for (let first = 0; first < devices; first += PER_PROCESS) {
      const count = Math.min(PER_PROCESS, devices - first);
      publishers.push(startChild('fleet-publisher.ts', [JSON.stringify({ url, first, count, ...login })]));
    }
    await Promise.all(publishers.map((p) => ask(p, {}, (m) => m.ready)));
    log(`${devices} connected`);
    const connectS = (Date.now() - connecting) / 1000;
    send(publishers, { cmd: 'start' });
    await sleep(WARMUP_S * 1000);

    // Steady state.
    let mosquittoPeak = 0;
    const sampler = setInterval(() => (mosquittoPeak = Math.max(mosquittoPeak, rssOf(mosquitto?.pid))), 200);
    const published = async () =>
      (await Promise.all(publishers.map((p) => ask<{ published: number }>(p, { cmd: 'published' }, (m) => 'published' in m)))).reduce(
        (n, r) => n + r.published,
        0,
      );
    const p0 = await published();
    const c0 = await runtime.committed();
    const brokerCpu = () => cpuSeconds(runtime.proc.pid!) + (mosquitto?.pid ? cpuSeconds(mosquitto.pid) : 0);
    const cpuMeasured0 = brokerCpu();
    runtime.proc.send({ cmd: 'sample' });
    await sleep(MEASURE_S * 1000);
    const report = await ask<{ latencies: number[]; committed: number }>(runtime.proc, { cmd: 'report' }, (m) => 'latencies' in m);
    clearInterval(sampler);
    const offered = (await published()) - p0;
    const cpuMeasured = brokerCpu() - cpuMeasured0;
    const { maxRss } = await runtime.rss();
    if (process.env.FLEET_HEAP_SNAPSHOT) log(`heap snapshot: ${await runtime.heapSnapshot()}`);
    const sorted = report.latencies.sort((a, b) => a - b);

    log('steady state measured; the storm');
    // The storm: every socket gone, then every device back at once.
    send(publishers, { cmd: 'drop' });
    // The broker notices the closed sockets and stores the wills; what the steady state left
    // queued is committed first, so the storm's CPU is the storm's alone.
    await untilSettled(runtime);
    const cpu0 = brokerCpu();
    const drops0 = listenDrops();
    const storm = await stormOf(publishers, devices);
    const stormCpuS = brokerCpu() - cpu0;
    const stormSynDrops = listenDrops() - drops0;
    return {
      broker,
      devices,
      offeredPerS: Math.round(offered / MEASURE_S),
      msgPerS: Math.round((report.committed - c0) / MEASURE_S),
      cpuUsPerMsg: Math.round((cpuMeasured * 1e6) / Math.max(1, report.committed - c0)),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      samples: sorted.length,
      runtimeRssMb: mb(maxRss),
      mosquittoRssMb: mb(mosquittoPeak),
      stormMs: storm.ms,
      stormBack: storm.back,
      stormSynDrops,
      stormCpuS: Math.round(stormCpuS * 10) / 10,
      connectS: Math.round(connectS * 10) / 10,
    };
  } finally {
    await Promise.all(
      publishers.map((p) => {
        const exited = new Promise((r) => p.once('exit', r));
        p.send({ cmd: 'stop' });
        const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
        return exited.then(() => clearTimeout(timer));
      }),
    );
    await runtime.stop();
    mosquitto?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The runtime (and Mosquitto) hold one descriptor per device. */
function checkDescriptors(): void {
  const limit = Number(execSync('ulimit -n', { shell: '/bin/bash' }).toString().trim());
  const need = Math.max(...SIZES) + 500;
  if (limit < need) throw new Error(`ulimit -n is ${limit}: the fleet case needs ${need}; run \`ulimit -n ${need}\` first`);
}

async function main() {
  checkDescriptors();
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  if (somaxconn < Math.max(...SIZES))
    console.log(`net.core.somaxconn is ${somaxconn}: a storm of more devices can overflow the accept queue (docs/install.md)`);
  const started = Date.now();
  const results: FleetResult[] = [];
  for (const devices of SIZES) {
    for (const broker of BROKERS) {
      if (broker === 'mosquitto' && !MOSQUITTO) {
        console.log('fleet (mosquitto): skipped, Mosquitto is not installed (scripts/install-test-deps.sh)');
        continue;
      }
      process.stdout.write(`fleet (${broker}, ${devices} devices)… `);
      const r = await runCase(broker, devices);
      results.push(r);
      console.log(`p99 ${r.p99} ms, RSS ${r.runtimeRssMb + r.mosquittoRssMb} MB, storm ${r.stormMs} ms`);
    }
  }
  const lines = [
    `Fleet case: Pis on one broker (QoS 1; a reading every 2 s, a heartbeat every 30 s; retained online message and Last Will; ${PER_PROCESS} devices per publisher process)`,
    `machine: ${machine()}`,
    '',
    '| broker | devices | published msg/s | committed msg/s | CPU µs/msg (runtime + Mosquitto) | p50 ms | p99 ms | peak RSS MB runtime | + Mosquitto | storm: all back ms | storm CPU s | storm SYNs dropped | connect s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.broker} | ${r.devices} | ${r.offeredPerS} | ${r.msgPerS} | ${r.cpuUsPerMsg} | ${r.p50} | ${r.p99} | ${r.runtimeRssMb} | ${r.broker === 'mosquitto' ? r.mosquittoRssMb : '–'} | ${Number.isNaN(r.stormMs) ? `not within ${STORM_LIMIT_S} s (${r.stormBack} back)` : r.stormMs} | ${r.stormCpuS} | ${r.stormSynDrops} | ${r.connectS} |`,
    ),
    '',
    'targets (embedded, 5,000 devices): p99 ≤ 100 ms, RSS ≤ 250 MB, storm ≤ 5,000 ms',
    `run took ${Math.round((Date.now() - started) / 1000)} s`,
  ];
  console.log(`\n${lines.join('\n')}`);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    join(__dirname, 'results', 'fleet.json'),
    JSON.stringify({ machine: machine(), results, at: new Date().toISOString() }, null, 2),
  );
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
