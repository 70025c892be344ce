/**
 * npm run bench, cluster case (issue 21; docs/cluster.md): the cluster role's ingest into
 * PostgreSQL through a 3-node RabbitMQ cluster and the real amqp-ingest path, with one and with
 * two runtimes, side by side with one box (embedded broker, SQLite) measured in the same run.
 *
 *   sustained    closed loop (at most BENCH_WINDOW = 5,000 messages beyond the committed count)
 *                for BENCH_CLUSTER_SUSTAIN_S (10) after 3 s of warm-up → committed rows/s
 *   latency      open loop at BENCH_CLUSTER_RATE (1,000 msg/s, or 80 % of the setup's sustained
 *                rate if lower) for BENCH_CLUSTER_LATENCY_S (10) → p50/p99 publish→commit
 *   kill -9      with two runtimes at that rate: a runtime, then (with a replacement running) a
 *                broker node (the first node of a runtime and of a third of the devices). Recovery:
 *                how long after the kill every message acknowledged before it is a row, and
 *                (broker node) every device is connected again
 *   lost         every acknowledged message of the setup's whole run against the rows
 *
 * 100 cameras publish activity starts, QoS 1; each event id `fl-<seq>` is unique and its device
 * timestamp is the send time, so one row is one message and the runtime measures publish→commit
 * when the store completes it (after COMMIT; amqp-ingest acknowledges RabbitMQ after that). The
 * runtimes run `flows/cloud.json` in bench/runtime-child.ts: the cluster role for PostgreSQL, the
 * demo role (its embedded broker and SQLite file) for one box. PostgreSQL runs with fsync on, as
 * SQLite runs with synchronous=FULL. Everything runs on this one machine: three Erlang VMs,
 * PostgreSQL, the runtimes and the publisher share its cores, so the cluster's figures are what
 * the arrangement costs on one machine, not what three machines would carry.
 *
 * Alone: `npm run build && node --import tsx bench/cluster.ts`. Skipped, with the reason, where
 * RabbitMQ or PostgreSQL is not installed (scripts/install-test-deps.sh installs both).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { cloudRoleEnv } from '../test/support/cli';
import { freePort } from '../test/support/ports';
import { skipWithoutPostgres, startPostgres, type PostgresServer } from '../test/support/postgres';
import { CAM, CLOUD } from '../test/support/rabbitmq-ingest-env';
import { RabbitCluster, shippedRabbitSettings, skipWithoutRabbitMQ } from '../test/support/rabbitmq';
import { BenchPublisher, BenchRuntime, countLoss, sleep } from './acked';
import { machine } from './machine';

const DEVICES = 100;
const RABBIT_NODES = 3;
const WARMUP_S = 3;
const SUSTAIN_S = Number(process.env.BENCH_CLUSTER_SUSTAIN_S ?? 10);
const LATENCY_S = Number(process.env.BENCH_CLUSTER_LATENCY_S ?? 10);
const RATE = Number(process.env.BENCH_CLUSTER_RATE ?? 1000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 5000);
/** publishing before each kill, and at least after it */
const BEFORE_KILL_S = 3;
const AFTER_KILL_S = 5;
const RECOVERY_LIMIT_MS = 120_000;

interface Throughput {
  setup: string;
  sustained: number;
  latencyRate: number;
  p50: number;
  p99: number;
  samples: number;
}

interface Recovery {
  killed: string;
  /** from the kill until every message acknowledged before it was a row */
  storedAfterMs: number;
  /** from the kill until every device was connected again (a broker node's devices reconnect) */
  reconnectedAfterMs?: number;
  /** publish→commit over the phase, the survivors' records (a resent message keeps its first send time) */
  p99: number;
  worst: number;
  /** publishes that ended in an error, not a PUBACK (in flight on a dying node's connection): the device knows to send again */
  failed: number;
}

