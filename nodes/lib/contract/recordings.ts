/**
 * Recordings and event clips (issue 19): what the recorder node serves and sends, and what the
 * dashboard page and the alert nodes read. Browser-safe like everything in nodes/lib/contract/.
 *
 * The recorder keeps a camera's stream as short segments copied from the stream (never
 * re-encoded), indexed in the store; an event's clip is cut from them at key frames.
 */

/** What a camera keeps: nothing, segments around events only, or everything. */
export type RecordingMode = 'off' | 'events' | 'continuous';
export const RECORDING_MODES: readonly RecordingMode[] = ['off', 'events', 'continuous'];

/** A clip's life: growing while its event runs (and the post-roll), then ready, or failed with a reason. */
export type ClipState = 'recording' | 'ready' | 'failed';

/** One recorded segment, as `GET /api/recordings/:cameraId` lists it. */
export interface RecordingSegment {
  /** Unix milliseconds of the segment's first and last frame */
  startMs: number;
  endMs: number;
  bytes: number;
}

/** An event's clip, as the API and the feed show it. */
export interface EventClip {
  cameraId: string;
  eventId: string;
  state: ClipState;
  /** what the clip covers: the event plus the pre-roll and post-roll, cut at key frames */
  startMs: number;
  endMs: number;
  /** the clip's own length and size once ready (null while recording or failed) */
  durationMs: number | null;
  bytes: number | null;
  /** why it failed (failed only) */
  reason?: string;
  /** the MP4, behind the API login, range requests answered: `apiUrl(API_PATHS.recordingClip, …)` */
  url: string;
}

/** The longest range the time line route answers (two days). */
export const MAX_TIMELINE_MS = 2 * 86_400_000;
/** The longest stretch the video route cuts into one MP4 (an hour). */
export const MAX_VIDEO_MS = 3_600_000;

/** `GET /api/recordings/:cameraId?from=&to=`: the day view's data (from/to Unix ms, at most MAX_TIMELINE_MS). */
export interface RecordingTimeline {
  cameraId: string;
  mode: RecordingMode;
  fromMs: number;
  toMs: number;
  segments: RecordingSegment[];
  /** the camera's events in the range, with their clips where one exists, for the marks on the time line */
  events: { eventId: string; activityType: string; startMs: number; endMs: number | null; clip: EventClip | null }[];
}

/** `GET /api/recordings` (and the dashboard's storage panel, and /metrics): disk use. */
export interface RecordingUsage {
  /** the recordings folder's file system */
  disk: { totalBytes: number; freeBytes: number };
  /** the floor kept free (whichever of the percentage and the bytes is larger) */
  floorBytes: number;
  /** true while the floor cannot be kept even with all continuous footage gone (a `storage-low` alert was raised) */
  low: boolean;
  cameras: { cameraId: string; mode: RecordingMode; segmentBytes: number; clipBytes: number; oldestMs: number | null }[];
}

/**
 * The recorder node's output when an event's clip is ready (or failed), for the alert nodes:
 * `msg.topic` is `clip/ready` or `clip/failed`, `msg.payload` this. `file` is the MP4's absolute
 * path on this runtime, for channels that upload it (Telegram sendVideo / editMessageMedia).
 */
export interface ClipReadyPayload extends EventClip {
  file: string | null;
}

export const CLIP_READY_TOPIC = 'clip/ready';
export const CLIP_FAILED_TOPIC = 'clip/failed';
