/**
 * npm run bench, flood case (issue 13, item 12): 31,000 messages a second for
 * 20 s (or as fast as the publisher gets them out) from 1,000 devices against
 * the cloud flow with its embedded broker, once with activity starts and once
 * with sensor readings. The publisher runs open loop: it does not wait for
 * acknowledgements, so whatever the runtime cannot take at once backs up into
 * the broker's sockets and the publisher's own queues (back-pressure), not
 * into the runtime's memory.
 *
 * Reports the runtime's peak RSS (target ≤ 300 MB), its RSS 30 s after the
 * flood drained, committed rows/s while flooded, and acknowledged messages
 * against rows (target: 0 lost). Beside it, the sustained throughput of the
 * ingest case of the same `npm run bench` run (bench/results/latest.json).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/ports';
import type { FloodKind } from './acked-publisher';
import { BenchPublisher, BenchRuntime, countLoss, mb, sleep } from './acked';
import { machine } from './machine';

const RATE = Number(process.env.BENCH_FLOOD_RATE ?? 31_000);
const FLOOD_S = Number(process.env.BENCH_FLOOD_S ?? 20);
const SETTLE_S = Number(process.env.BENCH_FLOOD_SETTLE_S ?? 30);
const DEVICES = 1000;
const RSS_TARGET_MB = 300;

interface FloodResult {
  kind: FloodKind;
  /** messages the publisher got out per second while flooding */
  reachedRate: number;
  sent: number;
  /** committed rows/s from the flood's start until everything was committed */
  committedRate: number;
  /** the best second */
  peakCommittedRate: number;
  drainS: number;
  peakRssMb: number;
  settledRssMb: number;
  idleRssMb: number;
  /** the embedded broker's peak messages in the flow / waiting for room in it */
  peakInFlight: number;
  peakHeld: number;
  acknowledged: number;
  stored: number;
  lost: number;
}

