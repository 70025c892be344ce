/**
 * The one table of settings that appear in more than one place (an environment
 * variable the role fills in, a node property, the editor's default), and the
 * one way to read numbers, booleans and lists from the environment or a node's
 * properties. A default is written here once: cli/roles.ts fills `${ENV}` flow
 * values from it, the nodes fall back to it, and the build writes it into each
 * node's editor file (fillEditorDefaults) where the .html says
 * `{{default:name}}`; test/nodes/lib/settings.test.ts checks the built editors.
 */

export interface NumberSpec {
  /** the environment variable the role reads (and the shipped flow uses as `${NAME}`) */
  env: string;
  /** node type and property the value ends up in, for the editor-default check */
  property: [node: string, name: string];
  value: number;
  min: number;
  max?: number;
  integer?: boolean;
  what: string;
}

const spec = (env: string, property: [string, string], value: number, min: number, what: string, integer = false): NumberSpec => ({
  env,
  property,
  value,
  min,
  integer,
  what,
});

export const SETTINGS = {
  retainActivityDays: spec(
    'PICAM_RETAIN_ACTIVITY_DAYS',
    ['picam-database', 'retainActivityDays'],
    90,
    0,
    'days of motion events kept (0: forever)',
  ),
  retainStatusDays: spec(
    'PICAM_RETAIN_STATUS_DAYS',
    ['picam-database', 'retainStatusDays'],
    30,
    0,
    'days of status events and stream health kept',
  ),
  // Raw readings serve ranges shorter than about a day at the dashboard's 500 points (and a
  // week at the API's 10,000); longer ranges read the roll-ups. A week of raw 2-second readings
  // is about as large as a month of minutes: issue 18.
  retainSensorDays: spec('PICAM_RETAIN_SENSOR_DAYS', ['picam-database', 'retainSensorDays'], 7, 0, 'days of raw sensor readings kept'),
  retainSensorMinuteDays: spec(
    'PICAM_RETAIN_SENSOR_MINUTE_DAYS',
    ['picam-database', 'retainSensorMinuteDays'],
    31,
    0,
    'days of per-minute sensor roll-ups kept',
  ),
  // A year and a month: this month can be set beside the same month last year.
  retainSensorHourDays: spec(
    'PICAM_RETAIN_SENSOR_HOUR_DAYS',
    ['picam-database', 'retainSensorHourDays'],
    400,
    0,
    'days of per-hour sensor roll-ups kept',
  ),
  retainDeadLetterDays: spec(
    'PICAM_RETAIN_DEAD_LETTER_DAYS',
    ['picam-database', 'retainDeadLetterDays'],
    14,
    0,
    'days of refused messages kept',
  ),
  holdSeconds: spec(
    'PICAM_DB_HOLD_SECONDS',
    ['picam-database', 'holdSeconds'],
    60,
    0,
    'seconds input waits for a database that cannot open',
  ),
  // nodes/lib/store/read-pool.ts refuses a pool outside min..max too (a node property is not checked at start).
  readConnections: {
    ...spec(
      'PICAM_DB_READ_CONNECTIONS',
      ['picam-database', 'readConnections'],
      2,
      1,
      'read connections the API and dashboard queries share',
      true,
    ),
    max: 16,
  },
  debounceSeconds: spec(
    'PICAM_DEBOUNCE_SECONDS',
    ['mqtt-processor', 'debounceSeconds'],
    30,
    0,
    'seconds a reconnect may take before an offline alert',
  ),
  // The cluster role's sweep (issue 21): a device's Last Will is lost with its broker node, so a
  // device heard nothing of for this many intervals is marked offline. VBC01 cameras are told a
  // 600 s interval (vbc01-protocol.md §5.2); Pis and IP cameras send more often.
  heartbeatSeconds: spec(
    'PICAM_HEARTBEAT_SECONDS',
    ['mqtt-processor', 'heartbeatSeconds'],
    600,
    1,
    "seconds between a device's heartbeats (the longest of your devices)",
  ),
  missedHeartbeats: spec(
    'PICAM_MISSED_HEARTBEATS',
    ['mqtt-processor', 'missedHeartbeats'],
    3,
    0,
    'heartbeats missed before a device is marked offline (cluster role; 0: never)',
  ),
  clockPastHours: spec(
    'PICAM_CLOCK_PAST_HOURS',
    ['mqtt-processor', 'clockPastHours'],
    720,
    0,
    'hours a device timestamp may lie in the past',
  ),
  clockFutureSeconds: spec(
    'PICAM_CLOCK_FUTURE_SECONDS',
    ['mqtt-processor', 'clockFutureSeconds'],
    300,
    0,
    'seconds a device timestamp may lie ahead',
  ),
  uploadMaxMB: spec('PICAM_UPLOAD_MAX_MB', ['hivecam-gateway', 'maxUploadMB'], 256, 1, 'largest VBC01 upload, MB'),
  uploadRetainDays: spec('PICAM_UPLOAD_RETAIN_DAYS', ['hivecam-gateway', 'retainDays'], 30, 0, 'days VBC01 uploads are kept (0: forever)'),
  // VBC01 live view (vbc01-live, issue 17): the seed's Kurento values (vbc01-protocol.md §7).
  livePortMin: spec('PICAM_LIVE_PORT_MIN', ['vbc01-live', 'portMin'], 5000, 1024, 'first UDP port for camera RTP/RTCP', true),
  livePortMax: spec('PICAM_LIVE_PORT_MAX', ['vbc01-live', 'portMax'], 5050, 1025, 'last UDP port for camera RTP/RTCP', true),
  liveRembStartKbps: spec(
    'PICAM_LIVE_REMB_START_KBPS',
    ['vbc01-live', 'rembStartKbps'],
    5000,
    100,
    'REMB sent to a camera at first, kbit/s',
  ),
  liveRembFloorKbps: spec('PICAM_LIVE_REMB_FLOOR_KBPS', ['vbc01-live', 'rembFloorKbps'], 500, 50, 'lowest REMB sent to a camera, kbit/s'),
  liveKeepaliveSeconds: spec(
    'PICAM_LIVE_KEEPALIVE_SECONDS',
    ['vbc01-live', 'keepaliveSeconds'],
    15,
    1,
    'seconds between stream keepalives',
  ),
  liveGraceSeconds: spec(
    'PICAM_LIVE_GRACE_SECONDS',
    ['vbc01-live', 'graceSeconds'],
    10,
    0,
    'seconds a stream runs on after its last viewer',
  ),
  liveAnswerSeconds: spec('PICAM_LIVE_ANSWER_SECONDS', ['vbc01-live', 'answerSeconds'], 10, 1, 'seconds a camera has to start sending'),
  liveIdleSeconds: spec(
    'PICAM_LIVE_IDLE_SECONDS',
    ['vbc01-live', 'idleSeconds'],
    30,
    1,
    'seconds without video before a stream is stopped',
  ),
  // Recordings and event clips (recorder, issue 19).
  recordPreRollSeconds: spec(
    'PICAM_RECORD_PRE_ROLL_SECONDS',
    ['recorder', 'preRollSeconds'],
    5,
    0,
    'seconds of video kept before an event',
  ),
  recordPostRollSeconds: spec(
    'PICAM_RECORD_POST_ROLL_SECONDS',
    ['recorder', 'postRollSeconds'],
    10,
    0,
    'seconds of video kept after an event ends',
  ),
  recordMaxClipSeconds: spec('PICAM_RECORD_MAX_CLIP_SECONDS', ['recorder', 'maxClipSeconds'], 300, 10, 'longest event clip, seconds'),
  // 2 s: a clip is ready one segment after its post-roll ends; shorter makes more files for little gain.
  recordSegmentSeconds: spec('PICAM_RECORD_SEGMENT_SECONDS', ['recorder', 'segmentSeconds'], 2, 1, 'length of a recorded segment, seconds'),
  recordRetainClipDays: spec(
    'PICAM_RECORD_RETAIN_CLIP_DAYS',
    ['recorder', 'retainClipDays'],
    30,
    0,
    'days event clips are kept (0: forever)',
  ),
  recordRetainSegmentDays: spec(
    'PICAM_RECORD_RETAIN_SEGMENT_DAYS',
    ['recorder', 'retainSegmentDays'],
    7,
    0,
    'days continuous recordings are kept (0: forever)',
  ),
  recordFreePercent: {
    ...spec('PICAM_RECORD_FREE_PERCENT', ['recorder', 'freePercent'], 10, 0, 'per cent of the disk kept free'),
    max: 90,
  },
  recordFreeGB: spec('PICAM_RECORD_FREE_GB', ['recorder', 'freeGB'], 1, 0, 'GB of the disk kept free'),
} as const satisfies Record<string, NumberSpec>;

