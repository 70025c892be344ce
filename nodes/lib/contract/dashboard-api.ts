/**
 * JSON shapes between the dashboard page and the runtime, beside the live
 * feed's (feed.ts). Browser-safe: the server (dashboard/server/, the store's
 * queries) and the browser bundle (dashboard/src/) both import this file.
 */

import type { ApiRole } from './api-routes';

/** What the page needs to know about the server's video sources. */
export interface DashboardClientConfig {
  /** MediaMTX's WebRTC server as the browser reaches it, without a trailing slash; '' when none */
  webrtcUrl: string;
  /** device id → MJPEG preview URL, the fallback when there is no WebRTC */
  mjpeg: Record<string, string>;
  /** cameras the runtime serves over its own WHEP (/api/live), as it does VBC01s: RTSP sources where no MediaMTX runs */
  runtimeLive?: string[];
}

/** GET /api/session (200), POST /api/login (200) */
export interface SessionInfo {
  /** null in the demo, which has no logins */
  user: string | null;
  /** true in the demo: no login, no logout */
  open: boolean;
  /** send in X-CSRF-Token with every POST/PUT/PATCH/DELETE; '' in the demo */
  csrfToken: string;
  /** Unix ms; null in the demo */
  expiresAt: number | null;
  remember: boolean;
  /** what this login may do (issue 23); admin in the demo */
  role: ApiRole;
  /** the cameras this login may see; null: all */
  cameras: string[] | null;
  config: DashboardClientConfig;
}

/** POST /api/login body */
export interface LoginRequest {
  username: string;
  password: string;
  remember?: boolean;
}

/** Every error answer */
export interface ApiError {
  error: string;
}

/** The header the page sends so a 401 does not make the browser ask for Basic credentials. */
export const DASHBOARD_CLIENT_HEADER = 'x-requested-with';
export const DASHBOARD_CLIENT_VALUE = 'picam-dashboard';

/** `res.locals` key where the API guard leaves who a request is (routes that keep things per user read it; unset: the demo's no-login). */
export const API_USER_LOCAL = 'picamUser';

/**
 * `res.locals` key where a route may say how its change reads in the audit ({action, target,
 * detail}); the API guard writes the entry once the change succeeded (issue 23).
 */
export const AUDIT_LOCAL = 'picamAudit';

/** `res.locals` key where the API guard leaves the login's role and camera limit ({name, role, cameras}). */
export const API_PRINCIPAL_LOCAL = 'picamPrincipal';

/** A browser's push subscription as the dashboard sends it (PushSubscription.toJSON()). */
export interface PushSubscriptionRequest {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

// ---- API rows the page reads (README's API table; nodes/lib/store/queries.ts builds them)

export { CAMERA_MODES, type CameraMode } from './camera-mode';
export { SOUND_TYPES, type SoundType } from './sound';
export type * from './api-rows';
import type { CursorPage, EventRow, SensorPoint, SensorResolution } from './api-rows';

export interface EventPage extends CursorPage {
  events: EventRow[];
}

/** GET /api/sensors/{id} */
export interface SensorHistory {
  deviceId: string;
  from: number;
  to: number;
  /** 0 for raw readings one by one, else the width of each point's bucket */
  bucketMs: number;
  /** raw readings for short ranges, the minute or hour roll-ups for longer ones (issue 18) */
  resolution: SensorResolution;
  readings: SensorPoint[];
}

/** POST /api/control/mode/{id}/{mode} → 202 */
export interface CommandAccepted {
  status: 'ok';
  /** `state` is `queued`: the command is committed; GET /api/commands/{requestId} follows it */
  data: { requestId: string; topic: string; state: 'queued' };
}
