/**
 * The detector's thread (worker-detector.ts starts it): the model runs here, so an inference
 * (200 ms to over a second of WebAssembly on a Pi) never holds up the runtime's event loop, where
 * the streams, MQTT, HTTP and every other node run. One request at a time comes in, as the
 * centernet module serialises runs anyway.
 */
import { parentPort } from 'node:worker_threads';
import { CenterNetDetector } from './centernet';
import { BadPicture } from './jpeg';
import type { WorkerAnswer, WorkerRequest } from './worker-detector';

const detector = new CenterNetDetector();

parentPort?.on('message', (req: WorkerRequest) => {
  const answer = (a: WorkerAnswer) => parentPort!.postMessage(a);
  const run = req.jpeg ? detector.detect(Buffer.from(req.jpeg.buffer, req.jpeg.byteOffset, req.jpeg.byteLength)) : detector.warmUp();
  run.then(
    (result) => answer({ id: req.id, ...(result ? { result } : {}) }),
    (err: Error) => answer({ id: req.id, error: err.message, bad: err instanceof BadPicture }),
  );
});
