/**
 * Node-RED settings for every PiCam Guardian role, from environment variables.
 *
 *   demo   everything on one machine, bound to 127.0.0.1, no logins
 *   cloud  the server: editor under an admin path with a login, API and
 *          dashboard behind HTTP auth, broker with credentials
 *   pi     the Raspberry Pi runtime: editor with a login
 *   cluster  a cloud runtime among several (docs/cluster.md): no embedded broker, device
 *          traffic from RabbitMQ's queues (amqp-ingest), the events in PostgreSQL
 *
 * `settingsFor(env)` is pure: tests call it, settings.ts applies it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { brokerModeFor } from '../flows/broker-choice';
import { parseBrokerUrls } from '../../nodes/amqp-ingest/brokers';
import { parseAuthConfig, type AuthConfig } from './mediamtx-auth';
import { dashboardConfig, type DashboardConfig } from '../../dashboard/server/dashboard-config';
import { OUTBOX_DEFAULTS } from '../../nodes/mqtt-outbox/settings';
import { CAMERA_CERT_MODE, DB_URL, envSetting, parseCameraCertMode, parseDbUrl, SETTINGS } from '../../nodes/lib/settings';
import { DEFAULT_TRUSTED_PROXIES, parseTrustedProxies, type TrustedProxies } from '../../nodes/lib/client-address';
import { join, resolve } from 'node:path';
import { packageRoot } from '../flows/package-root';
import { rtspSourceIds } from '../../nodes/lib/rtsp/rtsp-sources';
import { sinkFiles, sinkIsLocal } from './rtsp-sink';

/**
 * Stock node modules only the benchmark's baseline flow uses (devDependencies). Installs
 * omit them; a checkout has them, so the demo keeps them out of its palette.
 */
export const DEV_ONLY_NODE_MODULES = ['node-red-contrib-aedes', 'node-red-node-sqlite'] as const;

export type Role = 'demo' | 'cloud' | 'pi' | 'cluster';
export const ROLES: readonly Role[] = ['demo', 'cloud', 'pi', 'cluster'];

/** The roles that run the cloud flow as a server (logins, internal listener, gateway): one box or one of several. */
export const isServerRole = (role: Role): boolean => role === 'cloud' || role === 'cluster';

/** UDP ports of the VBC01 live view's WebRTC media on a server (PICAM_LIVE_ICE_PORTS): the firewall files open them. */
export const LIVE_ICE_PORTS = '5100-5199';

type Env = Record<string, string | undefined>;

export interface RoleSettings {
  role: Role;
  /** values the flows read as ${NAME}; applied to process.env when unset */
  flowEnv: Record<string, string>;
  /** missing secrets or bad values: the runtime must not start with any */
  problems: string[];
  node: Record<string, unknown>;
  /** PEM files for serving HTTPS directly (PICAM_TLS_CERT / PICAM_TLS_KEY); plain HTTP without */
  tls?: { cert: string; key: string };
  /** logins, tokens and video sources of the dashboard (dashboard/server/dashboard-config.ts) */
  dashboard: DashboardConfig;
  /** PICAM_TRUSTED_PROXIES: whose X-Forwarded-For/-Proto are believed (nodes/lib/client-address.ts) */
  trustedProxies: TrustedProxies;
  /**
   * The cloud role's internal listener, always on 127.0.0.1: local-only hooks (MediaMTX's
   * `POST /mediamtx/auth`) live there, never on the public port. Undefined for other roles.
   */
  internalPort?: number;
  /** who may publish and watch through MediaMTX (PICAM_MEDIAMTX_DEVICES, _VIEWERS, _MONITOR) */
  mediamtxAuth: AuthConfig;
}