async function flood(kind: FloodKind): Promise<FloodResult> {
  const dir = mkdtempSync(join(tmpdir(), `bench-flood-${kind}-`));
  const dbFile = join(dir, 'events.db');
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  const base = Date.now() - 10 * 60_000;
  const runtime = await BenchRuntime.start({ dataDir: dir, dbFile, ports });
  try {
    await sleep(1500); // the broker starts listening
    const publisher = await BenchPublisher.start({
      url: `mqtt://127.0.0.1:${ports.mqtt}`,
      devices: DEVICES,
      kind,
      base,
      reconnectMs: 1000,
    });
    try {
      await sleep(1000);
      const idleRss = (await runtime.rss()).rss;
      const c0 = await runtime.committed();
      const t0 = Date.now();
      publisher.rate(RATE);
      let peakCommittedRate = 0;
      let last = c0;
      let lastAt = t0;
      const perSecond = async () => {
        await sleep(1000);
        const c = await runtime.committed();
        peakCommittedRate = Math.max(peakCommittedRate, ((c - last) * 1000) / (Date.now() - lastAt));
        last = c;
        lastAt = Date.now();
      };
      while (Date.now() - t0 < FLOOD_S * 1000) await perSecond();
      const sent = await publisher.pause();
      const reachedRate = sent / ((Date.now() - t0) / 1000);
      // Drained: every message acknowledged by the broker, i.e. committed (the PUBACK follows the COMMIT).
      for (let p = await publisher.progress(); p.acked < p.sent && Date.now() - t0 < (FLOOD_S + 180) * 1000; p = await publisher.progress())
        await perSecond();
      const drainedAt = Date.now();
      const committed = (await runtime.committed()) - c0;
      const { maxRss: peakRss, brokerPeak, atPeak } = await runtime.rss();
      if (process.env.BENCH_HEAP_SNAPSHOT) console.log('heap snapshot', await runtime.heapSnapshot());
      if (process.env.BENCH_DEBUG) console.log('at peak', atPeak);
      await sleep(SETTLE_S * 1000);
      const settled = await runtime.rss();
      const settledRss = settled.rss;
      if (process.env.BENCH_DEBUG) console.log('settled', settled.now);
      const loss = await countLoss(dbFile, kind, base, await publisher.ackedSeqs(), 30_000);
      return {
        kind,
        reachedRate: Math.round(reachedRate),
        sent,
        committedRate: Math.round(committed / ((drainedAt - t0) / 1000)),
        peakCommittedRate: Math.round(peakCommittedRate),
        drainS: Math.round((drainedAt - t0) / 100) / 10,
        peakRssMb: mb(peakRss),
        settledRssMb: mb(settledRss),
        idleRssMb: mb(idleRss),
        peakInFlight: brokerPeak.inFlight,
        peakHeld: brokerPeak.held,
        ...loss,
      };
    } finally {
      await publisher.stop();
    }
  } finally {
    await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The ingest case's sustained throughput, if it ran in this `npm run bench` (within the last hour). */
function ingestBaseline(): string {
  const file = join(__dirname, 'results', 'latest.json');
  if (!existsSync(file)) return 'the ingest case has not run here: run `npm run bench` for the side-by-side numbers';
  const latest = JSON.parse(readFileSync(file, 'utf8')) as { at: string; results: Array<{ name: string; sustained: number }> };
  const ageMin = (Date.now() - Date.parse(latest.at)) / 60_000;
  const rows = latest.results.map((r) => `${r.name} ${r.sustained} msg/s`).join(', ');
  const ours = latest.results.find((r) => r.name === 'picam-guardian');
  const target = ours ? (ours.sustained >= 20_000 ? 'holds' : 'does NOT hold') : 'unknown';
  const when = ageMin < 60 ? 'this run' : `an earlier run (${latest.at})`;
  return `ingest case of ${when}, closed loop, mixed traffic: ${rows}; the 20000 msg/s target ${target}`;
}

async function main() {
  const started = Date.now();
  const results: FloodResult[] = [];
  const kinds = (process.env.BENCH_FLOOD_KINDS?.split(',') ?? ['activity', 'environment']) as FloodKind[];
  for (const kind of kinds) {
    process.stdout.write(`flood (${kind}): ${RATE}/s for ${FLOOD_S} s from ${DEVICES} devices… `);
    const r = await flood(kind);
    results.push(r);
    console.log(`peak RSS ${r.peakRssMb} MB, acknowledged ${r.acknowledged}, stored ${r.stored}, lost ${r.lost}`);
  }
  const lines = [
    `Flood case: ${RATE} QoS 1 msg/s asked for ${FLOOD_S} s from ${DEVICES} devices, open loop, embedded broker, flows/cloud.json`,
    `machine: ${machine()}`,
    '',
    '| flood | reached msg/s | sent | committed rows/s (flood → drained) | best second | drained after s | idle RSS MB | peak RSS MB | RSS MB 30 s after | peak in flow / waiting | acknowledged | stored | lost |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.kind === 'activity' ? 'activity starts' : 'sensor readings'} | ${r.reachedRate} | ${r.sent} | ${r.committedRate} | ${r.peakCommittedRate} | ${r.drainS} | ${r.idleRssMb} | ${r.peakRssMb} | ${r.settledRssMb} | ${r.peakInFlight} / ${r.peakHeld} | ${r.acknowledged} | ${r.stored} | ${r.lost} |`,
    ),
    '',
    `baseline: ${ingestBaseline()}`,
    `targets: peak RSS ≤ ${RSS_TARGET_MB} MB, 0 acknowledged messages lost`,
    `run took ${Math.round((Date.now() - started) / 1000)} s`,
  ];
  console.log(`\n${lines.join('\n')}`);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    join(__dirname, 'results', 'flood.json'),
    JSON.stringify({ machine: machine(), results, at: new Date().toISOString() }, null, 2),
  );
  if (results.some((r) => r.lost > 0)) process.exitCode = 1;
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