export type SettingName = keyof typeof SETTINGS;

/** Each setting's default, for code that falls back to it. */
export const DEFAULTS = Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.value])) as Record<SettingName, number>;

export class SettingError extends Error {}

/** A number from `name`'s raw text: empty or absent gives `def`; anything else must be a valid number. */
export function parseNumber(
  name: string,
  raw: string | number | undefined,
  def: number,
  limits: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (raw === undefined || raw === '') return def;
  const n = typeof raw === 'number' ? raw : Number(raw.trim());
  if ((typeof raw === 'string' && raw.trim() === '') || !Number.isFinite(n))
    throw new SettingError(`${name} must be a number (got "${String(raw)}")`);
  if (limits.integer && !Number.isInteger(n)) throw new SettingError(`${name} must be a whole number (got "${String(raw)}")`);
  if (limits.min !== undefined && n < limits.min) throw new SettingError(`${name} must be at least ${limits.min} (got "${String(raw)}")`);
  if (limits.max !== undefined && n > limits.max) throw new SettingError(`${name} must be at most ${limits.max} (got "${String(raw)}")`);
  return n;
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/** A boolean: true/false (any case), 1/0, yes/no, on/off; empty or absent gives `def`. */
export function parseBoolean(name: string, raw: string | boolean | undefined, def: boolean): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === undefined || raw.trim() === '') return def;
  const v = raw.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new SettingError(`${name} must be true or false (got "${raw}")`);
}