export function settingsFor(env: Env): RoleSettings {
  const problems: string[] = [];
  const role = (env.PICAM_ROLE ?? 'demo') as Role;
  if (!ROLES.includes(role)) problems.push(`PICAM_ROLE must be one of ${ROLES.join(', ')} (got "${env.PICAM_ROLE}")`);
  const demo = role === 'demo';
  const server = isServerRole(role);
  const cluster = role === 'cluster';
  const port = (name: string, def: number): number => {
    const raw = env[name];
    const n = raw === undefined || raw === '' ? def : Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      problems.push(`${name} must be a TCP port number (got "${raw}")`);
      return def;
    }
    return n;
  };
  const required = (name: string, why: string): string => {
    const v = env[name];
    if (!v) problems.push(`${name} is required for the ${role} role: ${why}`);
    return v ?? '';
  };

  const dataDir = resolve(env.PICAM_DATA_DIR ?? (demo ? 'data/demo' : `data/${role}`));
  const httpPort = port('PICAM_HTTP_PORT', 1880);
  const host = env.PICAM_HOST ?? (demo ? '127.0.0.1' : '0.0.0.0');
  // The demo has no logins at all, so it may only listen on this machine.
  if (demo && !['127.0.0.1', '::1', 'localhost'].includes(host)) {
    problems.push(`the demo has no logins and serves only 127.0.0.1 (PICAM_HOST is "${host}"): use the cloud role for a network`);
  }
  // The embedded broker listens where the role's HTTP server does unless told otherwise.
  const mqttBind = env.PICAM_MQTT_BIND || host;
  if (demo && !['127.0.0.1', '::1', 'localhost'].includes(mqttBind)) {
    problems.push(
      `the demo's broker has no login and listens only on 127.0.0.1 (PICAM_MQTT_BIND is "${mqttBind}"): use the cloud role for a network`,
    );
  }
  const adminRoot = env.PICAM_ADMIN_PATH ?? (demo ? '/' : '/admin');
  const tls = tlsFiles(env, problems);
  // Default: loopback only, i.e. the shipped nginx or Caddy on this host (cloud/nginx, cloud/caddy).
  const trustedProxiesSpec = env.PICAM_TRUSTED_PROXIES?.trim() || DEFAULT_TRUSTED_PROXIES;
  let trustedProxies = parseTrustedProxies(DEFAULT_TRUSTED_PROXIES);
  try {
    trustedProxies = parseTrustedProxies(trustedProxiesSpec);
  } catch (err) {
    problems.push((err as Error).message);
  }
  // MediaMTX's auth hook: a port of its own on 127.0.0.1 that no proxy configuration points to.
  const internalPort = server ? port('PICAM_INTERNAL_PORT', 1881) : undefined;
  if (internalPort !== undefined && internalPort !== 0 && internalPort === httpPort) {
    problems.push(`PICAM_INTERNAL_PORT must differ from PICAM_HTTP_PORT (both are ${httpPort})`);
  }

  const flowEnv: Record<string, string> = {
    PICAM_PREFIX: env.PICAM_PREFIX ?? 'prod',
    PICAM_DEVICE_TOPIC: env.PICAM_DEVICE_TOPIC ?? `${env.PICAM_PREFIX ?? 'prod'}/device/#`,
    PICAM_DEVICE_TYPES: env.PICAM_DEVICE_TYPES ?? 'hive-cam,picam,ipcam',
    PICAM_DB_FILE: env.PICAM_DB_FILE ?? resolve(dataDir, 'picam-guardian.db'),
    PICAM_MQTT_PORT: String(port('PICAM_MQTT_PORT', 1883)),
    PICAM_MQTT_WS_PORT: String(port('PICAM_MQTT_WS_PORT', 9001)),
    PICAM_MQTT_BIND: mqttBind,
    // `||`: an env file's empty `PICAM_MQTT_HOST=` is as missing as no line at all.
    PICAM_MQTT_HOST:
      env.PICAM_MQTT_HOST || (role === 'pi' ? required('PICAM_MQTT_HOST', 'the cloud broker the Pi publishes to') : '127.0.0.1'),
    PICAM_DEBOUNCE_SECONDS: envSetting(env, 'debounceSeconds', problems),
    PICAM_HEARTBEAT_SECONDS: envSetting(env, 'heartbeatSeconds', problems),
    PICAM_MISSED_HEARTBEATS: envSetting(env, 'missedHeartbeats', problems),
    // Device clocks: how far behind (a Pi replaying its outbox) and ahead a timestamp may be.
    PICAM_CLOCK_PAST_HOURS: envSetting(env, 'clockPastHours', problems),
    PICAM_CLOCK_FUTURE_SECONDS: envSetting(env, 'clockFutureSeconds', problems),
    // How long a command may wait for the broker (command-sender; see docs/api.md "Commands").
    PICAM_REBOOT_TTL_SECONDS: env.PICAM_REBOOT_TTL_SECONDS ?? '600',
    PICAM_SETTINGS_TTL_SECONDS: env.PICAM_SETTINGS_TTL_SECONDS ?? '3600',
    PICAM_MODE_TTL_SECONDS: env.PICAM_MODE_TTL_SECONDS ?? '86400',
    PICAM_TIME_ZONE: env.PICAM_TIME_ZONE ?? '',
    PICAM_SENSOR_LIMITS: env.PICAM_SENSOR_LIMITS ?? '',
    // Alert channels stay off (and say so) until these are set.
    TELEGRAM_BOT_TOKEN: env.TELEGRAM_BOT_TOKEN ?? '',
    TELEGRAM_CHAT_IDS: env.TELEGRAM_CHAT_IDS ?? '',
    TELEGRAM_API_ROOT: env.TELEGRAM_API_ROOT ?? 'https://api.telegram.org',
    PICAM_ALERT_WEBHOOK_URL: env.PICAM_ALERT_WEBHOOK_URL ?? '',
    // Home Assistant discovery and the MQTT API (docs/mqtt-api.md): off unless switched on.
    PICAM_HA_DISCOVERY: env.PICAM_HA_DISCOVERY ?? '',
    PICAM_HA_DISCOVERY_PREFIX: env.PICAM_HA_DISCOVERY_PREFIX || 'homeassistant',
    PICAM_MQTT_API: env.PICAM_MQTT_API ?? '',
    PICAM_MQTT_API_PREFIX: env.PICAM_MQTT_API_PREFIX || 'picam',
    // The embedded broker's login for Home Assistant and other programs: API and discovery topics only.
    PICAM_MQTT_API_USERNAME: env.PICAM_MQTT_API_USERNAME ?? '',
    PICAM_MQTT_API_PASSWORD: env.PICAM_MQTT_API_PASSWORD ?? '',
    // Alerts only for motion in these zones (issue 20); empty: anywhere.
    PICAM_ALERT_ZONES: env.PICAM_ALERT_ZONES ?? '',
    // Alerts only when the person detector saw these labels (README "Person detector"); empty: any activity.
    PICAM_ALERT_LABELS: env.PICAM_ALERT_LABELS ?? '',
    // Where phones and webhook receivers reach this server: signed event links, absolute clip URLs (issue 19).
    PICAM_PUBLIC_URL: env.PICAM_PUBLIC_URL ?? '',
    // The cluster role runs no broker and reads no MQTT: RabbitMQ holds the devices' logins.
    MQTT_USERNAME: demo || cluster ? (env.MQTT_USERNAME ?? '') : required('MQTT_USERNAME', 'devices and the runtime log in to the broker'),
    MQTT_PASSWORD: demo || cluster ? (env.MQTT_PASSWORD ?? '') : required('MQTT_PASSWORD', 'devices and the runtime log in to the broker'),
  };

  Object.assign(flowEnv, piFlowEnv(env, role, flowEnv.PICAM_PREFIX!, problems), outboxEnv(env, dataDir));
  Object.assign(flowEnv, liveRtspEnv(env, demo, flowEnv, resolve(dataDir, 'hls')));
  Object.assign(flowEnv, recordEnv(env, demo, flowEnv, dataDir, problems));
  Object.assign(flowEnv, piRecordEnv(env, role, flowEnv.PICAM_DEVICE_ID ?? '', dataDir, problems));
  // The demo's Pi sends its clips to the demo's own API (open there), when it records.
  if (demo && env.PICAM_CLOUD_URL === undefined) flowEnv.PICAM_CLOUD_URL = `http://127.0.0.1:${httpPort}`;
  // Parsed once, here, from the environment the role was read from; the runtime uses this result.
  let mediamtxAuth: AuthConfig = { devices: [], viewers: [] };
  try {
    mediamtxAuth = parseAuthConfig(env);
  } catch (err) {
    problems.push((err as Error).message);
  }
  for (const name of ['PICAM_HA_DISCOVERY', 'PICAM_MQTT_API']) {
    if (!/^(|true|false|on|off|yes|no|1|0)$/i.test(flowEnv[name]!.trim()))
      problems.push(`${name} must be on or off (got "${flowEnv[name]}")`);
  }
  try {
    flowEnv.PICAM_MQTT_BROKER = brokerModeFor(role, env.PICAM_MQTT_BROKER);
  } catch (err) {
    problems.push((err as Error).message);
  }
  // Other roles ship amqp-ingest disabled: its properties read these, empty.
  Object.assign(flowEnv, cluster ? clusterEnv(env, problems) : { PICAM_AMQP_URLS: '', PICAM_AMQP_USERNAME: '', PICAM_AMQP_PASSWORD: '' });
  // The VBC01 gateway (hivecam-gateway): its own port, as cameras cannot log in to the API. In the
  // cloud role it is the config server as real cameras call it: HTTPS on port 80 (vbc01-protocol.md §3).
  flowEnv.PICAM_GATEWAY_PORT = String(port('PICAM_GATEWAY_PORT', server ? 80 : 8080));
  flowEnv.PICAM_GATEWAY_HTTPS = env.PICAM_GATEWAY_HTTPS || (server ? 'true' : 'false');
  if (!/^(true|false|on|off|yes|no|1|0)$/i.test(flowEnv.PICAM_GATEWAY_HTTPS)) {
    problems.push(`PICAM_GATEWAY_HTTPS must be true or false (got "${env.PICAM_GATEWAY_HTTPS}")`);
  }
  // Empty: config-server.crt / .key in PICAM_CERT_DIR (picam-guardian certs --config-host).
  flowEnv.PICAM_GATEWAY_TLS_CERT = env.PICAM_GATEWAY_TLS_CERT ?? '';
  flowEnv.PICAM_GATEWAY_TLS_KEY = env.PICAM_GATEWAY_TLS_KEY ?? '';
  // Empty: https://{PICAM_GATEWAY_BROKER_HOST}:{PICAM_GATEWAY_PORT}, what the config tells cameras.
  flowEnv.PICAM_GATEWAY_PUBLIC_URL = env.PICAM_GATEWAY_PUBLIC_URL ?? '';
  // The embedded broker's listener for cameras (mutual TLS with the shared certificate); empty: none.
  flowEnv.PICAM_MQTT_TLS_PORT =
    env.PICAM_MQTT_TLS_PORT === undefined
      ? role === 'cloud'
        ? '8883' // the embedded broker's: the cluster role has none
        : ''
      : env.PICAM_MQTT_TLS_PORT && String(port('PICAM_MQTT_TLS_PORT', 8883));
  flowEnv.PICAM_GATEWAY_BIND = env.PICAM_GATEWAY_BIND ?? (demo ? '127.0.0.1' : '0.0.0.0');
  flowEnv.PICAM_GATEWAY_BROKER_HOST = env.PICAM_GATEWAY_BROKER_HOST ?? (demo ? '127.0.0.1' : hostname());
  flowEnv.PICAM_GATEWAY_BROKER_PORT = String(port('PICAM_GATEWAY_BROKER_PORT', 8883));
  flowEnv.PICAM_CERT_DIR = env.PICAM_CERT_DIR ?? resolve(dataDir, 'certs');
  // Shared camera certificate (the real platform's model) or one per camera, issued at enrolment.
  try {
    flowEnv[CAMERA_CERT_MODE.env] = parseCameraCertMode(env[CAMERA_CERT_MODE.env]);
  } catch (err) {
    problems.push((err as Error).message);
    flowEnv[CAMERA_CERT_MODE.env] = CAMERA_CERT_MODE.value;
  }
  // The cluster role's PostgreSQL (issue 21); empty keeps the SQLite file. Checked here, shown nowhere.
  try {
    flowEnv[DB_URL.env] = parseDbUrl(env[DB_URL.env]);
  } catch (err) {
    problems.push((err as Error).message);
    flowEnv[DB_URL.env] = DB_URL.value;
  }
  flowEnv.PICAM_UPLOAD_DIR = env.PICAM_UPLOAD_DIR ?? resolve(dataDir, 'uploads');
  flowEnv.PICAM_CAMERAS = env.PICAM_CAMERAS ?? '';
  flowEnv.PICAM_UPLOAD_MAX_MB = envSetting(env, 'uploadMaxMB', problems);
  flowEnv.PICAM_UPLOAD_RETAIN_DAYS = envSetting(env, 'uploadRetainDays', problems);
  // The database's retention, how long input waits for it and its read connections (picam-database).
  for (const name of [
    'retainActivityDays',
    'retainStatusDays',
    'retainSensorDays',
    'retainSensorMinuteDays',
    'retainSensorHourDays',
    'retainDeadLetterDays',
    'holdSeconds',
    'readConnections',
  ] as const)
    flowEnv[SETTINGS[name].env] = envSetting(env, name, problems);
  // The VBC01 live view (vbc01-live): UDP range, REMB and timings from the settings table; the
  // addresses cameras and browsers reach this server at (empty: the host's first external IPv4).
  for (const name of [
    'livePortMin',
    'livePortMax',
    'liveRembStartKbps',
    'liveRembFloorKbps',
    'liveKeepaliveSeconds',
    'liveGraceSeconds',
    'liveAnswerSeconds',
    'liveIdleSeconds',
  ] as const)
    flowEnv[SETTINGS[name].env] = envSetting(env, name, problems);
  flowEnv.PICAM_LIVE_PUBLIC_ADDRESS = env.PICAM_LIVE_PUBLIC_ADDRESS ?? '';
  flowEnv.PICAM_LIVE_CAMERA_ADDRESS = env.PICAM_LIVE_CAMERA_ADDRESS ?? (demo ? '127.0.0.1' : '');
  // Browsers' WebRTC media to the bridge: a server's firewall (cloud/firewall/) opens these; the
  // demo, on one machine, takes any port.
  flowEnv.PICAM_LIVE_ICE_PORTS = env.PICAM_LIVE_ICE_PORTS ?? (demo ? '' : LIVE_ICE_PORTS);
  // Stream health: off (and the node says so) until a MediaMTX API is named.
  flowEnv.MEDIAMTX_API_URL = env.MEDIAMTX_API_URL ?? '';
  flowEnv.MEDIAMTX_USER = env.MEDIAMTX_USER ?? '';
  flowEnv.MEDIAMTX_PASSWORD = env.MEDIAMTX_PASSWORD ?? '';

  const node: Record<string, unknown> = {
    uiHost: host,
    uiPort: httpPort,
    userDir: dataDir,
    flowFile: 'flows.json',
    // Loads this package's nodes without installing it into the user directory.
    nodesDir: [packageRoot()],
    // Node-RED loads every node module it finds in a node_modules above it, and a checkout has the
    // bench's stock nodes: node-red-contrib-aedes alone brought the MongoDB driver, whose BSON
    // module holds a 17.8 MB buffer from the moment it loads. No flow of ours uses them.
    nodesExcludes: [...DEV_ONLY_NODE_MODULES],
    flowFilePretty: true,
    httpAdminRoot: adminRoot,
    httpNodeRoot: '/',
    // One spelling per route: a guard on /api must not be sidestepped by /API (express matches case-insensitively by default).
    httpServerOptions: { 'case sensitive routing': true },
    // Nodes that limit clients (the VBC01 gateway) read it here: nodes/lib/client-address.ts.
    picamTrustedProxies: trustedProxiesSpec,
    credentialSecret: demo
      ? (env.PICAM_CREDENTIAL_SECRET ?? 'picam-guardian-local-demo')
      : required('PICAM_CREDENTIAL_SECRET', 'it encrypts the credentials file'),
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    // Installing palette modules from the editor is a demo convenience; servers install with npm.
    externalModules: {
      autoInstall: false,
      // The demo runs from a checkout, and Node-RED loads node modules from every node_modules above its own.
      palette: { allowInstall: demo, ...(demo && { denyList: [...DEV_ONLY_NODE_MODULES] }) },
    },
    editorTheme: {
      page: { title: `PiCam Guardian (${role})` },
      header: { title: `PiCam Guardian · ${role}` },
      projects: { enabled: false },
      tours: false,
    },
    logging: { console: { level: env.PICAM_LOG_LEVEL ?? 'info', metrics: false, audit: false } },
    functionExternalModules: false,
  };

  if (!demo) {
    // Secure by default: no editor, API or dashboard without a login (DESIGN.md §8).
    const adminUser = required('PICAM_ADMIN_USER', 'the editor needs a login');
    const adminHash = required('PICAM_ADMIN_PASSWORD_HASH', 'bcrypt hash of the editor password (npx node-red admin hash-pw)');
    node.adminAuth = { type: 'credentials', users: [{ username: adminUser, password: adminHash, permissions: '*' }] };
    // The API user (HTTP Basic, an admin) is optional since issue 23: without it and without
    // PICAM_DASHBOARD_USERS, the dashboard's first-run page makes the first admin. The API
    // still answers nobody who has not logged in.
    if (server && (env.PICAM_API_USER || env.PICAM_API_PASSWORD_HASH)) {
      node.httpNodeAuth = {
        user: required('PICAM_API_USER', 'the dashboard and API need a login'),
        pass: required('PICAM_API_PASSWORD_HASH', 'bcrypt hash of the dashboard/API password'),
      };
    }
  }
  const apiAuth = node.httpNodeAuth as { user: string; pass: string } | undefined;
  const dashboard = dashboardConfig(
    env,
    {
      open: demo,
      apiUser: apiAuth?.user,
      apiHash: apiAuth?.pass,
      // The demo runs the Pi flow in the same runtime: its MJPEG preview is on this server.
      demoMjpeg: demo ? { [flowEnv.PICAM_DEVICE_ID!]: flowEnv.PICAM_PREVIEW_PATH! } : undefined,
      // Cameras the runtime itself serves over WHEP (vbc01-live's RTSP sources): ids only, never their URLs.
      runtimeLive: rtspSourceIds(flowEnv.PICAM_LIVE_RTSP_SOURCES),
    },
    problems,
  );
  return {
    role,
    flowEnv,
    problems,
    node,
    dashboard,
    tls,
    trustedProxies,
    mediamtxAuth,
    ...(internalPort !== undefined && { internalPort }),
  };
}

