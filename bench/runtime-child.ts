/**
 * One Node-RED runtime under test, in its own process so its RSS is its own.
 * Counts committed rows through Node-RED's message hooks and reports to the
 * parent over IPC:
 *   ours      onComplete of the store node (done() runs after COMMIT)
 *   baseline  onSend of the sqlite node (it sends after its statement ran)
 */
import { applyFlowEnv, settingsFor } from '../cli/runtime/roles';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';
import { startRuntime } from '../cli/runtime/runtime';
import { sumCounters } from '../nodes/lib/metrics';

interface Args {
  flowFile: string;
  dataDir: string;
  dbFile: string;
  httpPort: number;
  mqttPort: number;
  wsPort: number;
  /** node whose completion means "committed" */
  committedNode: string;
  via: 'onComplete' | 'onSend';
  /** more environment for the role (the fault case's external broker and its login) */
  env?: Record<string, string>;
  /** load the stock node modules the runtime leaves out (roles.ts DEV_ONLY_NODE_MODULES): the baseline flow's */
  devNodes?: boolean;
}

const args = JSON.parse(process.argv[2]!) as Args;
let committed = 0;
let latencies: number[] = [];
let sampling = false;
let maxRss = 0;
/** the embedded broker's messages in the flow and waiting for room (picam-broker's counters), at their peak */
const brokerPeak = { inFlight: 0, held: 0 };

/** process.memoryUsage() when RSS peaked: heap (live objects and garbage) against the rest */
let atPeak: NodeJS.MemoryUsage | undefined;

function sample(): void {
  const usage = process.memoryUsage();
  if (usage.rss > maxRss) {
    maxRss = usage.rss;
    atPeak = usage;
  }
  const broker = sumCounters('picam-broker');
  brokerPeak.inFlight = Math.max(brokerPeak.inFlight, broker.inFlight ?? 0);
  brokerPeak.held = Math.max(brokerPeak.held, broker.held ?? 0);
}

/**
 * BENCH_ALLOC_PROFILE=<file>: V8's sampling heap profiler from 'sample' to 'report', garbage
 * included (what the scavenger has to copy and free, not only what is still alive), as a
 * .heapprofile for Chrome DevTools.
 */
const allocProfile = process.env.BENCH_ALLOC_PROFILE;
const inspector = allocProfile ? new Session() : undefined;
function startAllocProfile(): void {
  if (!inspector) return;
  inspector.connect();
  inspector.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}
function stopAllocProfile(): void {
  inspector?.post('HeapProfiler.stopSampling', (err, r) => {
    if (!err) writeFileSync(allocProfile!, JSON.stringify(r.profile));
  });
}

function record(sentAt: unknown): void {
  committed++;
  if (sampling && typeof sentAt === 'number') latencies.push(Date.now() - sentAt);
}

async function main() {
  const role = settingsFor({
    PICAM_ROLE: 'demo',
    PICAM_DATA_DIR: args.dataDir,
    PICAM_DB_FILE: args.dbFile,
    PICAM_HTTP_PORT: String(args.httpPort),
    PICAM_MQTT_PORT: String(args.mqttPort),
    PICAM_MQTT_WS_PORT: String(args.wsPort),
    PICAM_GATEWAY_PORT: '0', // not measured here; the OS picks a free port
    PICAM_LOG_LEVEL: 'warn',
    ...args.env,
  });
  applyFlowEnv(role, true);
  // The stock baseline flow is built from the dev-only modules the runtime does not load.
  if (args.devNodes) {
    role.node.externalModules = { autoInstall: false };
    delete role.node.nodesExcludes;
  }
  const runtime = await startRuntime(role, [args.flowFile]);
  if (args.via === 'onComplete') {
    type Committed = { timeMs?: number } | Array<{ timeMs?: number }>;
    runtime.hooks.add('onComplete.bench', (e: { node: { id: string }; msg: { payload?: Committed }; error?: unknown }) => {
      if (e.node.id !== args.committedNode || e.error) return;
      // A batch of records (picam-broker's batches) completes once for all of them.
      const p = e.msg.payload;
      if (Array.isArray(p)) for (const r of p) record(r?.timeMs);
      else record(p?.timeMs);
    });
  } else {
    runtime.hooks.add('onSend.bench', (events: Array<{ source: { id: string }; msg: { sentAt?: number } }>) => {
      for (const e of events) if (e.source.id === args.committedNode) record(e.msg.sentAt);
    });
  }
  const rssTimer = setInterval(sample, 200);
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'count') process.send!({ committed });
    else if (m.cmd === 'cpu') process.send!({ cpu: process.cpuUsage(), committed });
    else if (m.cmd === 'rss') process.send!({ rss: process.memoryUsage().rss, maxRss, brokerPeak, atPeak, now: process.memoryUsage() });
    else if (m.cmd === 'heap') process.send!({ heapSnapshot: writeHeapSnapshot(undefined) });
    else if (m.cmd === 'sample') {
      latencies = [];
      sampling = true;
      startAllocProfile();
    } else if (m.cmd === 'report') {
      sampling = false;
      stopAllocProfile();
      process.send!({ committed, latencies, maxRss });
    } else if (m.cmd === 'stop') {
      clearInterval(rssTimer);
      void runtime.stop().then(() => process.exit(0));
    }
  });
  process.send!({ ready: true });
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
