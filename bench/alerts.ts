/**
 * npm run bench, alert case: 100 cameras start activity at once.
 *
 * In this process: two fake Bot APIs (test/support/fake-telegram.ts) that
 * enforce Telegram's limits (a breach costs a 429, as in reality), one MQTT
 * client per camera, and seed 004's notifier. In a child process: the cloud
 * runtime with flows/cloud.json and its embedded broker, Telegram configured
 * through the environment (bench/alerts-runtime.ts).
 *
 *   1. setup: each camera connects and reports mode ARMED; wait until the API
 *      lists all 100 as connected and armed, and until their "back online"
 *      alerts have been delivered and the chat has been quiet for 1.5 s
 *   2. burst: all 100 publish activity/start (QoS 1) at once; each publish
 *      time is noted
 *   3. picam-guardian: an alert's latency is when the fake received the first
 *      message naming that camera (a digest names many) minus its publish time
 *   4. seed 004, simulated faithfully: it gets the same 100 publishes from the
 *      same broker (its own subscription), waits a fixed 4 s per event, then
 *      calls sendMessage once with no rate limiting and no retry; a refused
 *      call is a lost alert
 *
 * Alone: `npm run build && node --import tsx bench/alerts.ts` (the runtime
 * loads the nodes from dist/).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Api, TelegramApiError } from 'node-telegram-bot-api';
import { FLOWS_DIR } from '../cli/runtime/runtime';
import { packageRoot } from '../cli/flows/package-root';
import { FakeTelegram, type SentMessage } from '../test/support/fake-telegram';
import { ask } from './ipc';

const CAMERAS = 100;
/** one private chat */
const CHAT = 4242;
/** seed 004: "Activity start → wait 4 seconds for thumbnail → send Telegram notification" */
const SEED_WAIT_MS = 4000;
/** the whole case, setup to cleanup; it normally takes about 20 s */
const LIMIT_MS = Number(process.env.BENCH_ALERTS_LIMIT_S ?? 60) * 1000;
/** how long the burst may take to be delivered before the rest counts as never */
const DELIVERY_LIMIT_MS = 20_000;

/** VBC01 ids are 32 upper-case hex digits: "BE0C" and the camera's number */
const cameraId = (i: number) => `BE0C${String(i).padStart(28, '0')}`;
/** camera ids in a message's text; no name is given, so the alerts name cameras by id */
const CAMERA_IN_TEXT = /BE0C\d{28}/g;
const topic = {
  connection: (id: string) => `prod/device/connection/hive-cam/${id}`,
  state: (id: string) => `prod/device/message/hive-cam/${id}/camera/state`,
  start: (id: string) => `prod/device/message/hive-cam/${id}/activity/start`,
};

