/**
 * Where object-detector gets its model: the shared CenterNet detector, in its own thread. Tests put a
 * fake here before loading the node (a slow one, for the drop test).
 */
import { WorkerDetector } from '../lib/detect/worker-detector';
import type { ObjectDetector } from '../lib/detect/types';

export const detectorFactory: { make: () => ObjectDetector } = { make: () => new WorkerDetector() };