/**
 * The live node's RTSP sources (cameras it copies to browsers itself, where no MediaMTX runs) and
 * their login. The demo without a WebRTC server for the browser (no MediaMTX, so no
 * PICAM_WEBRTC_URL) serves its Pi camera this way, from the RTP its RTSP sink passes on
 * (rtsp-sink.ts); with MediaMTX, or on a server, none unless PICAM_LIVE_RTSP_SOURCES names some.
 */
function liveRtspEnv(env: Env, demo: boolean, flowEnv: Record<string, string>, sinkDir: string): Record<string, string> {
  const rtspUrl = flowEnv.PICAM_RTSP_URL ?? '';
  const demoSource =
    demo && !env.PICAM_WEBRTC_URL && sinkIsLocal(rtspUrl) ? `${flowEnv.PICAM_DEVICE_ID}=${sinkFiles(rtspUrl, sinkDir).sdp}` : '';
  return {
    PICAM_LIVE_RTSP_SOURCES: env.PICAM_LIVE_RTSP_SOURCES ?? demoSource,
    PICAM_LIVE_RTSP_USER: env.PICAM_LIVE_RTSP_USER ?? '',
    PICAM_LIVE_RTSP_PASSWORD: env.PICAM_LIVE_RTSP_PASSWORD ?? '',
  };
}

