/**
 * What GET /api/live/:cameraId answers (the vbc01-live node) and the dashboard reads: a VBC01
 * camera's live state. Browser-safe: no imports.
 */

/**
 * idle: nothing ran yet · asking: stream/play handed to the command sender · waiting: the broker
 * took it, no video yet · playing · stalled: the video stopped for a moment · failed: it ended on
 * its own (`reason`: "the camera did not answer: ...") · stopped: nobody watched, or a redeploy.
 */
export type LiveStateName = 'idle' | 'asking' | 'waiting' | 'playing' | 'stalled' | 'failed' | 'stopped';

export interface LiveCameraState {
  cameraId: string;
  state: LiveStateName;
  reason?: string;
  streamId?: string;
  /** Unix ms of the last change */
  sinceMs?: number;
  keepalivesSent?: number;
  /** the bridge's counters (nodes/lib/live/bridge-types.ts LiveStreamStats) */
  stats?: { packets: number; lost: number; bitrateBps: number; rembSent: number; viewers: number };
}
