/**
 * The runtime's HTTP paths by name, and the one way to fill in their parameters: constants only,
 * so the dashboard's first script (first.js) and page load them without the route table
 * (api-routes.ts, which is made of them and re-exports them).
 */
/** Prometheus text from the runtime itself (outside /api, where scrapers look). */
export const METRICS_PATH = '/metrics';

/** Everything the runtime serves for programs sits under this. */
export const API_ROOT = '/api';

/** Where the camera gateway mounts its media router (seed 004's /api/media/...). */
export const MEDIA_ROUTES_ROOT = `${API_ROOT}/media`;

/** Where the ipcam node mounts its router unless its `apiPath` says otherwise. */
export const IPCAM_ROUTES_ROOT = `${API_ROOT}/ipcams`;

/** Where the vbc01-live node mounts its router: WHEP for VBC01 cameras, their live state. */
export const LIVE_ROUTES_ROOT = `${API_ROOT}/live`;

/** Where the recorder node mounts its router: recordings, event clips, disk use. */
export const RECORDING_ROUTES_ROOT = `${API_ROOT}/recordings`;

/** Where the webpush-alert node mounts its router: the VAPID key and the browsers' subscriptions. */
export const PUSH_ROUTES_ROOT = `${API_ROOT}/push`;

/** Where the access-control node mounts its router: users, tokens, audit, first run (all directly under /api). */
export const ACCESS_ROUTES_ROOT = API_ROOT;

/** The dashboard's live feed (a WebSocket upgrade, not an Express route). */
export const LIVE_FEED_PATH = `${API_ROOT}/ws`;

/**
 * Each route's path by name, for the code that serves or calls it (dashboard/server, the
 * dashboard page, command-sender): the table below is made of these, so a path is spelled once.
 */
export const API_PATHS = {
  session: `${API_ROOT}/session`,
  login: `${API_ROOT}/login`,
  logout: `${API_ROOT}/logout`,
  streamToken: `${API_ROOT}/stream-token`,
  cameras: `${API_ROOT}/cameras`,
  events: `${API_ROOT}/events`,
  status: `${API_ROOT}/status`,
  sensors: `${API_ROOT}/sensors/:deviceId`,
  streams: `${API_ROOT}/streams`,
  alerts: `${API_ROOT}/alerts`,
  deadLetters: `${API_ROOT}/dead-letters`,
  commands: `${API_ROOT}/commands`,
  command: `${API_ROOT}/commands/:id`,
  controlMode: `${API_ROOT}/control/mode/:id/:mode`,
  controlReboot: `${API_ROOT}/control/reboot/:id`,
  controlSettings: `${API_ROOT}/control/settings/:id`,
  controlSound: `${API_ROOT}/control/sound/:id/:sound`,
  controlLive: `${API_ROOT}/control/live/:id`,
  controlZones: `${API_ROOT}/control/zones/:id`,
  gatewayCameras: `${API_ROOT}/gateway/cameras`,
  gatewayUsage: `${API_ROOT}/gateway/usage`,
  gatewayCommand: `${API_ROOT}/gateway/:command`,
  mediaThumbnail: `${MEDIA_ROUTES_ROOT}/thumbnail/:eventId`,
  mediaPicture: `${MEDIA_ROUTES_ROOT}/picture`,
  mediaRecording: `${MEDIA_ROUTES_ROOT}/recording/:eventId`,
  mediaPlaylist: `${MEDIA_ROUTES_ROOT}/playlist/:eventId.m3u8`,
  mediaSegment: `${MEDIA_ROUTES_ROOT}/playlist/:eventId/:segment`,
  mediaUsage: `${MEDIA_ROUTES_ROOT}/usage`,
  ipcams: `${IPCAM_ROUTES_ROOT}/`,
  ipcamTest: `${IPCAM_ROUTES_ROOT}/test`,
  ipcamOnvif: `${IPCAM_ROUTES_ROOT}/onvif`,
  ipcamDiscover: `${IPCAM_ROUTES_ROOT}/discover`,
  ipcam: `${IPCAM_ROUTES_ROOT}/:id`,
  ipcamMode: `${IPCAM_ROUTES_ROOT}/:id/mode`,
  ipcamMjpeg: `${IPCAM_ROUTES_ROOT}/:id/mjpeg`,
  ipcamSnapshot: `${IPCAM_ROUTES_ROOT}/:id/snapshot`,
  live: `${LIVE_ROUTES_ROOT}/`,
  liveCamera: `${LIVE_ROUTES_ROOT}/:cameraId`,
  liveWhep: `${LIVE_ROUTES_ROOT}/:cameraId/whep`,
  liveViewer: `${LIVE_ROUTES_ROOT}/:cameraId/whep/:viewerId`,
  pushKey: `${PUSH_ROUTES_ROOT}/key`,
  pushSubscriptions: `${PUSH_ROUTES_ROOT}/subscriptions`,
  recordings: `${RECORDING_ROUTES_ROOT}/`,
  recordingTimeline: `${RECORDING_ROUTES_ROOT}/:cameraId`,
  recordingVideo: `${RECORDING_ROUTES_ROOT}/:cameraId/video`,
  recordingClip: `${RECORDING_ROUTES_ROOT}/:cameraId/clips/:eventId`,
  users: `${ACCESS_ROUTES_ROOT}/users`,
  user: `${ACCESS_ROUTES_ROOT}/users/:name`,
  userSessions: `${ACCESS_ROUTES_ROOT}/users/:name/sessions`,
  userSession: `${ACCESS_ROUTES_ROOT}/users/:name/sessions/:sessionId`,
  tokens: `${ACCESS_ROUTES_ROOT}/tokens`,
  token: `${ACCESS_ROUTES_ROOT}/tokens/:id`,
  audit: `${ACCESS_ROUTES_ROOT}/audit`,
  firstRun: `${ACCESS_ROUTES_ROOT}/first-run`,
  alertSettings: `${ACCESS_ROUTES_ROOT}/settings/alerts`,
  alertChannelSettings: `${ACCESS_ROUTES_ROOT}/settings/alerts/:channel`,
  alertConnectionSettings: `${ACCESS_ROUTES_ROOT}/settings/alerts/:channel/connection`,
  retentionSettings: `${ACCESS_ROUTES_ROOT}/settings/retention`,
} as const;

/**
 * A URL for one of the paths above: each `:name` replaced by its value, URI-encoded (ids may
 * hold any character). A missing value is an error, never a literal `:id` in a request.
 */
export function apiUrl(path: string, params: Record<string, string | number> = {}): string {
  return path.replace(/:(\w+)/g, (_m, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${path}: no value for :${name}`);
    return encodeURIComponent(String(value));
  });
}