/** A comma-separated list, trimmed, empty items dropped; empty or absent gives `def`. */
export function parseList(raw: string | undefined, def: readonly string[] = []): string[] {
  const items = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : [...def];
}

/**
 * A setting from the environment, checked and given back as text for a `${NAME}` flow value.
 * A bad value becomes a start-up problem naming the variable; the default stands in meanwhile.
 */
export function envSetting(env: Record<string, string | undefined>, name: SettingName, problems: string[]): string {
  const s: NumberSpec = SETTINGS[name];
  try {
    return String(parseNumber(s.env, env[s.env], s.value, s));
  } catch (err) {
    problems.push(`${(err as Error).message}: ${s.what}`);
    return String(s.value);
  }
}

/** `{{default:retainActivityDays}}` in a node's editor .html: the build puts the table's value there. */
export const EDITOR_DEFAULT = /\{\{default:([^}]*)\}\}/g;

/**
 * A node's editor file with each `{{default:name}}` replaced by SETTINGS[name]'s value, so the
 * editor shows the default the code and the role use. An unknown name stops the build, naming
 * the file: a typo must not ship as a blank default.
 */
export function fillEditorDefaults(html: string, file: string): string {
  return html.replace(EDITOR_DEFAULT, (_m, name: string) => {
    if (!Object.hasOwn(SETTINGS, name)) throw new SettingError(`${file}: {{default:${name}}} is not a setting in nodes/lib/settings.ts`);
    return String(SETTINGS[name as SettingName].value);
  });
}

/**
 * How VBC01 cameras authenticate to the broker (README "Camera certificates: shared or per
 * camera"): `shared`, the real platform's one client certificate for every camera, the client id
 * saying which camera it is; `per-camera`, a certificate our CA issues each camera at enrolment
 * with its id as the common name, which the brokers take as its identity.
 */
export const CAMERA_CERT_MODES = ['shared', 'per-camera'] as const;
export type CameraCertMode = (typeof CAMERA_CERT_MODES)[number];

export const CAMERA_CERT_MODE = {
  env: 'PICAM_CERT_MODE',
  value: 'shared' as CameraCertMode,
  what: 'how cameras authenticate to the broker: shared or per-camera',
};

/** The certificate mode from the environment or a node property; empty or absent gives the default. */
export function parseCameraCertMode(raw: string | undefined): CameraCertMode {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '') return CAMERA_CERT_MODE.value;
  if ((CAMERA_CERT_MODES as readonly string[]).includes(v)) return v as CameraCertMode;
  throw new SettingError(`${CAMERA_CERT_MODE.env} must be ${CAMERA_CERT_MODES.join(' or ')} (got "${raw}")`);
}

/**
 * Where the event store lives in the cluster role (issue 21): a PostgreSQL URL,
 * `postgres://user:password@host:5432/database`. Empty (the default): the SQLite file
 * PICAM_DB_FILE. A secret (it holds the password): the picam-database node takes it as a
 * credential, and no message ever shows it (nodes/lib/redact.ts).
 */
export const DB_URL = {
  env: 'PICAM_DB_URL',
  value: '',
  what: 'PostgreSQL URL of the event store (empty: the SQLite file)',
};

/** The database URL from the environment or the node's credential: '' or a postgres:// URL; the error never repeats it. */
export function parseDbUrl(raw: string | undefined): string {
  const v = (raw ?? '').trim();
  if (v === '') return DB_URL.value;
  let protocol = '';
  try {
    protocol = new URL(v).protocol;
  } catch {
    throw new SettingError(`${DB_URL.env} is not a URL (expected postgres://user:password@host:5432/database)`);
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new SettingError(`${DB_URL.env} must be a postgres:// URL (got one starting "${protocol}")`);
  }
  return v;
}