interface Row {
  name: string;
  /** per camera: delivery minus publish, ms; Infinity = never delivered */
  latencies: number[];
  /** first publish → last camera named; undefined if some never were */
  allDeliveredMs?: number;
  messages: number;
  http429: number;
  violations: number;
  lost?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Ports nobody listens on right now (held together, so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((ok, fail) => {
          const s = createServer();
          s.once('error', fail);
          s.listen(0, '127.0.0.1', () => ok(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** When each camera was first named in `messages` (the fake's receive time). */
function firstNamed(messages: SentMessage[]): Map<string, number> {
  const at = new Map<string, number>();
  for (const m of messages) {
    for (const id of (m.plain ?? m.text ?? '').match(CAMERA_IN_TEXT) ?? []) if (!at.has(id)) at.set(id, m.atMs);
  }
  return at;
}

/** Nearest rank: with 100 samples p50 is the 50th and p99 the 99th smallest. */
const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);
const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'never' : String(Math.round(v)));

/** Everything the case started, so it can all be stopped whatever happened. */
const started: {
  fakes: FakeTelegram[];
  clients: MqttClient[];
  runtime?: ChildProcess;
  dir?: string;
} = { fakes: [], clients: [] };

async function cleanup(): Promise<void> {
  await Promise.allSettled(started.clients.map((c) => c.endAsync(true)));
  const runtime = started.runtime;
  if (runtime && runtime.exitCode === null && runtime.signalCode === null) {
    const exited = new Promise((r) => runtime.once('exit', r));
    if (runtime.connected) runtime.send({ cmd: 'stop' });
    const kill = setTimeout(() => {
      console.error('alerts: the runtime did not stop within 15 s; killing it');
      runtime.kill('SIGKILL');
    }, 15_000);
    await exited;
    clearTimeout(kill);
  }
  await Promise.allSettled(started.fakes.map((f) => f.stop()));
  if (started.dir) rmSync(started.dir, { recursive: true, force: true });
}

async function run(): Promise<{ rows: Row[]; notes: string[] }> {
  if (!existsSync(join(packageRoot(), 'dist', 'nodes'))) throw new Error('dist/ is missing: run `npm run build` first');
  const ours = await FakeTelegram.start({ enforceLimits: true });
  started.fakes.push(ours);
  const seedFake = await FakeTelegram.start({ enforceLimits: true });
  started.fakes.push(seedFake);

  // ---- the cloud runtime, as the ingest case starts it, with Telegram configured ----
  const dir = mkdtempSync(join(tmpdir(), 'bench-alerts-'));
  started.dir = dir;
  const [httpPort, mqttPort, wsPort] = (await freePorts(3)) as [number, number, number];
  const runtime = fork(
    join(__dirname, 'alerts-runtime.ts'),
    [
      JSON.stringify({
        flowFile: join(FLOWS_DIR, 'cloud.json'),
        dataDir: dir,
        dbFile: join(dir, 'events.db'),
        httpPort,
        mqttPort,
        wsPort,
        alertNode: 'cloud.telegram',
      }),
    ],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        TELEGRAM_BOT_TOKEN: ours.token,
        TELEGRAM_API_ROOT: ours.url,
        TELEGRAM_CHAT_IDS: String(CHAT),
        PICAM_TIME_ZONE: 'UTC',
      },
    },
  );
  started.runtime = runtime;
  await ask(runtime, {}, (m) => m.ready);

  // ---- one MQTT client per camera, and seed 004's subscription, on the runtime's broker ----
  const url = `mqtt://127.0.0.1:${mqttPort}`;
  const connect = (clientId: string) => mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: 5000 });
  let first: MqttClient | undefined;
  await waitFor('the broker', async () => (first = await connect(cameraId(0)).catch(() => undefined)) !== undefined, 15_000, 200);
  started.clients.push(first!);
  const cams = [first!, ...(await Promise.all(Array.from({ length: CAMERAS - 1 }, (_, i) => connect(cameraId(i + 1)))))];
  started.clients.push(...cams.slice(1));
  // Seed 004's processor reads every device, as a runtime does: a runtime's reserved client id, over TCP from this machine.
  const seedClient = await connect('picam-guardian-bench-seed004');
  started.clients.push(seedClient);

  // ---- setup: 100 known, armed cameras ----
  const setupAt = Date.now();
  await Promise.all(
    cams.map((c, i) =>
      c.publishAsync(
        topic.connection(cameraId(i)),
        JSON.stringify({
          status: 'connected',
          timestamp: Date.now(),
          device: { softwareVersion: 'V0_0_00_117RC_svn1356', hardwareVersion: 'VBC01', serialNumber: `SN${100000 + i}` },
          ipAddress: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        }),
        { qos: 1 },
      ),
    ),
  );
  await Promise.all(cams.map((c, i) => c.publishAsync(topic.state(cameraId(i)), JSON.stringify({ mode: 'ARMED' }), { qos: 1 })));
  let stored = 0;
  await waitFor(
    '100 cameras stored as connected and ARMED (GET /api/cameras)',
    async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/api/cameras`).catch(() => undefined);
      if (!res?.ok) return false;
      const { cameras } = (await res.json()) as { cameras: Array<{ camera_id: string; status: string; connection_status: string }> };
      stored = cameras.filter((c) => c.camera_id.startsWith('BE0C') && c.status === 'ARMED' && c.connection_status === 'connected').length;
      return stored === CAMERAS;
    },
    20_000,
    100,
  );
  // Connecting raised 100 "back online" alerts: let them go out first (they warm up the alert path
  // too), then leave the chat quiet long enough that Telegram's one-a-second limit is clear.
  await waitFor('the 100 "back online" alerts', () => firstNamed(ours.sent(CHAT)).size === CAMERAS, 20_000);
  await waitFor('a quiet chat', () => Date.now() - (ours.sent(CHAT).at(-1)?.atMs ?? 0) >= 1500, 5000);
  const setup = {
    ms: Date.now() - setupAt,
    messages: ours.sent(CHAT).length,
    http429: ours.calls.filter((c) => c.status === 429).length,
    violations: ours.violations.length,
  };

  // ---- seed 004's notifier: same broker, same publishes ----
  const seedApi = new Api(seedFake.token, { apiRoot: seedFake.url, maxRetries: 0, timeoutMs: 10_000 });
  const seedReceived = new Map<string, number>();
  const seedOutcomes: Array<Promise<{ id: string; error?: string }>> = [];
  await seedClient.subscribeAsync('prod/device/message/hive-cam/+/activity/start', { qos: 1 });
  seedClient.on('message', (t, payload) => {
    const id = t.split('/')[4]!;
    seedReceived.set(id, Date.now());
    const event = JSON.parse(payload.toString()) as { eventId: string; activityType: string; timestamp: number };
    seedOutcomes.push(
      sleep(SEED_WAIT_MS).then(() =>
        seedApi
          .sendMessage({
            chat_id: CHAT,
            text: `[alert] Motion Detected - ${id}\n[time] ${new Date(event.timestamp).toISOString()}\n[id] Event ID: ${event.eventId}`,
          })
          .then(
            () => ({ id }),
            (err: unknown) => ({ id, error: err instanceof TelegramApiError ? `${err.errorCode}` : String(err) }),
          ),
      ),
    );
  });

  // ---- the burst ----
  const oursBefore = { messages: ours.sent(CHAT).length, calls: ours.calls.length, violations: ours.violations.length };
  const tag = Date.now().toString(36);
  const publishedAt = new Map<string, number>();
  const acks = cams.map((c, i) => {
    const id = cameraId(i);
    const now = Date.now();
    publishedAt.set(id, now);
    const event = {
      eventId: `evt_${tag}_${i}`,
      activityType: 'MOTION',
      timestamp: now,
      confidence: 0.85,
      region: { x: 1, y: 2, w: 3, h: 4 },
    };
    return c.publishAsync(topic.start(id), JSON.stringify(event), { qos: 1 });
  });
  const burstAt = Math.min(...publishedAt.values());
  await Promise.all(acks);

  const oursSent = () => ours.sent(CHAT).slice(oursBefore.messages);
  const oursDone = waitFor('picam-guardian to name all 100 cameras', () => firstNamed(oursSent()).size === CAMERAS, DELIVERY_LIMIT_MS).then(
    () => true,
    () => false,
  );
  const seedDone = waitFor("seed 004's 100 sends", () => seedOutcomes.length === CAMERAS, SEED_WAIT_MS + DELIVERY_LIMIT_MS).then(
    () => Promise.all(seedOutcomes).then(() => true),
    () => false,
  );
  const [oursComplete, seedComplete] = await Promise.all([oursDone, seedDone]);
  const { arrivals } = await ask<{ arrivals: Array<{ deviceId: string; atMs: number }> }>(
    runtime,
    { cmd: 'report' },
    (m) => 'arrivals' in m,
  );

  // ---- results ----
  const row = (name: string, named: Map<string, number>, fake: FakeTelegram, since: typeof oursBefore, messages: number): Row => {
    const latencies = [...publishedAt].map(([id, at]) => (named.has(id) ? named.get(id)! - at : Infinity)).sort((a, b) => a - b);
    return {
      name,
      latencies,
      allDeliveredMs: named.size === CAMERAS ? Math.max(...named.values()) - burstAt : undefined,
      messages,
      http429: fake.calls.slice(since.calls).filter((c) => c.status === 429).length,
      violations: fake.violations.length - since.violations,
    };
  };
  const oursRow = row('picam-guardian (outbox, digest)', firstNamed(oursSent()), ours, oursBefore, oursSent().length);
  oursRow.lost = CAMERAS - firstNamed(oursSent()).size;
  const seedOk = (await Promise.all(seedOutcomes)).filter((o) => !o.error).length;
  const seedRow = row(
    'seed 004 (fixed 4 s wait, no limiter, no retry)',
    firstNamed(seedFake.sent(CHAT)),
    seedFake,
    { messages: 0, calls: 0, violations: 0 },
    seedFake.sent(CHAT).length,
  );
  seedRow.lost = CAMERAS - seedOk;

  const delays = (at: Map<string, number> | Array<{ deviceId: string; atMs: number }>) => {
    const m = at instanceof Map ? at : new Map(at.map((a) => [a.deviceId, a.atMs]));
    const d = [...publishedAt].flatMap(([id, p]) => (m.has(id) ? [m.get(id)! - p] : [])).sort((a, b) => a - b);
    return `p50 ${ms(percentile(d, 50))} ms, max ${ms(d.at(-1))} ms (${d.length} of ${CAMERAS})`;
  };
  const seedErrors = new Map<string, number>();
  for (const o of await Promise.all(seedOutcomes)) if (o.error) seedErrors.set(o.error, (seedErrors.get(o.error) ?? 0) + 1);
  const notes = [
    `setup: ${stored} cameras stored, their "back online" alerts took ${setup.messages} Telegram messages (${setup.http429} 429s, ${setup.violations} violations); ${Math.round(setup.ms / 1000)} s`,
    `publish spread: ${Math.max(...publishedAt.values()) - burstAt} ms for ${CAMERAS} publishes`,
    `publish → telegram-alert node input (runtime): ${delays(arrivals)}`,
    `publish → seed 004's subscriber: ${delays(seedReceived)}`,
    `picam-guardian messages (alerts each): ${oursSent()
      .map((m) => (m.plain ?? '').match(CAMERA_IN_TEXT)?.length ?? 0)
      .join(', ')}`,
    `seed 004 refusals: ${[...seedErrors].map(([why, n]) => `${n} × ${why}`).join(', ') || 'none'}`,
  ];
  if (!oursComplete) notes.push(`picam-guardian did not deliver all ${CAMERAS} within ${DELIVERY_LIMIT_MS / 1000} s`);
  if (!seedComplete) notes.push(`seed 004's sends did not all finish within ${(SEED_WAIT_MS + DELIVERY_LIMIT_MS) / 1000} s`);
  return { rows: [oursRow, seedRow], notes };
}

async function main() {
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`alert case took longer than ${LIMIT_MS / 1000} s`)), LIMIT_MS);
  });
  let result: Awaited<ReturnType<typeof run>>;
  try {
    process.stdout.write('alerts: 100 cameras at once… ');
    const work = run();
    work.catch(() => undefined); // after a time-out its own failure is no news
    result = await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
  console.log('done');

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${process.platform}`;
  const lines = [
    `Alert benchmark: ${CAMERAS} armed cameras start activity at once (QoS 1), one private chat, fake Bot API enforcing Telegram's limits`,
    `machine: ${machine}`,
    '',
    '| notifier | first ms | p50 ms | p99 ms | max ms | all delivered after ms | Telegram messages | 429s | limit violations | lost |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map(
      (r) =>
        `| ${r.name} | ${ms(r.latencies[0])} | ${ms(percentile(r.latencies, 50))} | ${ms(percentile(r.latencies, 99))} | ${ms(r.latencies.at(-1))} | ${ms(r.allDeliveredMs)} | ${r.messages} | ${r.http429} | ${r.violations} | ${r.lost ?? 0} |`,
    ),
    '',
    'latency: publish of activity/start → the fake Bot API receiving the first message naming that camera; a lost alert counts as never',
    ...result.notes,
    `run took ${Math.round((Date.now() - startedAt) / 1000)} s`,
  ];
  console.log(`\n${lines.join('\n')}`);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    join(__dirname, 'results', 'alerts.json'),
    JSON.stringify(
      {
        machine,
        rows: result.rows.map((r) => ({ ...r, latencies: r.latencies.map((l) => (Number.isFinite(l) ? l : null)) })),
        notes: result.notes,
        at: new Date().toISOString(),
      },
      null,
      2,
    ),
  );
}

main().catch((err: Error) => {
  console.error(err);
  // Everything started is stopped by now; leftover poll loops must not keep a failed run alive.
  process.exit(1);
});
