/**
 * Detector case of `npm run bench` (issue 20): the person detector (CenterNet from
 * @vladmandic/human on TensorFlow.js WebAssembly) on this machine.
 *   - ms per frame at the model's input size (512×512), decode and resize included;
 *   - frames per second sustained (one frame after the other for BENCH_DETECT_S s);
 *   - RSS added by the detector's thread as the cameras run it, with its V8 limits and with V8's
 *     defaults side by side (each thread's RSS over 140 frames);
 *   - RSS added by loading and running it in this thread (process RSS before the first import vs after the model
 *     loaded, after the first frame, and at the end: RSS rises over the first few dozen frames
 *     and then stays; the end figure is the one to hold against the target), and of it the
 *     WebAssembly heap (weights + one run's activations; it never shrinks);
 *   - precision and recall for "person" on test/fixtures/detect (labels.json), per
 *     picture, at the cameras' default threshold 0.4; recall also on people taller
 *     than 10 % of the frame; false positives on the empty scenes.
 *   - CPU time per frame (process.cpuUsage over the sustained run), which a loaded shared
 *     machine distorts far less than wall time;
 * Pi 4 estimate: the CPU time per frame scaled by a stated factor (PI4_FACTOR below).
 * Runs alone: `node --import tsx bench/detector.ts`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { WORKER_LIMITS } from '../nodes/lib/detect/worker-detector';
import { machine } from './machine';

const DIR = join(__dirname, '..', 'test', 'fixtures', 'detect');
const MEASURE_S = Number(process.env.BENCH_DETECT_S ?? 10);
const THRESHOLD = 0.4;
const MIN_BOX = 5;
/**
 * A Raspberry Pi 4 (4 × Cortex-A72 at 1.5 GHz) runs TensorFlow.js's WebAssembly
 * SIMD backend single-threaded; per core it is about 3–4× slower than a current
 * x86 server core at this kind of convolution work (Geekbench-class single-core
 * ratios, and the WASM SIMD is 128-bit on both). We multiply by 4 (the pessimistic
 * end) and say so; the real figure is to be taken on a Pi with this same script.
 */
const PI4_FACTOR = 4;
/** Frames each thread runs before its RSS is read: RSS rises over the first few dozen and then stays. */
const WORKER_FRAMES = 140;

type Truth = { persons: number; tallestPct: number; pets: number };

/** The product's worker script, as `npm run bench` builds it. */
const WORKER_SCRIPT = join(__dirname, '..', 'dist', 'nodes', 'lib', 'detect', 'detect-worker.js');

/**
 * RSS the detector's thread adds as the cameras run it (its own V8 heap and WebAssembly heap),
 * over `frames` frames of the test set, with the thread's V8 limits or V8's defaults.
 */
async function workerRss(limits: ResourceLimits | undefined, pictures: Buffer[], frames: number): Promise<number> {
  const rss0 = process.memoryUsage().rss;
  const worker = new Worker(WORKER_SCRIPT, limits ? { resourceLimits: limits } : {});
  let id = 0;
  const ask = (jpeg?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const mine = ++id;
      const answer = (a: { id: number; error?: string }) => {
        if (a.id !== mine) return;
        worker.off('message', answer);
        if (a.error) reject(new Error(a.error));
        else resolve();
      };
      worker.on('message', answer);
      worker.postMessage({ id: mine, ...(jpeg && { jpeg: new Uint8Array(jpeg) }) });
    });
  await ask();
  for (let i = 0; i < frames; i++) await ask(pictures[i % pictures.length]);
  const added = process.memoryUsage().rss - rss0;
  await worker.terminate();
  return added / 2 ** 20;
}

