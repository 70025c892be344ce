/**
 * The detector's own shapes; `Detection`, which crosses wires, is the contract's
 * (nodes/lib/contract/detection.ts).
 */

import type { Detection } from '../contract/detection';

export type { Detection, PercentBox } from '../contract/detection';

/** The detector's answer for one frame. */
export interface FrameDetections {
  /** the frame's size in pixels */
  width: number;
  height: number;
  /** every object the model reports above its floor score, best first (before a camera's filter) */
  detections: Detection[];
  /** inference time: decode, resize and model (ms) */
  ms: number;
}

/** Anything that finds objects in a JPEG: the real model, or a fake in tests. */
export interface ObjectDetector {
  detect(jpeg: Buffer): Promise<FrameDetections>;
}

/** Per camera: which detections count. */
export interface DetectionFilter {
  /** minimum score, 0–1 (default 0.4) */
  threshold: number;
  /** minimum box height in percent of the frame (default 5) */
  minBoxPercent: number;
  /** labels that count (default person, car, dog, cat) */
  labels: string[];
}

export const DEFAULT_FILTER: DetectionFilter = { threshold: 0.4, minBoxPercent: 5, labels: ['person', 'car', 'dog', 'cat'] };

/** The label that makes a motion event MOTION_SMART, as a VBC01 reports a person. */
export const SMART_LABEL = 'person';
