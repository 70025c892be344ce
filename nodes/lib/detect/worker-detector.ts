/**
 * The person detector off the runtime's main thread: one worker thread a process runs the model
 * (detect-worker.ts), shared by every camera and object-detector node. TensorFlow.js's WebAssembly
 * backend computes synchronously, so in the main thread each frame blocked everything else in the
 * runtime for the length of an inference (the demo, which runs cloud and Pi in one process, lost its
 * live video and its API answers while motion lasted). The worker is started on first use, keeps the
 * process alive only while it owes an answer, and is started again after it dies (requests in flight
 * fail with the reason).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BadPicture } from './jpeg';
import type { FrameDetections, ObjectDetector } from './types';

/** To the worker: a JPEG to analyse, or (no jpeg) load the model now. */
export interface WorkerRequest {
  id: number;
  jpeg?: Uint8Array;
}

/** From the worker: the result, or why there is none (`bad`: the picture itself). */
export interface WorkerAnswer {
  id: number;
  result?: FrameDetections;
  error?: string;
  bad?: boolean;
}

type Pending = { resolve: (r: FrameDetections | undefined) => void; reject: (err: Error) => void };

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();

/**
 * The worker's script: built, dist/nodes/lib/detect/detect-worker.js (a tsup entry), found from
 * whichever dist/ file this code was bundled into; from source (tests under tsx), the .ts beside this
 * file, which the worker loads with the same --import as this thread.
 */
export function workerScript(from = __dirname, source = __filename.endsWith('.ts')): string {
  const name = `detect-worker.${source ? 'ts' : 'js'}`;
  for (let dir = from; ; dir = dirname(dir)) {
    for (const candidate of [join(dir, name), join(dir, 'nodes', 'lib', 'detect', name)]) if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`the detector's worker script ${name} is missing (looked above ${from})`);
  }
}

/**
 * The thread's V8 young generation: TensorFlow.js makes a few hundred short-lived tensor objects
 * a frame, and with V8's default (3 × 16 MB semi-spaces) the thread's heap grew to hold a frame's
 * garbage: 170 MB of RSS added with the model running against 143 MB at 8 MB, for the same CPU
 * time per frame (docs/detector.md, Memory). 6 MB or less promoted that garbage to the old
 * generation and RSS grew back.
 */
export const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8 };

function thread(): Worker {
  if (worker) return worker;
  const script = workerScript();
  // From source (tests run under tsx) the thread registers tsx itself: a worker's entry does not go through the
  // --import hooks, and with them inherited (execArgv) their own loader thread kept the process from exiting.
  const w = script.endsWith('.ts')
    ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, { eval: true, execArgv: [], resourceLimits: WORKER_LIMITS })
    : new Worker(script, { resourceLimits: WORKER_LIMITS });
  w.on('message', (a: WorkerAnswer) => {
    const p = pending.get(a.id);
    if (!p) return;
    pending.delete(a.id);
    if (pending.size === 0) w.unref();
    if (a.error !== undefined) p.reject(a.bad ? new BadPicture(a.error) : new Error(a.error));
    else p.resolve(a.result);
  });
  const gone = (err: Error) => {
    if (worker !== w) return;
    worker = undefined;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  w.on('error', (err) => gone(new Error(`the detector's thread failed: ${err.message}`)));
  w.on('exit', (code) => gone(new Error(`the detector's thread ended (exit code ${code})`)));
  worker = w;
  return w;
}

function ask(jpeg?: Buffer): Promise<FrameDetections | undefined> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const w = thread();
    pending.set(id, { resolve, reject });
    // The thread keeps the process alive only while it owes an answer (unref'd again when idle).
    w.ref();
    // A copy goes to the thread (the caller's buffer may be a slice of a pooled one).
    w.postMessage({ id, ...(jpeg ? { jpeg: new Uint8Array(jpeg) } : {}) } satisfies WorkerRequest);
  });
}

export class WorkerDetector implements ObjectDetector {
  /** Loads the model in the thread now instead of on the first frame. */
  async warmUp(): Promise<void> {
    await ask();
  }

  async detect(jpeg: Buffer): Promise<FrameDetections> {
    if (!Buffer.isBuffer(jpeg)) throw new BadPicture('not a JPEG picture (it must be a Buffer)');
    const result = await ask(jpeg);
    if (!result) throw new Error('the detector answered nothing');
    return result;
  }
}

/** Ends the thread (tests; a process ends it anyway). */
export async function stopDetectorThread(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}
