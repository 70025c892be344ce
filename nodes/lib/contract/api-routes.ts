/**
 * Who serves `/api/X`: every route under /api of a cloud (and demo) runtime, with its method,
 * the code that answers it and the login it needs. One table, because the answers come from
 * four places: the dashboard's server side (dashboard/server/dashboard-server.ts), the cloud
 * flow's `http in` nodes (flows/cloud.json), the camera gateway node (its media router) and the
 * runtime's WebSocket upgrade. test/nodes/lib/contract/api-routes.test.ts starts a cloud runtime
 * and checks that what it really serves is exactly this table; README "HTTP routes" prints it.
 *
 * Browser-safe data (nodes/lib/contract/): the dashboard page may read paths from here too.
 */

export type RouteMethod = 'GET' | 'POST' | 'DELETE';

/**
 * The code that answers a route:
 * - `dashboard-server`: dashboard/server/dashboard-server.ts, on the runtime's own Express app
 * - `cloud-flow`: an `http in` node of flows/cloud.json (Node-RED's httpNode)
 * - `hivecam-gateway`: the camera gateway node's media router, mounted on httpNode while it runs
 * - `live-feed`: the WebSocket upgrade on the runtime's HTTP server (dashboard/server/live-feed.ts)
 * - `ipcam`: the IP camera node's router (nodes/ipcam/api.ts), mounted on httpNode while it runs
 */
export type RouteOwner = 'dashboard-server' | 'cloud-flow' | 'hivecam-gateway' | 'live-feed' | 'ipcam';

/**
 * The login a route needs outside the demo (the demo has none):
 * - `public`: nobody logs in first (login, and asking who is logged in)
 * - `session`: a dashboard session cookie (CSRF token on writes)
 * - `api`: the API guard: a dashboard session (CSRF token on writes), an API token
 *   (`Authorization: Bearer`), or the API user's Basic credentials
 * - `feed`: a dashboard session cookie or an API token, checked before the WebSocket upgrade
 */
export type RouteAuth = 'public' | 'session' | 'api' | 'feed';

export interface ApiRoute {
  method: RouteMethod;
  /** Express's spelling: `:name` is one path segment */
  path: string;
  owner: RouteOwner;
  auth: RouteAuth;
  /** what it answers, in a few words (docs/api.md has the details) */
  what: string;
}

/** Where the camera gateway mounts its media router (seed 004's /api/media/...). */
export const MEDIA_ROUTES_ROOT = '/api/media';

/** Where the ipcam node mounts its router unless its `apiPath` says otherwise. */
export const IPCAM_ROUTES_ROOT = '/api/ipcams';

/** The dashboard's live feed (a WebSocket upgrade, not an Express route). */
export const LIVE_FEED_PATH = '/api/ws';

