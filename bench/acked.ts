/**
 * What the fault and flood cases share: a runtime under test and an
 * acknowledgement-counting publisher in their own processes, and the check
 * that every message the publisher saw acknowledged is a row.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { FLOWS_DIR } from '../cli/runtime/runtime';
import { Connection } from '../nodes/lib/store/sqlite';
import type { FloodKind, PublisherArgs } from './acked-publisher';
import { ask, startChild } from './ipc';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

export interface RuntimeOptions {
  dataDir: string;
  dbFile: string;
  ports: { http: number; mqtt: number; ws: number };
  env?: Record<string, string>;
}

/** The cloud flow (flows/cloud.json, unchanged) in a runtime-child process. */
export class BenchRuntime {
  private constructor(readonly proc: ChildProcess) {}

  static async start(o: RuntimeOptions): Promise<BenchRuntime> {
    const proc = startChild('runtime-child.ts', [
      JSON.stringify({
        flowFile: join(FLOWS_DIR, 'cloud.json'),
        dataDir: o.dataDir,
        dbFile: o.dbFile,
        httpPort: o.ports.http,
        mqttPort: o.ports.mqtt,
        wsPort: o.ports.ws,
        committedNode: 'cloud.store',
        via: 'onComplete',
        env: o.env,
      }),
    ]);
    await ask(proc, {}, (m) => m.ready);
    return new BenchRuntime(proc);
  }

  /** Messages the store completed (after COMMIT) since this process started. */
  async committed(): Promise<number> {
    return (await ask<{ committed: number }>(this.proc, { cmd: 'count' }, (m) => 'committed' in m && !('latencies' in m))).committed;
  }

  /** Starts collecting publish→commit latencies afresh (records whose device timestamp is their send time). */
  sample(): void {
    this.proc.send({ cmd: 'sample' });
  }

  /** The latencies (ms) collected since `sample()`, and stops collecting. */
  async latencies(): Promise<number[]> {
    return (await ask<{ latencies: number[] }>(this.proc, { cmd: 'report' }, (m) => 'latencies' in m)).latencies;
  }

  /** Current and peak RSS of the runtime process, and the embedded broker's peak counts (sampled every 200 ms). */
  rss(): Promise<{
    rss: number;
    maxRss: number;
    brokerPeak: { inFlight: number; held: number };
    atPeak?: NodeJS.MemoryUsage;
    now: NodeJS.MemoryUsage;
  }> {
    return ask(this.proc, { cmd: 'rss' }, (m) => 'rss' in m);
  }

  /** Writes a heap snapshot in the runtime's working directory; its file name. */
  async heapSnapshot(): Promise<string> {
    return (await ask<{ heapSnapshot: string }>(this.proc, { cmd: 'heap' }, (m) => 'heapSnapshot' in m)).heapSnapshot;
  }

  /** kill -9: no close handler runs, nothing is flushed. */
  async kill(): Promise<void> {
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface Progress {
  sent: number;
  acked: number;
  /** publishes that ended in an error instead of a PUBACK (the device knows they were not taken) */
  failed: number;
  connected: number;
}

/** bench/acked-publisher.ts in its own process. */
export class BenchPublisher {
  private constructor(readonly proc: ChildProcess) {}

  static async start(args: PublisherArgs): Promise<BenchPublisher> {
    const proc = startChild('acked-publisher.ts', [JSON.stringify(args)]);
    await ask(proc, {}, (m) => m.ready);
    return new BenchPublisher(proc);
  }

  rate(perSecond: number): void {
    this.proc.send({ cmd: 'rate', perSecond });
  }

  /** Closed loop: at most `ahead` messages beyond the committed count given to `committed`. */
  window(ahead: number): void {
    this.proc.send({ cmd: 'window', ahead });
  }

  committed(n: number): void {
    this.proc.send({ cmd: 'committed', n });
  }

  async pause(): Promise<number> {
    return (await ask<{ sent: number }>(this.proc, { cmd: 'pause' }, (m) => 'sent' in m)).sent;
  }

  async progress(): Promise<Progress> {
    return (await ask<{ progress: Progress }>(this.proc, { cmd: 'progress' }, (m) => 'progress' in m)).progress;
  }

  async ackedSeqs(): Promise<number[]> {
    return (await ask<{ ackedSeqs: number[] }>(this.proc, { cmd: 'acked' }, (m) => 'ackedSeqs' in m)).ackedSeqs;
  }

  /** Waits until every message sent so far is acknowledged (or failed), or `limitMs` passed; the last progress. */
  async allAcked(limitMs: number): Promise<Progress> {
    const until = Date.now() + limitMs;
    let p = await this.progress();
    while (p.acked + p.failed < p.sent && Date.now() < until) {
      await sleep(250);
      p = await this.progress();
    }
    return p;
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The publisher's keys (seq numbers) found in the store. */
export async function storedSeqs(dbFile: string, kind: FloodKind, base: number): Promise<Set<number>> {
  const c = await Connection.open(dbFile, true);
  try {
    if (kind === 'environment') {
      const rows = await c.all<{ t: number }>("SELECT time_ms AS t FROM sensor_readings WHERE device_id LIKE 'flpi%' AND time_ms >= ?", [
        base,
      ]);
      return new Set(rows.map((r) => r.t - base));
    }
    const rows = await c.all<{ e: string }>("SELECT event_id AS e FROM activity_events WHERE event_id LIKE 'fl-%'");
    return new Set(rows.map((r) => Number(r.e.slice(3))));
  } finally {
    await c.close();
  }
}

export interface LossCount {
  acknowledged: number;
  stored: number;
  lost: number;
}

/** Waits (up to `limitMs`) until every acknowledged key is a row; then counts. */
export async function countLoss(dbFile: string, kind: FloodKind, base: number, acked: number[], limitMs: number): Promise<LossCount> {
  const until = Date.now() + limitMs;
  for (;;) {
    const stored = await storedSeqs(dbFile, kind, base);
    const lost = acked.filter((s) => !stored.has(s)).length;
    if (lost === 0 || Date.now() >= until) return { acknowledged: acked.length, stored: stored.size, lost };
    await sleep(500);
  }
}
