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

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * The code that answers a route:
 * - `dashboard-server`: dashboard/server/dashboard-server.ts, on the runtime's own Express app
 * - `cloud-flow`: an `http in` node of flows/cloud.json (Node-RED's httpNode)
 * - `hivecam-gateway`: the camera gateway node's media router, mounted on httpNode while it runs
 * - `live-feed`: the WebSocket upgrade on the runtime's HTTP server (dashboard/server/live-feed.ts)
 * - `ipcam`: the IP camera node's router (nodes/ipcam/api.ts), mounted on httpNode while it runs
 * - `vbc01-live`: the VBC01 live view node's router (nodes/vbc01-live/whep-api.ts), mounted on httpNode while it runs
 * - `recorder`: the recorder node's router (nodes/recorder/), mounted on httpNode while it runs
 * - `webpush-alert`: the Web Push node's router (nodes/webpush-alert/push-api.ts), mounted on httpNode while it runs
 * - `access-control`: the access-control node's router (nodes/access-control/access-api.ts): users, API tokens,
 *   the audit and the first-run page's admin, mounted on httpNode while it runs
 */
export type RouteOwner =
  | 'runtime'
  | 'dashboard-server'
  | 'cloud-flow'
  | 'hivecam-gateway'
  | 'live-feed'
  | 'ipcam'
  | 'vbc01-live'
  | 'recorder'
  | 'webpush-alert'
  | 'access-control';

/**
 * The login a route needs outside the demo (the demo has none):
 * - `public`: nobody logs in first (login, and asking who is logged in)
 * - `session`: a dashboard session cookie (CSRF token on writes)
 * - `api`: the API guard: a dashboard session (CSRF token on writes), an API token
 *   (`Authorization: Bearer`), or the API user's Basic credentials
 * - `feed`: a dashboard session cookie or an API token, checked before the WebSocket upgrade
 * - `stream-token`: what `api` accepts, or a live-video stream token (`Authorization: Bearer`,
 *   from GET /api/stream-token, as MediaMTX takes it); the route itself insists on a valid token
 * - `signed-link`: no login; the route itself insists on a valid, unexpired signature in the query
 *   (nodes/lib/event-links.ts), 403 otherwise: a phone's notification loads an event's picture so
 */
export type RouteAuth = 'public' | 'session' | 'api' | 'feed' | 'stream-token' | 'signed-link';

/**
 * Who may use a route once logged in, lowest first: a viewer watches (cameras, events,
 * recordings, live video); an operator also acts on cameras (modes, snapshots, reboots, sounds,
 * live relays); an admin also changes the installation (users, tokens, cameras, zones, device
 * settings, enrolment, alert settings, dead letters, the audit). The API guard
 * (dashboard/server/dashboard-server.ts) checks every request against the route's role; the
 * demo (no logins) treats everyone as an admin.
 */
export type ApiRole = 'viewer' | 'operator' | 'admin';

/** The roles, lowest first: a role may do everything a lower one may. */
export const API_ROLES: readonly ApiRole[] = ['viewer', 'operator', 'admin'];

export const isApiRole = (value: unknown): value is ApiRole => API_ROLES.includes(value as ApiRole);

/** Whether `role` may use what `needed` is required for. */
export const roleAtLeast = (role: ApiRole, needed: ApiRole): boolean => API_ROLES.indexOf(role) >= API_ROLES.indexOf(needed);

export interface ApiRoute {
  method: RouteMethod;
  /** Express's spelling: `:name` is one path segment */
  path: string;
  owner: RouteOwner;
  auth: RouteAuth;
  /** the lowest role that may use it (public routes: viewer, though nobody need be logged in) */
  role: ApiRole;
  /**
   * The path parameter that names a camera: a user limited to some cameras is refused (403) the
   * others here. Routes that name a camera only indirectly check the limit themselves: the media
   * routes by the event's camera (hivecam-gateway/media-routes.ts), `one` routes by their answer.
   */
  camera?: string;
  /**
   * Answers a list with camera rows: for a user limited to some cameras, the others are left out.
   * `true`: rows name their camera in camera_id, cameraId, device_id or deviceId; a string: that field.
   */
  lists?: true | string;
  /**
   * Answers one camera's row in this property of its answer (`{command: {...}}`): a user limited to
   * some cameras is refused (403) another camera's.
   */
  one?: string;
  /** what it answers, in a few words (docs/api.md has the details) */
  what: string;
}

export * from './api-paths';
import { API_PATHS, LIVE_FEED_PATH, METRICS_PATH } from './api-paths';

export const API_ROUTES: readonly ApiRoute[] = [
  // ---- the runtime's own (cli/runtime/ops.ts; /healthz answers everyone and is not here)
  {
    method: 'GET',
    path: METRICS_PATH,
    owner: 'runtime',
    auth: 'api',
    // counts, memory and camera ids: for whoever runs the system, not every family member who watches
    role: 'operator',
    what: 'Prometheus metrics',
  },
  // ---- dashboard logins and live video (dashboard/server/)
  {
    method: 'GET',
    path: API_PATHS.session,
    owner: 'dashboard-server',
    auth: 'public',
    role: 'viewer',
    what: 'who is logged in, CSRF token, video settings',
  },
  { method: 'POST', path: API_PATHS.login, owner: 'dashboard-server', auth: 'public', role: 'viewer', what: 'log in: session cookie' },
  { method: 'POST', path: API_PATHS.logout, owner: 'dashboard-server', auth: 'session', role: 'viewer', what: 'end the session' },
  {
    method: 'GET',
    path: API_PATHS.streamToken,
    owner: 'dashboard-server',
    auth: 'session',
    role: 'viewer',
    what: 'a short-lived token for live video',
  },
  { method: 'GET', path: LIVE_FEED_PATH, owner: 'live-feed', auth: 'feed', role: 'viewer', what: 'live feed WebSocket' },
  // ---- the store's data (flows/cloud.json, answered from nodes/lib/store/queries.ts)
  {
    method: 'GET',
    path: API_PATHS.cameras,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'viewer',
    lists: true,
    what: 'cameras and their state',
  },
  { method: 'GET', path: API_PATHS.events, owner: 'cloud-flow', auth: 'api', role: 'viewer', lists: true, what: 'activity events, paged' },
  {
    method: 'GET',
    path: API_PATHS.status,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'viewer',

    what: 'device status heartbeats',
  },
  {
    method: 'GET',
    path: API_PATHS.sensors,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'viewer',
    camera: 'deviceId',
    what: 'sensor history, bucketed',
  },
  { method: 'GET', path: API_PATHS.streams, owner: 'cloud-flow', auth: 'api', role: 'viewer', lists: 'path', what: 'stream health' },
  {
    method: 'GET',
    path: API_PATHS.alerts,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'viewer',
    lists: true,
    what: 'alerts and their delivery',
  },
  { method: 'GET', path: API_PATHS.deadLetters, owner: 'cloud-flow', auth: 'api', role: 'admin', what: 'input that could not be parsed' },
  {
    method: 'GET',
    path: API_PATHS.commands,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'viewer',
    lists: true,
    what: 'commands sent to devices',
  },
  {
    method: 'GET',
    path: API_PATHS.command,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'viewer',
    one: 'command',
    what: 'one command and its state',
  },
  // ---- commands to devices (flows/cloud.json → mqtt-processor → command-sender)
  {
    method: 'POST',
    path: API_PATHS.controlMode,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'operator',
    camera: 'id',
    what: 'set a camera mode',
  },
  {
    method: 'POST',
    path: API_PATHS.controlReboot,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'operator',
    camera: 'id',
    what: 'reboot a device',
  },
  {
    method: 'POST',
    path: API_PATHS.controlSettings,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'admin',
    camera: 'id',
    what: 'change device settings',
  },
  {
    method: 'POST',
    path: API_PATHS.controlSound,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'operator',
    camera: 'id',
    what: 'play a VBC01 sound, or stop it',
  },
  {
    method: 'POST',
    path: API_PATHS.controlLive,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'operator',
    camera: 'id',
    what: 'ask a Pi to relay a hosted camera',
  },
  {
    method: 'POST',
    path: API_PATHS.controlZones,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'admin',
    camera: 'id',
    what: "set a Pi's or an IP camera's masks and zones",
  },
  // ---- the VBC01 camera gateway (flows/cloud.json → hivecam-gateway, and its own media router)
  {
    method: 'GET',
    path: API_PATHS.gatewayCameras,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'viewer',
    lists: true,
    what: 'enrolled cameras',
  },
  { method: 'GET', path: API_PATHS.gatewayUsage, owner: 'cloud-flow', auth: 'api', role: 'viewer', what: 'upload disk use' },
  {
    method: 'POST',
    path: API_PATHS.gatewayCommand,
    owner: 'cloud-flow',
    auth: 'api',
    role: 'admin',
    what: 'gateway commands (enrolment, prune...)',
  },
  { method: 'GET', path: API_PATHS.mediaThumbnail, owner: 'hivecam-gateway', auth: 'api', role: 'viewer', what: "an event's thumbnail" },
  {
    method: 'GET',
    path: API_PATHS.mediaPicture,
    owner: 'hivecam-gateway',
    auth: 'signed-link',
    role: 'viewer',
    what: "an event's thumbnail by a signed, expiring link (?c=&e=&t=&x=&s=, from a Web Push alert)",
  },
  { method: 'GET', path: API_PATHS.mediaRecording, owner: 'hivecam-gateway', auth: 'api', role: 'viewer', what: "an event's recording" },
  { method: 'GET', path: API_PATHS.mediaPlaylist, owner: 'hivecam-gateway', auth: 'api', role: 'viewer', what: 'HLS playlist' },
  { method: 'GET', path: API_PATHS.mediaSegment, owner: 'hivecam-gateway', auth: 'api', role: 'viewer', what: 'HLS segment' },
  { method: 'GET', path: API_PATHS.mediaUsage, owner: 'hivecam-gateway', auth: 'api', role: 'viewer', what: 'media disk use' },
  // ---- IP cameras (flows/cloud.json → ipcam, its own router)
  {
    method: 'GET',
    path: API_PATHS.ipcams,
    owner: 'ipcam',
    auth: 'api',
    role: 'viewer',
    lists: 'id',
    what: 'the IP cameras and their state',
  },
  { method: 'POST', path: API_PATHS.ipcams, owner: 'ipcam', auth: 'api', role: 'admin', what: 'add an IP camera (checked first)' },
  { method: 'POST', path: API_PATHS.ipcamTest, owner: 'ipcam', auth: 'api', role: 'admin', what: 'check a camera without adding it' },
  { method: 'POST', path: API_PATHS.ipcamOnvif, owner: 'ipcam', auth: 'api', role: 'admin', what: "a camera's stream URLs over ONVIF" },
  { method: 'POST', path: API_PATHS.ipcamDiscover, owner: 'ipcam', auth: 'api', role: 'admin', what: 'find ONVIF cameras (WS-Discovery)' },
  { method: 'DELETE', path: API_PATHS.ipcam, owner: 'ipcam', auth: 'api', role: 'admin', camera: 'id', what: 'remove an IP camera' },
  {
    method: 'POST',
    path: API_PATHS.ipcamMode,
    owner: 'ipcam',
    auth: 'api',
    role: 'operator',
    camera: 'id',
    what: "set an IP camera's mode",
  },
  { method: 'GET', path: API_PATHS.ipcamMjpeg, owner: 'ipcam', auth: 'api', role: 'viewer', camera: 'id', what: 'MJPEG of the sub stream' },
  { method: 'GET', path: API_PATHS.ipcamSnapshot, owner: 'ipcam', auth: 'api', role: 'operator', camera: 'id', what: 'one JPEG now' },
  // ---- VBC01 live view (flows/cloud.json → vbc01-live, its own router)
  {
    method: 'GET',
    path: API_PATHS.live,
    owner: 'vbc01-live',
    auth: 'api',
    role: 'viewer',
    lists: true,
    what: 'running VBC01 live streams and their counters',
  },
  {
    method: 'GET',
    path: API_PATHS.liveCamera,
    owner: 'vbc01-live',
    auth: 'api',
    role: 'viewer',
    camera: 'cameraId',
    what: "a VBC01 camera's live state",
  },
  {
    method: 'POST',
    path: API_PATHS.liveWhep,
    owner: 'vbc01-live',
    auth: 'stream-token',
    role: 'viewer',
    camera: 'cameraId',
    what: 'WHEP: watch a VBC01 camera',
  },
  {
    method: 'DELETE',
    path: API_PATHS.liveViewer,
    owner: 'vbc01-live',
    auth: 'stream-token',
    role: 'viewer',
    camera: 'cameraId',
    what: 'WHEP: stop watching',
  },
  // ---- recordings and event clips (flows/cloud.json → recorder, its own router)
  {
    method: 'GET',
    path: API_PATHS.recordings,
    owner: 'recorder',
    auth: 'api',
    role: 'viewer',
    lists: true,
    what: 'recording disk use per camera',
  },
  {
    method: 'GET',
    path: API_PATHS.recordingTimeline,
    owner: 'recorder',
    auth: 'api',
    role: 'viewer',
    camera: 'cameraId',
    what: "a camera's segments and event clips in a time range",
  },
  {
    method: 'GET',
    path: API_PATHS.recordingVideo,
    owner: 'recorder',
    auth: 'api',
    role: 'viewer',
    camera: 'cameraId',
    what: 'MP4 of a time range (?start=&end=, Unix ms), ranges answered',
  },
  {
    method: 'GET',
    path: API_PATHS.recordingClip,
    owner: 'recorder',
    auth: 'api',
    role: 'viewer',
    camera: 'cameraId',
    what: "an event's clip as MP4, ranges answered",
  },
  {
    method: 'POST',
    path: API_PATHS.recordingClip,
    owner: 'recorder',
    auth: 'api',
    role: 'operator',
    camera: 'cameraId',
    what: "a Pi's clip of the event, recorded while its uplink was down (MP4 body, ?start=&end=)",
  },
  // ---- Web Push (flows/cloud.json → webpush-alert, its own router)
  { method: 'GET', path: API_PATHS.pushKey, owner: 'webpush-alert', auth: 'api', role: 'viewer', what: "the runtime's VAPID public key" },
  {
    method: 'POST',
    path: API_PATHS.pushSubscriptions,
    owner: 'webpush-alert',
    auth: 'api',
    role: 'viewer',
    what: 'subscribe this browser to alerts',
  },
  {
    method: 'DELETE',
    path: API_PATHS.pushSubscriptions,
    owner: 'webpush-alert',
    auth: 'api',
    role: 'viewer',
    what: 'unsubscribe a browser (?endpoint=)',
  },
  // ---- users, API tokens, the audit, the first admin (flows/cloud.json → access-control, its own router)
  { method: 'GET', path: API_PATHS.users, owner: 'access-control', auth: 'api', role: 'admin', what: 'users, their roles and cameras' },
  { method: 'POST', path: API_PATHS.users, owner: 'access-control', auth: 'api', role: 'admin', what: 'add a user' },
  {
    method: 'POST',
    path: API_PATHS.user,
    owner: 'access-control',
    auth: 'api',
    role: 'admin',
    what: "change a user's role, cameras or password",
  },
  { method: 'DELETE', path: API_PATHS.user, owner: 'access-control', auth: 'api', role: 'admin', what: 'remove a user' },
  { method: 'GET', path: API_PATHS.userSessions, owner: 'access-control', auth: 'api', role: 'admin', what: "a user's open sessions" },
  { method: 'DELETE', path: API_PATHS.userSession, owner: 'access-control', auth: 'api', role: 'admin', what: 'end one session' },
  { method: 'GET', path: API_PATHS.tokens, owner: 'access-control', auth: 'api', role: 'admin', what: 'API tokens (never the tokens)' },
  { method: 'POST', path: API_PATHS.tokens, owner: 'access-control', auth: 'api', role: 'admin', what: 'make an API token, shown once' },
  { method: 'DELETE', path: API_PATHS.token, owner: 'access-control', auth: 'api', role: 'admin', what: 'revoke an API token' },
  { method: 'GET', path: API_PATHS.audit, owner: 'access-control', auth: 'api', role: 'admin', what: 'who changed what, newest first' },
  {
    method: 'GET',
    path: API_PATHS.firstRun,
    owner: 'access-control',
    auth: 'public',
    role: 'viewer',
    what: 'whether an admin must be made',
  },
  {
    method: 'POST',
    path: API_PATHS.firstRun,
    owner: 'access-control',
    auth: 'public',
    role: 'viewer',
    what: 'make the first admin (this machine, or the code from the log)',
  },
  // ---- the admin pages' settings, kept in the store over the environment's (access-control, settings-api.ts)
  {
    method: 'GET',
    path: API_PATHS.alertSettings,
    owner: 'access-control',
    auth: 'api',
    role: 'admin',
    what: "alert channels and the admin page's settings",
  },
  {
    method: 'PUT',
    path: API_PATHS.alertChannelSettings,
    owner: 'access-control',
    auth: 'api',
    role: 'admin',
    what: "set one alert channel's settings ({} = defaults)",
  },
  {
    method: 'PUT',
    path: API_PATHS.alertConnectionSettings,
    owner: 'access-control',
    auth: 'api',
    role: 'admin',
    what: "set where one alert channel sends (token, chats, URL; null = the environment's); secrets write-only",
  },
  {
    method: 'GET',
    path: API_PATHS.retentionSettings,
    owner: 'access-control',
    auth: 'api',
    role: 'admin',
    what: 'retention days: defaults and overrides',
  },
  {
    method: 'PUT',
    path: API_PATHS.retentionSettings,
    owner: 'access-control',
    auth: 'api',
    role: 'admin',
    what: 'set retention days ({} = defaults)',
  },
];

/** A route's path as a regular expression over a request path (each `:name` one segment, captured). */
const pathPattern = (path: string): RegExp => new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '([^/]+)')}$`);

const MATCHERS = API_ROUTES.map((route) => ({
  route,
  names: [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!),
  re: pathPattern(route.path),
}));

export interface MatchedRoute {
  route: ApiRoute;
  /** the path's `:name` values, URI-decoded (a malformed escape stays as it came) */
  params: Record<string, string>;
}

/**
 * The table's route for `method path` (a request path, no query), or undefined. A router
 * mounted at a prefix answers its `/` route with or without the trailing slash
 * (`/api/ipcams` and `/api/ipcams/`): both spellings find the route.
 */
export function matchRoute(method: string, path: string): MatchedRoute | undefined {
  return matchExactly(method, path) ?? matchExactly(method, path.endsWith('/') ? path.slice(0, -1) : `${path}/`);
}

/** The same patterns, any letter case. */
const ANY_CASE = MATCHERS.map(({ route, re }) => ({ route, re: new RegExp(re.source, 'i') }));

/**
 * The route `method path` names in another letter case (`/api/recordings/x/VIDEO`), when the
 * table has none as spelled. Express and `http in` match paths in any case by default; the
 * guard looks routes up as spelled, so it refuses these rather than let one past its checks.
 */
export function routeInOtherCase(method: string, path: string): ApiRoute | undefined {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  return ANY_CASE.find(({ route, re }) => route.method === method && (re.test(trimmed) || re.test(`${trimmed}/`)))?.route;
}

function matchExactly(method: string, path: string): MatchedRoute | undefined {
  for (const { route, names, re } of MATCHERS) {
    if (route.method !== method) continue;
    const m = re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    names.forEach((name, i) => (params[name] = safeDecode(m[i + 1]!)));
    return { route, params };
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Whether `method path` is one of the routes that take `auth`. */
function routesTaking(auth: RouteAuth): (method: string, path: string) => boolean {
  const routes = API_ROUTES.filter((r) => r.auth === auth).map((r) => ({ method: r.method, re: pathPattern(r.path) }));
  return (method, path) => routes.some((r) => r.method === method && r.re.test(path));
}

/** Whether `method path` is a route a live-video stream token may open (the API guard lets those through). */
export const takesStreamToken = routesTaking('stream-token');
