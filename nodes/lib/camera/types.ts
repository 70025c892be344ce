/**
 * Shapes shared by the camera modules (the pipeline rpicam-rtsp and ipcam both run): the
 * stream's configuration, the supervisor's states and statistics, and the frames the analysis
 * produces.
 */
import type { RtspInput } from '../rtsp/rtsp-input';

export type SourceKind = 'rpicam' | 'v4l2' | 'testsrc' | 'scene' | 'rtsp';

export interface StreamConfig {
  source: SourceKind;
  /** where the relay publishes: rtsp://host:8554/path, without credentials; no relay when undefined */
  rtspUrl?: string;
  /** the 'rtsp' source: the camera it pulls */
  input?: RtspInput;
  username?: string;
  password?: string;
  width: number;
  height: number;
  framerate: number;
  /** bits per second */
  bitrate: number;
  /** frames between key frames */
  keyframeInterval: number;
  rotation: 0 | 180;
  hflip: boolean;
  vflip: boolean;
  /** rpicam-vid --low-latency: no B-frames (needed on a Pi 5, whose software encoder adds them) */
  lowLatency: boolean;
  rpicamPath: string;
  ffmpegPath: string;
  /** v4l2 source: the device and the H.264 encoder ffmpeg uses for it (e.g. h264_v4l2m2m on a Pi, libx264 elsewhere) */
  v4l2Device: string;
  v4l2Encoder: string;
  /** testsrc source: a moving picture (testsrc2, the default; motion detection sees it) or a still one (smptebars) */
  pattern?: 'moving' | 'static';
  /** scene source: the folder of its two pictures, empty.jpg and visitor.jpg (rpicam-rtsp's scene/ folder) */
  sceneDir?: string;
  /** udp://127.0.0.1:port: a copy of the video (MPEG-TS) for the Pi's own recorder; none when undefined */
  recordTo?: string;
  /** decoding for snapshots and motion; off when undefined (the relay alone, copy only) */
  analysis?: AnalysisConfig;
  /** no progress for this long: the pipeline is restarted */
  stallTimeoutMs: number;
  /** restart backoff */
  backoff: { baseMs: number; maxMs: number };
}

export interface AnalysisConfig {
  /** JPEG frames per second for snapshots and the MJPEG preview */
  jpegFps: number;
  /** JPEG width in pixels (height keeps the aspect ratio) */
  jpegWidth: number;
  /** small grey frames per second for motion detection */
  motionFps: number;
  motionWidth: number;
  motionHeight: number;
}

export type PipelineState = 'starting' | 'streaming' | 'stalled' | 'backing-off' | 'stopped';

export interface PipelineStats {
  state: PipelineState;
  /** frames per second the relay reports */
  fps: number;
  /** kbit/s the relay reports */
  bitrateKbps: number;
  /** frames relayed since the relay started */
  frames: number;
  /** frames the relay dropped */
  dropped: number;
  /** since the stream last started streaming; 0 when not streaming */
  uptimeMs: number;
  restarts: number;
  /** why the last run ended */
  lastError?: string;
  /** the last stderr lines of the process that failed */
  stderrTail: string[];
}

/** A small greyscale frame for motion detection (one byte per pixel, row by row). */
export interface GreyFrame {
  width: number;
  height: number;
  data: Uint8Array;
  timeMs: number;
}
