/**
 * What the ipcam node's API says about IP cameras, for the node, the store and
 * the dashboard page alike: a camera as the user describes it, the connection
 * check's answer and what WS-Discovery found. Browser-safe, like everything in
 * nodes/lib/contract/.
 */
import type { CameraMode } from './camera-mode';

export const MOTION_SOURCES = ['analyser', 'onvif', 'both'] as const;
/** Where a camera's motion events come from: our analyser of the sub stream, the camera's own ONVIF events, or both. */
export type MotionSource = (typeof MOTION_SOURCES)[number];

/** A camera as the user describes it (editor, API, database row). */
export interface CameraSpec {
  id: string;
  name: string;
  /** rtsp://host:554/path of the main stream (live video); '' when the camera has one stream */
  mainUrl: string;
  /** rtsp:// URL of the sub stream (analysis, MJPEG) */
  subUrl: string;
  transport: 'tcp' | 'udp';
  username: string;
  password: string;
  mode: CameraMode;
  motion: boolean;
  /** the camera's ONVIF address (host or host:port, port 80 by default); '' when not given */
  onvif: string;
  motionSource: MotionSource;
}

/** One stream's video as the connection check found it. */
export interface VideoInfo {
  codec: string;
  width: number;
  height: number;
  /** frames per second the stream announces (0 when it does not say) */
  fps: number;
  /** the stream reorders frames (B-frames) */
  bFrames: boolean;
}

/** The connection check of a camera's streams. */
export interface CameraCheck {
  ok: boolean;
  /** the one-line reason when not ok */
  error?: string;
  warnings: string[];
  main?: VideoInfo;
  sub?: VideoInfo;
}

/** A camera that answered WS-Discovery. */
export interface DiscoveredCamera {
  /** the device's WS-Addressing endpoint (urn:uuid:…), or its first service address */
  endpoint: string;
  /** the device service URLs it announced (http://host:port/onvif/device_service) */
  xaddrs: string[];
  /** host and port of the first XAddr: what the add form's ONVIF address wants */
  host: string;
  port: number;
  name?: string;
  hardware?: string;
  /** where the reply came from */
  from: string;
}