/**
 * Where the demo's RTSP sink sends the Pi camera for the recorder when no MediaMTX runs (MPEG-TS
 * over UDP on this host, rtsp-sink.ts). The CLI replaces the port with a free one when it starts
 * the demo (picam-guardian.ts).
 */
export const DEMO_RECORD_UDP = 'udp://127.0.0.1:8560';

/**
 * The recorder's cameras, folder, modes and retention (nodes/recorder). The demo records its Pi
 * camera in events mode: from the demo MediaMTX when one runs (the camera publishes there), else
 * from the copy the RTSP sink sends (DEMO_RECORD_UDP). The demo IP camera is added by the CLI
 * (picam-guardian.ts), which knows its login.
 */
function recordEnv(env: Env, demo: boolean, flowEnv: Record<string, string>, dataDir: string, problems: string[]): Record<string, string> {
  const rtspUrl = flowEnv.PICAM_RTSP_URL ?? '';
  const id = flowEnv.PICAM_DEVICE_ID;
  let demoSource = '';
  if (demo && id && sinkIsLocal(rtspUrl)) demoSource = `${id}=${env.PICAM_WEBRTC_URL ? rtspUrl : DEMO_RECORD_UDP}`;
  const out: Record<string, string> = {
    PICAM_RECORD_DIR: env.PICAM_RECORD_DIR ?? resolve(dataDir, 'recordings'),
    PICAM_RECORD_SOURCES: env.PICAM_RECORD_SOURCES ?? demoSource,
    PICAM_RECORD_MODES: env.PICAM_RECORD_MODES ?? '',
    PICAM_RECORD_MODE: env.PICAM_RECORD_MODE ?? 'events',
    PICAM_RECORD_RTSP_USER: env.PICAM_RECORD_RTSP_USER ?? '',
    PICAM_RECORD_RTSP_PASSWORD: env.PICAM_RECORD_RTSP_PASSWORD ?? '',
  };
  if (!['off', 'events', 'continuous'].includes(out.PICAM_RECORD_MODE!))
    problems.push(`PICAM_RECORD_MODE must be off, events or continuous (got "${out.PICAM_RECORD_MODE}")`);
  for (const name of [
    'recordPreRollSeconds',
    'recordPostRollSeconds',
    'recordMaxClipSeconds',
    'recordSegmentSeconds',
    'recordRetainClipDays',
    'recordRetainSegmentDays',
    'recordFreePercent',
    'recordFreeGB',
  ] as const)
    out[SETTINGS[name].env] = envSetting(env, name, problems);
  return out;
}

