/**
 * The person detector in the camera pipeline: JPEG frames taken while motion is
 * seen go to the detector through a queue that drops the oldest (so a slow CPU
 * never holds up the stream or the motion events), and the motion events pass
 * through SmartEvents, which makes them MOTION_SMART when a person was seen.
 */
import { keep } from '../detect/filter';
import { DetectQueue, type QueueStats } from '../detect/queue';
import { SmartEvents, type SmartActivityPayload } from '../detect/smart-events';
import { WorkerDetector } from '../detect/worker-detector';
import type { Detection, DetectionFilter, ObjectDetector } from '../detect/types';
import type { ActivityPayload } from '../types';

export interface CameraDetectOptions {
  on: boolean;
  filter: DetectionFilter;
  /** the longest a motion start waits for the detector (ms, default 3000) */
  holdMs?: number;
  /** frames waiting for the detector at most (1–2; default 2) */
  queueSize?: number;
  /** the model; tests inject a fake (default: the shared CenterNet detector, in its own thread: worker-detector.ts) */
  detector?: ObjectDetector;
}

/** What the camera's detection output carries for one analysed frame. */
export interface CameraDetectionResult {
  /** when the frame was taken (Unix ms) */
  timeMs: number;
  /** the event in progress, if any */
  eventId?: string;
  /** the camera's detections (its labels, threshold and box size), best first */
  detections: Detection[];
  width: number;
  height: number;
  ms: number;
}

export interface DetectionSink {
  activity(kind: 'start' | 'stop', payload: SmartActivityPayload): void;
  thumbnail(eventId: string, jpeg: Buffer): void;
  detection?(result: CameraDetectionResult): void;
  problem(message: string): void;
}

export const DEFAULT_HOLD_MS = 3000;

export class CameraDetection {
  private readonly queue: DetectQueue;
  private readonly smart: SmartEvents;
  private eventId?: string;

  constructor(
    private readonly opts: CameraDetectOptions,
    minDurationMs: number,
    private readonly sink: DetectionSink,
  ) {
    this.smart = new SmartEvents({ filter: opts.filter, holdMs: opts.holdMs ?? DEFAULT_HOLD_MS, lookbackMs: minDurationMs + 1000 }, sink);
    this.queue = new DetectQueue(
      opts.detector ?? new WorkerDetector(),
      {
        result: (frame, result) => {
          this.smart.observe(frame.jpeg, frame.timeMs, result);
          this.sink.detection?.({
            timeMs: frame.timeMs,
            eventId: this.eventId,
            detections: keep(result.detections, opts.filter),
            width: result.width,
            height: result.height,
            ms: result.ms,
          });
        },
        failed: (_frame, err) => this.sink.problem(`detector: ${err.message}`),
      },
      Math.min(2, Math.max(1, opts.queueSize ?? 2)),
    );
  }

  get stats(): QueueStats {
    return this.queue.stats;
  }

  /** A JPEG frame of the stream: analysed only while motion is seen. */
  frame(jpeg: Buffer, moving: boolean, timeMs = Date.now()): void {
    if (moving) this.queue.offer({ jpeg, timeMs });
  }

  start(eventId: string, payload: ActivityPayload, startMs: number, picture?: Buffer): void {
    this.eventId = eventId;
    this.smart.start(eventId, payload, startMs, picture);
  }

  /** The event in progress touched more zones (every zone so far); `picture`: the frame now. */
  zones(eventId: string, zones: string[], picture?: Buffer): void {
    this.smart.zones(eventId, zones, picture);
  }

  stop(payload: ActivityPayload): void {
    this.eventId = undefined;
    this.smart.stop(payload);
  }

  close(): void {
    this.queue.close();
    this.smart.close();
  }
}
