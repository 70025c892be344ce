/**
 * Where object-detector gets its model: the shared CenterNet detector. Tests put a
 * fake here before loading the node (a slow one, for the drop test).
 */
import { CenterNetDetector } from '../lib/detect/centernet';
import type { ObjectDetector } from '../lib/detect/types';

export const detectorFactory: { make: () => ObjectDetector } = { make: () => new CenterNetDetector() };
