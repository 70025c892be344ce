/**
 * The object detector: MB3-CenterNet, a COCO model (80 labels) of 4 MB that the
 * npm package @vladmandic/human ships in its models/ folder, run by TensorFlow.js
 * on its WebAssembly backend. Nothing is downloaded at run time or install time
 * beyond npm: the weights are read from node_modules, the .wasm from
 * @tensorflow/tfjs-backend-wasm.
 *
 * Why this one (docs/detector.md has the numbers): on a 2-core x86 it takes about
 * 200 ms a 512×512 frame and 150 MB, with no native module to build (onnxruntime-node
 * would need a model we cannot ship from a package, and tfjs-node a download of
 * libtensorflow at install time).
 *
 * TensorFlow.js has one engine a process, so the model is loaded once and shared
 * by every camera and node; runs are serialised (the backend is single-threaded).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeJpeg, type RgbImage } from './jpeg';
import { COCO_LABELS } from './labels';
import type { Detection, FrameDetections, ObjectDetector } from './types';

/** the model's input is fixed at 512×512 */
export const MODEL_INPUT = 512;
/** scores below this are never reported (the camera's threshold is usually 0.4) */
const FLOOR_SCORE = 0.15;
/** boxes of the same label overlapping more than this are one object */
const SAME_OBJECT_IOU = 0.5;

type Tf = typeof import('@tensorflow/tfjs-core');
type Model = import('@tensorflow/tfjs-converter').GraphModel;

let loading: Promise<{ tf: Tf; model: Model }> | undefined;
let running: Promise<unknown> = Promise.resolve();

/** Where the model files are: @vladmandic/human's models/ folder. */
export function modelDir(): string {
  return join(dirname(require.resolve('@vladmandic/human')), '..', 'models');
}

async function load(): Promise<{ tf: Tf; model: Model }> {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const converter = await import('@tensorflow/tfjs-converter');
  wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
  if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js WebAssembly backend did not start');
  await tf.ready();
  const spec = JSON.parse(readFileSync(join(modelDir(), 'centernet.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: Array<{ weights: import('@tensorflow/tfjs-core').io.WeightsManifestEntry[] }>;
  };
  const bin = readFileSync(join(modelDir(), 'centernet.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length) as ArrayBuffer;
  const model = await converter.loadGraphModel(
    tf.io.fromMemory({ modelTopology: spec.modelTopology, weightSpecs: spec.weightsManifest.flatMap((m) => m.weights), weightData }),
  );
  return { tf, model };
}

/** Loads the model once a process; a failed load is tried again on the next call. */
function engine(): Promise<{ tf: Tf; model: Model }> {
  loading ??= load().catch((err: Error) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

export class CenterNetDetector implements ObjectDetector {
  /** Loads the model now (it takes about a second) instead of on the first frame. */
  async warmUp(): Promise<void> {
    await engine();
  }

  async detect(jpeg: Buffer): Promise<FrameDetections> {
    const img = decodeJpeg(jpeg);
    const started = performance.now();
    const { tf, model } = await engine();
    const run = running.then(() => infer(tf, model, img));
    running = run.catch(() => undefined);
    const rows = await run;
    return { width: img.width, height: img.height, detections: suppress(rows), ms: Math.round(performance.now() - started) };
  }
}

/** The model's 100 candidates as detections (x1, y1, x2, y2 in input pixels, score, class). */
async function infer(tf: Tf, model: Model, img: RgbImage): Promise<Detection[]> {
  const out = tf.tidy(() => {
    const input = tf.tensor4d(resizeToInput(img), [1, MODEL_INPUT, MODEL_INPUT, 3]);
    return model.execute(input, 'tower_0/detections') as import('@tensorflow/tfjs-core').Tensor;
  });
  const rows = ((await out.array()) as number[][][])[0] ?? [];
  out.dispose();
  const pct = (v: number): number => Math.round((1000 * Math.min(MODEL_INPUT, Math.max(0, v))) / MODEL_INPUT) / 10;
  const found: Detection[] = [];
  for (const [x1 = 0, y1 = 0, x2 = 0, y2 = 0, score = 0, cls = -1] of rows) {
    const label = COCO_LABELS[cls];
    if (!label || !(score >= FLOOR_SCORE)) continue;
    const [x, y] = [pct(x1), pct(y1)];
    found.push({
      label,
      score: Math.round(score * 100) / 100,
      box: { x, y, w: Math.round((pct(x2) - x) * 10) / 10, h: Math.round((pct(y2) - y) * 10) / 10 },
    });
  }
  return found;
}

/**
 * The model's input, 512×512 RGB as floats: one buffer a process, reused by every run (runs are
 * one at a time, and TensorFlow.js copies a new tensor's values into the WebAssembly heap when it
 * is made). Each frame used to allocate a float copy of the whole picture (3.7 MB for 640×480)
 * and resize it inside the WebAssembly heap; that garbage, freed late and fragmented, kept the
 * process about 30 MB larger than the model needs (docs/detector.md, "Memory").
 */
let inputBuffer: Float32Array | undefined;

/**
 * Bilinear resize to the model's input, as tf.image.resizeBilinear computes it by default
 * (alignCorners and halfPixelCenters off: a target pixel t samples the source at t × in/out),
 * so the detections are those of the resize it replaces.
 */
export function resizeToInput(img: RgbImage): Float32Array {
  const n = MODEL_INPUT;
  const out = (inputBuffer ??= new Float32Array(n * n * 3));
  const { width: w, height: h, data } = img;
  const [ry, rx] = [h / n, w / n];
  for (let y = 0; y < n; y++) {
    const sy = y * ry;
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, Math.ceil(sy));
    const dy = sy - y0;
    for (let x = 0; x < n; x++) {
      const sx = x * rx;
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, Math.ceil(sx));
      const dx = sx - x0;
      const [tl, tr, bl, br] = [(y0 * w + x0) * 3, (y0 * w + x1) * 3, (y1 * w + x0) * 3, (y1 * w + x1) * 3];
      const o = (y * n + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[tl + c]! + (data[tr + c]! - data[tl + c]!) * dx;
        const bottom = data[bl + c]! + (data[br + c]! - data[bl + c]!) * dx;
        out[o + c] = top + (bottom - top) * dy;
      }
    }
  }
  return out;
}

/** Best first; a box of the same label overlapping a better one is the same object. */
export function suppress(found: Detection[]): Detection[] {
  const kept: Detection[] = [];
  for (const d of [...found].sort((a, b) => b.score - a.score)) {
    if (!kept.some((k) => k.label === d.label && iou(k.box, d.box) > SAME_OBJECT_IOU)) kept.push(d);
  }
  return kept;
}

function iou(a: Detection['box'], b: Detection['box']): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.w * a.h + b.w * b.h - inter);
}