export const API_ROUTES: readonly ApiRoute[] = [
  // ---- dashboard logins and live video (dashboard/server/)
  { method: 'GET', path: '/api/session', owner: 'dashboard-server', auth: 'public', what: 'who is logged in, CSRF token, video settings' },
  { method: 'POST', path: '/api/login', owner: 'dashboard-server', auth: 'public', what: 'log in: session cookie' },
  { method: 'POST', path: '/api/logout', owner: 'dashboard-server', auth: 'session', what: 'end the session' },
  { method: 'GET', path: '/api/stream-token', owner: 'dashboard-server', auth: 'session', what: 'a short-lived token for live video' },
  { method: 'GET', path: LIVE_FEED_PATH, owner: 'live-feed', auth: 'feed', what: 'live feed WebSocket' },
  // ---- the store's data (flows/cloud.json, answered from nodes/lib/store/queries.ts)
  { method: 'GET', path: '/api/cameras', owner: 'cloud-flow', auth: 'api', what: 'cameras and their state' },
  { method: 'GET', path: '/api/events', owner: 'cloud-flow', auth: 'api', what: 'activity events, paged' },
  { method: 'GET', path: '/api/status', owner: 'cloud-flow', auth: 'api', what: 'device status heartbeats' },
  { method: 'GET', path: '/api/sensors/:deviceId', owner: 'cloud-flow', auth: 'api', what: 'sensor history, bucketed' },
  { method: 'GET', path: '/api/streams', owner: 'cloud-flow', auth: 'api', what: 'stream health' },
  { method: 'GET', path: '/api/alerts', owner: 'cloud-flow', auth: 'api', what: 'alerts and their delivery' },
  { method: 'GET', path: '/api/dead-letters', owner: 'cloud-flow', auth: 'api', what: 'input that could not be parsed' },
  { method: 'GET', path: '/api/commands', owner: 'cloud-flow', auth: 'api', what: 'commands sent to devices' },
  { method: 'GET', path: '/api/commands/:id', owner: 'cloud-flow', auth: 'api', what: 'one command and its state' },
  // ---- commands to devices (flows/cloud.json → mqtt-processor → command-sender)
  { method: 'POST', path: '/api/control/mode/:id/:mode', owner: 'cloud-flow', auth: 'api', what: 'set a camera mode' },
  { method: 'POST', path: '/api/control/reboot/:id', owner: 'cloud-flow', auth: 'api', what: 'reboot a device' },
  { method: 'POST', path: '/api/control/settings/:id', owner: 'cloud-flow', auth: 'api', what: 'change device settings' },
  { method: 'POST', path: '/api/control/sound/:id/:sound', owner: 'cloud-flow', auth: 'api', what: 'play a VBC01 sound, or stop it' },
  // ---- the VBC01 camera gateway (flows/cloud.json → hivecam-gateway, and its own media router)
  { method: 'GET', path: '/api/gateway/cameras', owner: 'cloud-flow', auth: 'api', what: 'enrolled cameras' },
  { method: 'GET', path: '/api/gateway/usage', owner: 'cloud-flow', auth: 'api', what: 'upload disk use' },
  { method: 'POST', path: '/api/gateway/:command', owner: 'cloud-flow', auth: 'api', what: 'gateway commands (enrolment, prune...)' },
  { method: 'GET', path: `${MEDIA_ROUTES_ROOT}/thumbnail/:eventId`, owner: 'hivecam-gateway', auth: 'api', what: "an event's thumbnail" },
  { method: 'GET', path: `${MEDIA_ROUTES_ROOT}/recording/:eventId`, owner: 'hivecam-gateway', auth: 'api', what: "an event's recording" },
  { method: 'GET', path: `${MEDIA_ROUTES_ROOT}/playlist/:eventId.m3u8`, owner: 'hivecam-gateway', auth: 'api', what: 'HLS playlist' },
  { method: 'GET', path: `${MEDIA_ROUTES_ROOT}/playlist/:eventId/:segment`, owner: 'hivecam-gateway', auth: 'api', what: 'HLS segment' },
  { method: 'GET', path: `${MEDIA_ROUTES_ROOT}/usage`, owner: 'hivecam-gateway', auth: 'api', what: 'media disk use' },
  // ---- IP cameras (flows/cloud.json → ipcam, its own router)
  { method: 'GET', path: `${IPCAM_ROUTES_ROOT}/`, owner: 'ipcam', auth: 'api', what: 'the IP cameras and their state' },
  { method: 'POST', path: `${IPCAM_ROUTES_ROOT}/`, owner: 'ipcam', auth: 'api', what: 'add an IP camera (checked first)' },
  { method: 'POST', path: `${IPCAM_ROUTES_ROOT}/test`, owner: 'ipcam', auth: 'api', what: 'check a camera without adding it' },
  { method: 'POST', path: `${IPCAM_ROUTES_ROOT}/onvif`, owner: 'ipcam', auth: 'api', what: "a camera's stream URLs over ONVIF" },
  { method: 'DELETE', path: `${IPCAM_ROUTES_ROOT}/:id`, owner: 'ipcam', auth: 'api', what: 'remove an IP camera' },
  { method: 'POST', path: `${IPCAM_ROUTES_ROOT}/:id/mode`, owner: 'ipcam', auth: 'api', what: "set an IP camera's mode" },
  { method: 'GET', path: `${IPCAM_ROUTES_ROOT}/:id/mjpeg`, owner: 'ipcam', auth: 'api', what: 'MJPEG of the sub stream' },
  { method: 'GET', path: `${IPCAM_ROUTES_ROOT}/:id/snapshot`, owner: 'ipcam', auth: 'api', what: 'one JPEG now' },
];