/**
 * The cluster role's RabbitMQ (amqp-ingest, and command-sender through it) and PostgreSQL:
 * all required, as a runtime without them would take nothing in or keep it in a file no other
 * runtime sees. The URLs are checked here as amqp-ingest reads them; no message repeats a secret.
 */
function clusterEnv(env: Env, problems: string[]): Record<string, string> {
  const need = (name: string, why: string): string => {
    const v = env[name]?.trim() ?? '';
    if (!v) problems.push(`${name} is required for the cluster role: ${why}`);
    return v;
  };
  const urls = need(
    'PICAM_AMQP_URLS',
    'the RabbitMQ nodes the runtime takes device traffic from (amqp://host:5672/picam, comma between nodes)',
  );
  const username = need('PICAM_AMQP_USERNAME', "the runtime's RabbitMQ user");
  const password = need('PICAM_AMQP_PASSWORD', "the runtime's RabbitMQ password");
  if (urls) {
    try {
      parseBrokerUrls(urls, { username, password });
    } catch (err) {
      problems.push(`PICAM_AMQP_URLS: ${(err as Error).message}`);
    }
  }
  if (!env[DB_URL.env]?.trim())
    problems.push(`${DB_URL.env} is required for the cluster role: every runtime stores into one PostgreSQL database`);
  return { PICAM_AMQP_URLS: urls, PICAM_AMQP_USERNAME: username, PICAM_AMQP_PASSWORD: password };
}