interface Loss {
  setup: string;
  /** published and never acknowledged (in flight to a broker node when it died): the device knows */
  unacknowledged: number;
  acknowledged: number;
  stored: number;
  lost: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

/** Committed records of `runtimes` together, since `from` (what each had committed then). */
async function committedSince(runtimes: BenchRuntime[], from: number[]): Promise<number> {
  const now = await Promise.all(runtimes.map((r) => r.committed()));
  return now.reduce((sum, n, i) => sum + n - from[i]!, 0);
}

/** Sustained rate (closed loop), then p50/p99 at a fixed rate, through `runtimes` together. */
async function measure(setup: string, publisher: BenchPublisher, runtimes: BenchRuntime[]): Promise<Throughput> {
  process.stdout.write(`cluster case (${setup}): sustained… `);
  // Everything published so far is committed: the loop counts from here.
  const sent0 = await publisher.pause();
  const from = await Promise.all(runtimes.map((r) => r.committed()));
  let relaying = true;
  const relay = (async () => {
    while (relaying) {
      publisher.committed(sent0 + (await committedSince(runtimes, from)));
      await sleep(20);
    }
  })();
  publisher.window(WINDOW);
  await sleep(WARMUP_S * 1000);
  const c0 = await committedSince(runtimes, from);
  const t0 = Date.now();
  await sleep(SUSTAIN_S * 1000);
  const sustained = Math.round(((await committedSince(runtimes, from)) - c0) / ((Date.now() - t0) / 1000));
  await drain(publisher, runtimes, from, sent0);
  relaying = false;
  await relay;

  const latencyRate = Math.min(RATE, Math.max(100, Math.floor((sustained * 0.8) / 100) * 100));
  process.stdout.write(`${sustained} msg/s; latency at ${latencyRate}/s… `);
  for (const r of runtimes) r.sample();
  const from2 = await Promise.all(runtimes.map((r) => r.committed()));
  const sent1 = await publisher.pause();
  publisher.rate(latencyRate);
  await sleep(LATENCY_S * 1000);
  await drain(publisher, runtimes, from2, sent1);
  const sorted = (await Promise.all(runtimes.map((r) => r.latencies()))).flat().sort((a, b) => a - b);
  console.log('done');
  return { setup, sustained, latencyRate, p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length };
}

/** Stops publishing and waits until every message sent since `sent0` is committed. */
async function drain(publisher: BenchPublisher, runtimes: BenchRuntime[], from: number[], sent0: number): Promise<void> {
  const sent = await publisher.pause();
  const until = Date.now() + 120_000;
  while ((await committedSince(runtimes, from)) < sent - sent0) {
    if (Date.now() > until)
      throw new Error(`drain: ${sent - sent0 - (await committedSince(runtimes, from))} messages not committed in 120 s`);
    await sleep(100);
  }
}

/** Waits until something listens on `port` (the embedded broker starts a moment after the runtime). */
async function listening(port: number, limitMs = 30_000): Promise<void> {
  const until = Date.now() + limitMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => (s.destroy(), resolve(false)));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listening on ${port} after ${limitMs} ms`);
    await sleep(200);
  }
}

/** One box: the cloud flow with its embedded broker and SQLite file. */
async function singleBox(): Promise<{ throughput: Throughput; loss: Loss }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-sqlite-'));
  const dbFile = join(dir, 'events.db');
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  const runtime = await BenchRuntime.start({ dataDir: dir, dbFile, ports });
  try {
    await listening(ports.mqtt);
    const base = Date.now();
    const publisher = await BenchPublisher.start({
      url: `mqtt://127.0.0.1:${ports.mqtt}`,
      devices: DEVICES,
      kind: 'activity',
      base,
      reconnectMs: 250,
      sendTime: true,
    });
    try {
      const throughput = await measure('one box: embedded broker, SQLite', publisher, [runtime]);
      await publisher.pause();
      const last = await publisher.allAcked(60_000);
      const loss = await countLoss(dbFile, 'activity', base, await publisher.ackedSeqs(), 60_000);
      return { throughput, loss: { setup: 'one box (SQLite)', unacknowledged: last.sent - last.acked, ...loss } };
    } finally {
      await publisher.stop();
    }
  } finally {
    await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The camera that publishes `seq` (acked-publisher.ts: device seq % devices, a VBC01-style id). */
const cameraOf = (seq: number) => `F1CA${String(seq % DEVICES).padStart(28, '0')}`;

/** The messages of `seqs` that are not rows yet (looked up by the table's key, camera and event id). */
async function unstored(db: pg.Pool, seqs: number[]): Promise<number[]> {
  if (!seqs.length) return [];
  const { rows } = await db.query<{ e: string }>(
    `SELECT event_id AS e FROM activity_events
      WHERE (camera_id, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [seqs.map(cameraOf), seqs.map((s) => `fl-${s}`)],
  );
  const stored = new Set(rows.map((r) => Number(r.e.slice(3))));
  return seqs.filter((s) => !stored.has(s));
}

/** Publishes at `rate`, kills with `kill`, and times the recovery. */
async function killUnderTraffic(
  killed: string,
  rate: number,
  publisher: BenchPublisher,
  db: pg.Pool,
  kill: () => Promise<void>,
  devicesAffected: boolean,
  survivors: BenchRuntime[],
): Promise<Recovery> {
  process.stdout.write(`cluster case: kill -9 of ${killed} at ${rate} msg/s… `);
  for (const r of survivors) r.sample();
  publisher.rate(rate);
  await sleep(BEFORE_KILL_S * 1000);
  // What was acknowledged and is not a row yet, looked up before the kill (the whole list is the
  // run's every message, slow to check at this load), plus what was acknowledged meanwhile.
  const earlier = await publisher.ackedSeqs();
  const waiting = await unstored(db, earlier);
  const seen = new Set(earlier);
  const acked = [...waiting, ...(await publisher.ackedSeqs()).filter((s) => !seen.has(s))];
  const failedBefore = (await publisher.progress()).failed;
  const killedAt = Date.now();
  await kill();
  const reconnected = devicesAffected
    ? (async () => {
        await sleep(100); // the dead node's sockets are seen closed
        while ((await publisher.progress()).connected < DEVICES) {
          if (Date.now() - killedAt > RECOVERY_LIMIT_MS) return NaN;
          await sleep(50);
        }
        return Date.now() - killedAt;
      })()
    : Promise.resolve(undefined);
  let missing = await unstored(db, acked);
  while (missing.length) {
    if (Date.now() - killedAt > RECOVERY_LIMIT_MS)
      throw new Error(`${missing.length} acknowledged messages not stored 120 s after the kill`);
    await sleep(50);
    missing = await unstored(db, missing);
  }
  const storedAfterMs = Date.now() - killedAt;
  const reconnectedAfterMs = await reconnected;
  await sleep(Math.max(0, AFTER_KILL_S * 1000 - (Date.now() - killedAt)));
  await publisher.pause();
  const { failed } = await publisher.allAcked(60_000);
  const acknowledged = await publisher.ackedSeqs();
  let left = await unstored(db, acknowledged);
  while (left.length && Date.now() - killedAt < RECOVERY_LIMIT_MS) {
    await sleep(100);
    left = await unstored(db, left);
  }
  const sorted = (await Promise.all(survivors.map((r) => r.latencies()))).flat().sort((a, b) => a - b);
  const worst = sorted.at(-1) ?? NaN;
  console.log(
    `stored after ${storedAfterMs} ms${reconnectedAfterMs === undefined ? '' : `, devices back after ${reconnectedAfterMs} ms`}, worst publish→commit ${worst} ms`,
  );
  return { killed, storedAfterMs, reconnectedAfterMs, p99: percentile(sorted, 99), worst, failed: failed - failedBefore };
}

/** The cluster: 3 RabbitMQ nodes, PostgreSQL, one then two runtimes, then the kills. */
async function cluster(): Promise<{ throughput: Throughput[]; recovery: Recovery[]; loss: Loss; startMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  let rabbit: RabbitCluster | undefined;
  let postgres: PostgresServer | undefined;
  let db: pg.Pool | undefined;
  const runtimes: BenchRuntime[] = [];
  let publisher: BenchPublisher | undefined;
  try {
    process.stdout.write(`cluster case: starting ${RABBIT_NODES} RabbitMQ nodes and PostgreSQL… `);
    const started = Date.now();
    [rabbit, postgres] = await Promise.all([
      RabbitCluster.start({ nodes: RABBIT_NODES, settings: [...shippedRabbitSettings(), 'collect_statistics_interval = 500'] }),
      startPostgres({ durable: true }),
    ]);
    await rabbit.loadDefinitions({ [CLOUD.username]: CLOUD.password });
    await rabbit.addUserLike(CAM.username, CAM.password, 'camera_client');
    const dbUrl = await postgres.createDatabase();
    db = new pg.Pool({ connectionString: dbUrl, max: 2 });
    db.on('error', () => undefined); // the server's stop at the end ends idle connections
    const startMs = Date.now() - started;
    console.log(`up in ${startMs} ms`);

    const consumers = async () => {
      const out = await rabbit!.ctl(['list_queues', '-p', 'picam', 'name', 'consumers', '--formatter', 'json']);
      return (JSON.parse(out) as Array<{ name: string; consumers: number }>).find((q) => q.name === 'picam.device')?.consumers ?? 0;
    };
    const addRuntime = async (i: number) => {
      const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
      const env = cloudRoleEnv(join(dir, `runtime-${i}`), ports, {
        PICAM_ROLE: 'cluster',
        // Each runtime starts at another node: the list is its failover order.
        PICAM_AMQP_URLS: rabbit!.urls(i % RABBIT_NODES),
        PICAM_AMQP_USERNAME: CLOUD.username,
        PICAM_AMQP_PASSWORD: CLOUD.password,
        PICAM_DB_URL: dbUrl,
        MQTT_USERNAME: '',
        MQTT_PASSWORD: '',
      });
      const runtime = await BenchRuntime.start({ dataDir: join(dir, `runtime-${i}`), dbFile: join(dir, `unused-${i}.db`), ports, env });
      runtimes.push(runtime);
      const until = Date.now() + 60_000;
      while ((await consumers()) < runtimes.filter((r) => r.proc.exitCode === null && r.proc.signalCode === null).length) {
        if (Date.now() > until) throw new Error(`runtime ${i} is not consuming the device queue after 60 s`);
        await sleep(250);
      }
      return runtime;
    };

    const base = Date.now();
    publisher = await BenchPublisher.start({
      servers: rabbit.nodes.map((n) => n.mqttPort),
      devices: DEVICES,
      kind: 'activity',
      base,
      username: CAM.username,
      password: CAM.password,
      reconnectMs: 250,
      sendTime: true,
    });
    const first = await addRuntime(0);
    const one = await measure(`cluster: ${RABBIT_NODES} RabbitMQ nodes, 1 runtime, PostgreSQL`, publisher, [first]);
    const second = await addRuntime(1);
    const two = await measure(`cluster: ${RABBIT_NODES} RabbitMQ nodes, 2 runtimes, PostgreSQL`, publisher, [first, second]);

    const rate = two.latencyRate;
    const recovery = [await killUnderTraffic('a runtime', rate, publisher, db, () => second.kill(), false, [first])];
    // A replacement, so the broker node dies under two runtimes as well.
    const third = await addRuntime(2);
    recovery.push(
      await killUnderTraffic(
        "a RabbitMQ node (a runtime's and a third of the devices' first node)",
        rate,
        publisher,
        db,
        () => rabbit!.kill(0),
        true,
        [first, third],
      ),
    );

    await publisher.pause();
    const last = await publisher.allAcked(60_000);
    const acked = await publisher.ackedSeqs();
    const until = Date.now() + 60_000;
    let missing = await unstored(db, acked);
    while (missing.length && Date.now() < until) {
      await sleep(500);
      missing = await unstored(db, missing);
    }
    const loss = {
      setup: 'cluster (PostgreSQL)',
      unacknowledged: last.sent - last.acked,
      acknowledged: acked.length,
      stored: acked.length - missing.length,
      lost: missing.length,
    };
    return { throughput: [one, two], recovery, loss, startMs };
  } finally {
    await publisher?.stop().catch(() => undefined);
    await Promise.all(runtimes.map((r) => r.stop()));
    await db?.end().catch(() => undefined);
    await postgres?.stop();
    await rabbit?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const skip = skipWithoutRabbitMQ || skipWithoutPostgres;
  if (skip) {
    console.log(`cluster case skipped: ${skip}`);
    return;
  }
  const started = Date.now();
  const loadBefore = loadavg();
  const box = await singleBox();
  const c = await cluster();
  const throughput = [box.throughput, ...c.throughput];
  const dash = (n: number | undefined) => (n === undefined ? '–' : Number.isNaN(n) ? 'not within 120 s' : String(n));
  const lines = [
    `Cluster case: ${DEVICES} cameras, QoS 1 activity starts, publish→commit`,
    `machine: ${machine()}`,
    `load average (1, 5, 15 min) at the start ${loadBefore.map((l) => l.toFixed(1)).join(', ')}, at the end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(', ')}`,
    '',
    '| setup | sustained msg/s | latency test rate | p50 ms | p99 ms |',
    '|---|---:|---:|---:|---:|',
    ...throughput.map((t) => `| ${t.setup} | ${t.sustained} | ${t.latencyRate}/s | ${t.p50} | ${t.p99} |`),
    '',
    `| kill -9 (2 runtimes, ${c.throughput[1]!.latencyRate} msg/s) | everything acknowledged before it stored after ms | every device connected again after ms | p99 / worst publish→commit ms (${BEFORE_KILL_S + AFTER_KILL_S} s around it) | publishes answered with an error |`,
    '|---|---:|---:|---:|---:|',
    ...c.recovery.map((r) => `| ${r.killed} | ${r.storedAfterMs} | ${dash(r.reconnectedAfterMs)} | ${r.p99} / ${r.worst} | ${r.failed} |`),
    '',
    '| setup | never acknowledged (the device knows) | acknowledged | stored | lost |',
    '|---|---:|---:|---:|---:|',
    ...[box.loss, c.loss].map((l) => `| ${l.setup} | ${l.unacknowledged} | ${l.acknowledged} | ${l.stored} | ${l.lost} |`),
    '',
    `RabbitMQ cluster and PostgreSQL started in ${c.startMs} ms; target: lost 0`,
    `run took ${Math.round((Date.now() - started) / 1000)} s`,
  ];
  console.log(`\n${lines.join('\n')}`);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    join(__dirname, 'results', 'cluster.json'),
    JSON.stringify(
      { machine: machine(), throughput, recovery: c.recovery, loss: [box.loss, c.loss], at: new Date().toISOString() },
      null,
      2,
    ),
  );
  if (box.loss.lost > 0 || c.loss.lost > 0) process.exitCode = 1;
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