async function main(): Promise<void> {
  // First, in threads of their own as the cameras run it: the product's limits beside V8's defaults.
  const pictures = readdirSync(DIR)
    .filter((f) => f.endsWith('.jpg'))
    .map((f) => readFileSync(join(DIR, f)));
  const limited = await workerRss(WORKER_LIMITS, pictures, WORKER_FRAMES);
  const defaults = await workerRss(undefined, pictures, WORKER_FRAMES);
  const rss0 = process.memoryUsage().rss;
  const { CenterNetDetector, MODEL_INPUT } = await import('../nodes/lib/detect/centernet');
  const { keep } = await import('../nodes/lib/detect/filter');
  const detector = new CenterNetDetector();
  const loadStart = performance.now();
  await detector.warmUp();
  const loadMs = performance.now() - loadStart;
  const rssLoaded = process.memoryUsage().rss - rss0;
  const tf = await import('@tensorflow/tfjs-core');
  const wasmHeap = (): number => (tf.engine().backend as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
  let rssFirst: number | undefined;
  const truth = (JSON.parse(readFileSync(join(DIR, 'labels.json'), 'utf8')) as { pictures: Record<string, Truth> }).pictures;
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.jpg') && truth[f])
    .sort();

  console.log(`# detector bench on ${machine()}`);
  console.log(
    `model CenterNet (COCO), input ${MODEL_INPUT}×${MODEL_INPUT}, loaded in ${Math.round(loadMs)} ms; threshold ${THRESHOLD}, min box ${MIN_BOX} %`,
  );
  const filter = { threshold: THRESHOLD, minBoxPercent: MIN_BOX, labels: ['person', 'car', 'dog', 'cat'] };
  const c = { tp: 0, fp: 0, fn: 0, tn: 0, tallHit: 0, tall: 0, emptyFp: 0, empty: 0, pets: 0, petHit: 0 };
  const times: number[] = [];
  for (const f of files) {
    const t = truth[f]!;
    const r = await detector.detect(readFileSync(join(DIR, f)));
    rssFirst ??= process.memoryUsage().rss - rss0;
    times.push(r.ms);
    const kept = keep(r.detections, filter);
    const person = kept.find((d) => d.label === 'person');
    const pet = kept.find((d) => d.label === 'cat' || d.label === 'dog');
    if (t.persons > 0) person ? c.tp++ : c.fn++;
    else person ? c.fp++ : c.tn++;
    if (t.persons > 0 && t.tallestPct > 10) [c.tall, c.tallHit] = [c.tall + 1, c.tallHit + (person ? 1 : 0)];
    if (f.startsWith('empty-')) [c.empty, c.emptyFp] = [c.empty + 1, c.emptyFp + (person ? 1 : 0)];
    if (t.pets > 0) [c.pets, c.petHit] = [c.pets + 1, c.petHit + (pet ? 1 : 0)];
    const seen = kept.map((d) => `${d.label} ${d.score}`).join(', ') || '-';
    console.log(`  ${f.padEnd(28)} truth ${t.persons ? `${t.persons} person(s)` : t.pets ? 'pet' : 'empty'}; seen: ${seen} (${r.ms} ms)`);
  }

  const frame = readFileSync(join(DIR, 'person-plaza-3.jpg'));
  const until = performance.now() + MEASURE_S * 1000;
  let frames = 0;
  const sustained: number[] = [];
  const runStart = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() < until) {
    sustained.push((await detector.detect(frame)).ms);
    frames++;
  }
  const fps = frames / ((performance.now() - runStart) / 1000);
  // CPU time per frame: what the work costs, much less sensitive than wall time to the other
  // processes sharing this machine (the shared 2-core box often runs at a load of 10+).
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / Math.max(1, frames);
  const rssAdded = (process.memoryUsage().rss - rss0) / 2 ** 20;
  sustained.sort((a, b) => a - b);
  const median = sustained[Math.floor(sustained.length / 2)] ?? 0;
  const p95 = sustained[Math.floor(sustained.length * 0.95)] ?? 0;
  const precision = c.tp / Math.max(1, c.tp + c.fp);
  const recall = c.tp / Math.max(1, c.tp + c.fn);
  console.log(
    `ms per frame (640×480 JPEG → ${MODEL_INPUT}×${MODEL_INPUT}, decode included): median ${median}, p95 ${p95} over ${frames} frames`,
  );
  console.log(`CPU time per frame: ${Math.round(cpuMs)} ms (the wall time above includes waiting for a CPU on a loaded machine)`);
  console.log(`frames per second sustained: ${fps.toFixed(2)} (one detector, ${MEASURE_S} s)`);
  const mib = (n: number) => (n / 2 ** 20).toFixed(0);
  console.log(
    `RSS added: ${rssAdded.toFixed(0)} MiB at the end (target ≤ 150); ${mib(rssLoaded)} with the model loaded, ${mib(rssFirst ?? 0)} after one frame; WebAssembly heap ${mib(wasmHeap())} MiB`,
  );
  console.log(
    `RSS added by the detector's thread as the cameras run it, after ${WORKER_FRAMES} frames: ${limited.toFixed(0)} MiB with its V8 limits (${JSON.stringify(WORKER_LIMITS)}; target ≤ 150), ${defaults.toFixed(0)} MiB with V8's defaults`,
  );
  console.log(
    `person, per picture: precision ${precision.toFixed(2)}, recall ${recall.toFixed(2)} (tp ${c.tp}, fp ${c.fp}, fn ${c.fn}, tn ${c.tn})`,
  );
  console.log(
    `recall on people taller than 10 % of the frame: ${(c.tallHit / Math.max(1, c.tall)).toFixed(2)} (${c.tallHit}/${c.tall}; target ≥ 0.9)`,
  );
  console.log(
    `false person on empty scenes (incl. lighting changes): ${c.emptyFp}/${c.empty} = ${((100 * c.emptyFp) / Math.max(1, c.empty)).toFixed(0)} % (target ≤ 5 %)`,
  );
  console.log(`pets found (cat or dog): ${c.petHit}/${c.pets}`);
  console.log(
    `Raspberry Pi 4 estimate (CPU time ×${PI4_FACTOR}, see PI4_FACTOR in bench/detector.ts): ${Math.round(cpuMs * PI4_FACTOR)} ms per frame, ${(1000 / (cpuMs * PI4_FACTOR)).toFixed(2)} frames/s on one core`,
  );
  console.log(
    `target ≤ 250 ms per frame here: ${cpuMs <= 250 ? 'met' : 'NOT met'} by CPU time, ${median <= 250 ? 'met' : 'NOT met'} by wall time (median)`,
  );
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