/** HTTPS served by the runtime itself: both files or neither, and they must exist. */
function tlsFiles(env: Env, problems: string[]): RoleSettings['tls'] {
  const cert = env.PICAM_TLS_CERT || undefined;
  const key = env.PICAM_TLS_KEY || undefined;
  if (!cert && !key) return undefined;
  if (!cert || !key) {
    problems.push('PICAM_TLS_CERT and PICAM_TLS_KEY go together: the certificate (PEM, with its chain) and its private key');
    return undefined;
  }
  for (const [name, file] of [
    ['PICAM_TLS_CERT', cert],
    ['PICAM_TLS_KEY', key],
  ] as const) {
    if (!existsSync(file)) problems.push(`${name} names ${file}, which does not exist`);
  }
  return { cert: resolve(cert), key: resolve(key) };
}

/** Same pattern as the cloud applies to device ids (nodes/lib/types.ts). */
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The Pi flow's values. A flow property takes ${NAME} only as its whole value,
 * so the topics that contain the device id are composed here.
 */
function piFlowEnv(env: Env, role: Role, prefix: string, problems: string[]): Record<string, string> {
  const demo = role === 'demo';
  const host = hostname()
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 64);
  const id = env.PICAM_DEVICE_ID ?? (demo ? 'picam-1' : host);
  if (!DEVICE_ID.test(id)) problems.push(`PICAM_DEVICE_ID must match ${DEVICE_ID.source} (got "${id}")`);
  const name = env.PICAM_DEVICE_NAME ?? (demo ? 'Pi camera 1' : id);
  return {
    PICAM_DEVICE_ID: id,
    PICAM_SENSEHAT_BACKEND: env.PICAM_SENSEHAT_BACKEND ?? (demo ? 'simulated' : 'auto'),
    PICAM_SENSEHAT_LED: env.PICAM_SENSEHAT_LED ?? (demo ? 'simulated' : 'auto'),
    PICAM_ENVIRONMENT_SECONDS: env.PICAM_ENVIRONMENT_SECONDS ?? '2',
    // The camera: the Pi's own in production; in the demo a still street where a person stands for
    // 6 s of every 30 (rpicam-rtsp's scene source), which the person detector (on in the demo) sees.
    PICAM_CAMERA_SOURCE: env.PICAM_CAMERA_SOURCE ?? (demo ? 'scene' : 'rpicam'),
    // The person detector on the camera's motion frames (and the hosted IP camera's): off unless on (on in the demo).
    PICAM_CAMERA_DETECT: env.PICAM_CAMERA_DETECT ?? (demo ? 'on' : ''),
    PICAM_RTSP_URL: env.PICAM_RTSP_URL ?? `rtsp://${demo ? '127.0.0.1' : (env.PICAM_MQTT_HOST ?? '127.0.0.1')}:8554/${id}`,
    // MediaMTX asks the cloud runtime whether a device may publish: by default the Pi uses its MQTT login.
    PICAM_RTSP_USER: env.PICAM_RTSP_USER ?? env.MQTT_USERNAME ?? '',
    PICAM_RTSP_PASSWORD: env.PICAM_RTSP_PASSWORD ?? env.MQTT_PASSWORD ?? '',
    PICAM_PREVIEW_PATH: env.PICAM_PREVIEW_PATH ?? '/picam/preview',
    ...ipcamFlowEnv(env, problems),
    PICAM_MESSAGE_TOPIC: `${prefix}/device/message/picam/${id}`,
    PICAM_CONNECTION_TOPIC: `${prefix}/device/connection/picam/${id}`,
    PICAM_STATUS_TOPIC: `${prefix}/device/status/picam/${id}`,
    PICAM_ENVIRONMENT_TOPIC: `${prefix}/device/message/picam/${id}/sensors/environment`,
    PICAM_STATE_TOPIC: `${prefix}/device/message/picam/${id}/camera/state`,
    PICAM_COMMAND_TOPIC: `${prefix}/honeycomb/${id}/#`,
    PICAM_BIRTH_PAYLOAD: JSON.stringify({
      status: 'connected',
      name,
      device: { hardwareVersion: 'Raspberry Pi', softwareVersion: `picam-guardian ${packageVersion()}` },
    }),
    PICAM_WILL_PAYLOAD: JSON.stringify({ status: 'disconnected' }),
  };
}

/**
 * An IP camera on the Pi's LAN (the flow's ipcam node, hosted by the Pi): none until
 * PICAM_IPCAM_SUB_URL is set. Its id is the camera's on this Pi; the cloud knows it as
 * `<PICAM_DEVICE_ID>.<PICAM_IPCAM_ID>` (nodes/lib/hosted-devices.ts).
 */
function ipcamFlowEnv(env: Env, problems: string[]): Record<string, string> {
  const id = env.PICAM_IPCAM_ID || 'ipcam';
  if (!DEVICE_ID.test(id)) problems.push(`PICAM_IPCAM_ID must match ${DEVICE_ID.source} (got "${id}")`);
  return {
    PICAM_IPCAM_ID: id,
    PICAM_IPCAM_SUB_URL: env.PICAM_IPCAM_SUB_URL ?? '',
    PICAM_IPCAM_MAIN_URL: env.PICAM_IPCAM_MAIN_URL ?? '',
    PICAM_IPCAM_USER: env.PICAM_IPCAM_USER ?? '',
    PICAM_IPCAM_PASSWORD: env.PICAM_IPCAM_PASSWORD ?? '',
  };
}

/** Where the Pi camera's local copy goes for the Pi's own recorder (rpicam-rtsp's tap). */
export const PI_RECORD_UDP = 'udp://127.0.0.1:8561';

/**
 * The Pi's own recording (flows/pi.json, recorder "local recording"; issue 19): the camera's local
 * copy in events mode, its index in a small SQLite file beside the outbox, bounded by clip age and a
 * free-space floor, and the clips sent to the cloud (PICAM_CLOUD_URL with an API token of the cloud)
 * when it has none. On in the pi role; the demo's cloud records the Pi camera itself, so off there
 * unless PICAM_PI_RECORD=on (then its clips go to the demo's own API, and the CLI picks a free UDP port).
 */
function piRecordEnv(env: Env, role: Role, id: string, dataDir: string, problems: string[]): Record<string, string> {
  const on = (env.PICAM_PI_RECORD || (role === 'pi' ? 'on' : 'off')).toLowerCase();
  if (!['on', 'off'].includes(on)) problems.push(`PICAM_PI_RECORD must be on or off (got "${env.PICAM_PI_RECORD}")`);
  const udp = on === 'on' ? env.PICAM_PI_RECORD_UDP || PI_RECORD_UDP : '';
  return {
    PICAM_PI_RECORD_UDP: udp,
    PICAM_PI_RECORD_SOURCES: udp && id ? `${id}=${udp}` : '',
    PICAM_PI_RECORD_DIR: env.PICAM_PI_RECORD_DIR || resolve(dataDir, 'pi-recordings'),
    PICAM_PI_DB_FILE: env.PICAM_PI_DB_FILE || resolve(dataDir, 'pi-recordings.db'),
    PICAM_PI_RECORD_FREE_GB: env.PICAM_PI_RECORD_FREE_GB || '1',
    PICAM_PI_RECORD_FREE_PERCENT: env.PICAM_PI_RECORD_FREE_PERCENT || '15',
    PICAM_PI_RECORD_RETAIN_CLIP_DAYS: env.PICAM_PI_RECORD_RETAIN_CLIP_DAYS || '7',
    PICAM_CLOUD_URL: env.PICAM_CLOUD_URL ?? '',
    PICAM_CLOUD_API_TOKEN: env.PICAM_CLOUD_API_TOKEN ?? '',
  };
}

/** The Pi's MQTT outbox (nodes/mqtt-outbox): where it lives and how much of an outage it keeps. */
function outboxEnv(env: Env, dataDir: string): Record<string, string> {
  return {
    PICAM_OUTBOX_FILE: env.PICAM_OUTBOX_FILE || resolve(dataDir, 'pi-outbox.db'),
    PICAM_OUTBOX_MAX_MB: env.PICAM_OUTBOX_MAX_MB || String(OUTBOX_DEFAULTS.maxMiB),
    PICAM_OUTBOX_MAX_HOURS: env.PICAM_OUTBOX_MAX_HOURS || String(OUTBOX_DEFAULTS.maxHours),
  };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '';
  } catch {
    return ''; // only a label in the birth message
  }
}

/**
 * Flows read site values as ${NAME}: fill in the role's defaults the user did
 * not set (or, with `override`, replace them: the benchmark's own ports win).
 */
export function applyFlowEnv(role: RoleSettings, override = false): void {
  for (const [name, value] of Object.entries(role.flowEnv)) if (override || process.env[name] === undefined) process.env[name] = value;
}
