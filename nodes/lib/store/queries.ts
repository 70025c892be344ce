/**
 * Read side of the store: what the API and the dashboard ask. Filters are
 * validated here so that every caller (HTTP, flows, tests) gets the same
 * errors, and every value reaches SQL as a bound parameter.
 */
import { ZONE_NAME_PATTERN, type ZonePolygon } from '../contract/zones';
import { COMMAND_STATES } from './command-queue';
import type {
  AlertLogRow,
  CameraList,
  CameraRow,
  CommandRow,
  CursorPage,
  DeadLetterRow,
  EventRow,
  Page,
  StreamPoint,
  StreamRow,
} from '../contract/api-rows';
import type { SensorHistory } from '../contract/dashboard-api';
import type { Detection } from '../contract/detection';
import { API_PATHS, apiUrl } from '../contract/api-routes';
import type { Reader } from './read-pool';
import { sensorHistory } from './sensor-history';
import type { SqlValue } from './connection';
import { ANY_DEVICE_ID_PATTERN } from '../hosted-devices';
import { QueryError } from './query-error';
import { decodeCursor, encodeCursor } from './cursor';
import { sqlOf } from './dialect';
import { isoTimeMs } from '../iso-time';

export type * from '../contract/api-rows';

export { QueryError } from './query-error';

export type QueryKind = 'cameras' | 'events' | 'sensors' | 'dead-letters' | 'alerts' | 'streams' | 'status' | 'commands';
export const QUERY_KINDS: readonly QueryKind[] = [
  'cameras',
  'events',
  'sensors',
  'dead-letters',
  'alerts',
  'streams',
  'status',
  'commands',
];

/** Query parameters as they come from a URL or a flow: strings or numbers. */
export type QueryParams = Record<string, unknown>;

/** What each query kind answers (the API's response bodies). */
export interface QueryResults {
  cameras: CameraList;
  events: CursorPage & { events: EventRow[] };
  sensors: SensorHistory;
  'dead-letters': CursorPage & { deadLetters: DeadLetterRow[] };
  alerts: Page & { alerts: AlertLogRow[] };
  streams: { streams: StreamRow[] } | { path: string; from: number; to: number; history: StreamPoint[] };
  status: { schemaVersion: number; counts: Record<string, number> };
  commands: { command: CommandRow } | (Page & { commands: CommandRow[] });
}

/**
 * One parameter as a string or number. A URL can also make lists (`?limit=1&limit=2`) and
 * objects (`?limit[toString]=1`): those are the client's mistake (400 naming it), and must
 * never reach Number() or String(), which throw on some of them.
 */
function single(params: QueryParams, name: string): string | number | undefined {
  const raw = params[name];
  if (raw === undefined || typeof raw === 'string' || typeof raw === 'number') return raw;
  throw new QueryError(400, `"${name}" must be a single value, not ${Array.isArray(raw) ? 'a list' : `a ${typeof raw}`}`);
}

function int(params: QueryParams, name: string, def: number, min: number, max: number): number {
  const raw = single(params, name);
  if (raw === undefined || raw === '') return def;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new QueryError(400, `"${name}" must be an integer between ${min} and ${max}`);
  }
  return n;
}

/** Times as Unix seconds, Unix milliseconds or ISO 8601; returned in ms. */
function time(params: QueryParams, name: string): number | undefined {
  const raw = single(params, name);
  if (raw === undefined || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : Number(raw);
  // Whole milliseconds: the columns are integers, and PostgreSQL refuses a fraction for one.
  if (Number.isFinite(n) && n >= 0) return Math.floor(n < 1e11 ? n * 1000 : n);
  const t = typeof raw === 'string' ? isoTimeMs(raw) : 'is not text';
  if (typeof t === 'string')
    throw new QueryError(400, `"${name}" must be Unix seconds, milliseconds or an ISO 8601 time (YYYY-MM-DDThh:mm:ssZ)`);
  return t;
}

function deviceId(params: QueryParams, name: string, required: boolean): string | undefined {
  const raw = single(params, name);
  if (raw === undefined || raw === '') {
    if (required) throw new QueryError(400, `"${name}" is required`);
    return undefined;
  }
  if (typeof raw !== 'string' || !ANY_DEVICE_ID_PATTERN.test(raw)) {
    throw new QueryError(400, `"${name}" must match ${ANY_DEVICE_ID_PATTERN.source}`);
  }
  return raw;
}

/** Who a query answers: a login limited to some cameras (issue 23) is answered about those only. */
export interface QueryScope {
  /** the cameras this login may see; null or absent: all */
  cameras?: readonly string[] | null;
}

/** The largest camera page: more than a dashboard page, small enough to build in one go. */
export const MAX_CAMERA_PAGE = 1000;

/**
 * Devices by name, each with its mode, zones and latest event; `total` of them, and a page of
 * them with `limit` (and `offset`): the dashboard paints its first page of cards from a few
 * rows, not the fleet's whole list (issue 18).
 */
export async function cameras(db: Reader, p: QueryParams = {}, scope: QueryScope = {}): Promise<QueryResults['cameras']> {
  // Without `limit`, every device (0 is no page: int's range refuses it).
  const limit = int(p, 'limit', ALL_ROWS, 1, MAX_CAMERA_PAGE);
  const offset = int(p, 'offset', 0, 0, 1_000_000_000);
  const { filter, filterArgs } = registryScope(db, scope.cameras ?? null);
  const total = (await db.get<{ n: number }>(`SELECT count(*) AS n FROM camera_registry ${filter}`, filterArgs))?.n ?? 0;
  const rows = await db.all<Omit<CameraRow, 'zones'> & { zones: string | null }>(
    `SELECT r.camera_id, r.device_type, r.camera_name, r.ip_address, r.firmware_version, r.status,
            s.setting_value AS desired_mode, z.setting_value AS zones, r.connection_status, r.battery_level, r.signal_strength,
            r.last_seen, r.created_at, r.updated_at,
            e.event_id AS last_event_id, e.activity_type AS last_event_type,
            COALESCE(e.start_timestamp, e.end_timestamp) AS last_event_time
       -- The page first: the joins below run for its rows only.
       FROM (SELECT * FROM camera_registry ${filter}
              ORDER BY COALESCE(camera_name, camera_id), camera_id LIMIT ? OFFSET ?) r
       LEFT JOIN camera_state s ON s.camera_id = r.camera_id AND s.setting_name = 'mode'
       LEFT JOIN camera_state z ON z.camera_id = r.camera_id AND z.setting_name = 'zones'
       -- One seek per device in activity_events_page_camera, whatever the number of events: the
       -- dashboard's grid needs no request per device (issue 18: 600 devices took 600 requests).
       -- The newest by sort_ts, as the events list orders them (ties: the list's order too).
       -- By the key (camera_id, event_id), a seek on both engines (PostgreSQL has no rowid).
       LEFT JOIN activity_events e ON e.camera_id = r.camera_id AND e.event_id = (
         SELECT x.event_id FROM activity_events x WHERE x.camera_id = r.camera_id ORDER BY x.sort_ts DESC, x.event_id DESC LIMIT 1)
      ORDER BY COALESCE(r.camera_name, r.camera_id), r.camera_id`,
    [...filterArgs, limit, offset],
  );
  // Stored by the store itself from checked polygons (record-sql.ts): JSON it wrote.
  return {
    cameras: rows.map((r) => ({ ...r, zones: r.zones === null ? null : (JSON.parse(r.zones) as ZonePolygon[]) })),
    total,
    ...(limit !== ALL_ROWS && { limit, offset }),
  };
}

/** LIMIT for "every row": both engines take a bound number, and no table here comes near it. */
const ALL_ROWS = 2 ** 31 - 1;

/** The registry's rows of the scope's cameras (bound as one parameter), or all of them. */
function registryScope(db: Reader, cameras: readonly string[] | null): { filter: string; filterArgs: SqlValue[] } {
  if (!cameras) return { filter: '', filterArgs: [] };
  const dialect = sqlOf(db);
  return {
    filter: `WHERE camera_id IN (${dialect.rowsSource('camera_registry', ['camera_id'])})`,
    filterArgs: [
      dialect.rowsParam(
        ['camera_id'],
        cameras.map((c) => [c]),
      ),
    ],
  };
}

/** Totals are counted up to this many rows and said as "10000 or more" beyond (`totalCapped`). */
export const TOTAL_CAP = 10_000;
/** OFFSET walks every row before the page; deeper pages take the cursor. */
export const MAX_OFFSET = 10_000;

/** `limit` and `offset` (at most MAX_OFFSET), or `cursor` (never both: they name two different places). */
function paging(p: QueryParams): { limit: number; offset: number; cursor?: unknown } {
  const limit = int(p, 'limit', 50, 1, 1000);
  const offsetRaw = single(p, 'offset');
  const offset = int(p, 'offset', 0, 0, 1_000_000_000);
  if (offset > MAX_OFFSET) {
    throw new QueryError(400, `"offset" must be at most ${MAX_OFFSET}: page further with "cursor", the "next" value of each page`);
  }
  const cursor = p.cursor === '' ? undefined : p.cursor;
  if (cursor !== undefined && offsetRaw !== undefined && offsetRaw !== '' && offset !== 0) {
    throw new QueryError(400, 'give "cursor" or "offset", not both: the cursor already says where the page starts');
  }
  return { limit, offset, cursor };
}

/** count(*) that stops at TOTAL_CAP + 1 rows: an index walk of at most that many entries, never the table. */
async function cappedCount(db: Reader, from: string, filter: string, args: SqlValue[]): Promise<{ total: number; totalCapped: boolean }> {
  const row = await db.get<{ n: number }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM ${from} ${filter} LIMIT ${TOTAL_CAP + 1}) AS capped`,
    args,
  );
  const n = row?.n ?? 0;
  return n > TOTAL_CAP ? { total: TOTAL_CAP, totalCapped: true } : { total: n, totalCapped: false };
}

type EventKey = [number, string, string];
const isEventKey = (k: unknown[]): k is EventKey =>
  k.length === 3 && Number.isSafeInteger(k[0]) && typeof k[1] === 'string' && typeof k[2] === 'string';

/**
 * The index that answers both the filter and the order (migration 11). Named, not
 * left to the planner: with statistics (ANALYZE) it may pick the time index for a
 * common type and walk far more rows than a page.
 */
function eventIndex(camera: boolean, type: boolean, label = false): string {
  if (label) return 'activity_events_page_label';
  if (camera && type) return 'activity_events_page_camera_type';
  if (camera) return 'activity_events_page_camera';
  if (type) return 'activity_events_page_type';
  return 'activity_events_page';
}

/**
 * Activity events newest first (by start, else end), filtered by camera, type and
 * time; paged by `cursor` (keyset, any depth) or a small `offset`.
 */
export async function events(db: Reader, p: QueryParams): Promise<QueryResults['events']> {
  const where: string[] = [];
  const args: SqlValue[] = [];
  const camera = deviceId(p, 'camera', false) ?? deviceId(p, 'cameraId', false);
  if (camera) {
    where.push('e.camera_id = ?');
    args.push(camera);
  }
  const type = single(p, 'type');
  const hasType = type !== undefined && type !== '';
  if (hasType) {
    if (typeof type !== 'string' || !/^[A-Za-z_]{1,64}$/.test(type))
      throw new QueryError(400, '"type" must be an activity type such as MOTION');
    where.push('e.activity_type = ?');
    args.push(type.toUpperCase());
  }
  const zone = single(p, 'zone');
  if (zone !== undefined && zone !== '') {
    if (typeof zone !== 'string' || !ZONE_NAME_PATTERN.test(zone)) throw new QueryError(400, '"zone" must be a zone name such as driveway');
    where.push(sqlOf(db).jsonArrayHas('e.zones'));
    args.push(zone);
  }
  const label = detectionLabel(p);
  if (label !== undefined) {
    where.push('e.detection_label = ?');
    args.push(label);
  }
  const from = time(p, 'from');
  const to = time(p, 'to');
  if (from !== undefined) {
    where.push('e.sort_ts >= ?');
    args.push(Math.floor(from / 1000));
  }
  if (to !== undefined) {
    where.push('e.sort_ts <= ?');
    args.push(Math.floor(to / 1000));
  }
  const { limit, offset, cursor } = paging(p);
  const index = sqlOf(db).indexedBy('activity_events', 'e', eventIndex(camera !== undefined, hasType, label !== undefined));
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const { total, totalCapped } = await cappedCount(db, index, filter, args);
  const page = [...where];
  const pageArgs = [...args];
  if (cursor !== undefined) {
    const key = decodeCursor('events', cursor, isEventKey);
    // Row values compare left to right: strictly after the last row of the previous page.
    page.push('(e.sort_ts, e.camera_id, e.event_id) < (?, ?, ?)');
    pageArgs.push(...key);
  }
  // SQLite answers EXISTS with 0 or 1 (and so does postgres.ts); the API says true or false.
  type SqlEventRow = Omit<EventRow, 'has_thumbnail' | 'has_recording' | 'clip' | 'zones' | 'detection'> & {
    zones: string | null;
    detection_label: string | null;
    detection_score: number | null;
    detection_box: string | null;
    has_thumbnail: number;
    has_recording: number;
    has_clip: number;
    sort_ts: number;
  };
  const rows = await db.all<SqlEventRow>(
    `SELECT e.event_id, e.camera_id, COALESCE(e.camera_name, r.camera_name) AS camera_name, e.activity_type,
            e.start_timestamp, e.end_timestamp, e.duration_seconds, e.confidence, e.thumbnail_path,
            e.recording_path, e.upload_status, e.telegram_notified, e.created_at, e.sort_ts, e.zones,
            e.detection_label, e.detection_score, e.detection_box,
            -- What /api/media serves for the event: the dashboard asks for a thumbnail only when there is one.
            EXISTS (SELECT 1 FROM file_uploads f WHERE f.camera_id = e.camera_id AND f.event_id = e.event_id
                    AND f.file_type = 'thumbnail') AS has_thumbnail,
            EXISTS (SELECT 1 FROM file_uploads f WHERE f.camera_id = e.camera_id AND f.event_id = e.event_id
                    AND f.file_type IN ('recording', 'segment')) AS has_recording,
            -- The recorder's clip (migration 14), by its primary key: one lookup per row of the page.
            EXISTS (SELECT 1 FROM recording_clips c WHERE c.camera_id = e.camera_id AND c.event_id = e.event_id
                    AND c.state IN ('recording', 'ready')) AS has_clip
       FROM ${index} LEFT JOIN camera_registry r ON r.camera_id = e.camera_id
       ${page.length ? `WHERE ${page.join(' AND ')}` : ''}
      ORDER BY e.sort_ts DESC, e.camera_id DESC, e.event_id DESC
      LIMIT ? OFFSET ?`,
    // One row more than the page says whether there is a next page.
    [...pageArgs, limit + 1, offset],
  );
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  const next = rows.length > limit && last ? encodeCursor('events', [last.sort_ts, last.camera_id, last.event_id]) : null;
  const withFlags: EventRow[] = shown.map(
    ({ sort_ts: _sortKey, has_clip: hasClip, detection_label, detection_score, detection_box, ...r }) => ({
      ...r,
      detection: storedDetection(detection_label, detection_score, detection_box),
      has_thumbnail: r.has_thumbnail === 1,
      has_recording: r.has_recording === 1,
      // written by the store from checked names (record-sql.ts)
      zones: r.zones === null ? null : (JSON.parse(r.zones) as string[]),
      clip: hasClip === 1 ? apiUrl(API_PATHS.recordingClip, { cameraId: r.camera_id, eventId: r.event_id }) : null,
    }),
  );
  return { events: withFlags, total, totalCapped, limit, offset, next };
}

/** `label`: a detector label such as person (issue 20); letters, spaces, - and _ only. */
function detectionLabel(p: QueryParams): string | undefined {
  const label = single(p, 'label');
  if (label === undefined || label === '') return undefined;
  if (typeof label !== 'string' || !/^[a-z][a-z _-]{0,31}$/i.test(label))
    throw new QueryError(400, '"label" must be a detector label such as person');
  return label.toLowerCase();
}

/** The columns of migration 17 as the API's `detection`; null for events without one. */
function storedDetection(label: string | null, score: number | null, box: string | null): EventRow['detection'] {
  if (!label || score === null) return null;
  let parsed: Detection['box'] = { x: 0, y: 0, w: 0, h: 0 };
  try {
    parsed = box ? (JSON.parse(box) as Detection['box']) : parsed;
  } catch {
    // Written by record-sql from a checked object; a hand-edited row shows without its box.
  }
  return { label, score, box: parsed };
}

/** Sensor history (sensor-history.ts): at most `points` points, from raw readings or roll-ups by range. */
export async function sensors(db: Reader, p: QueryParams): Promise<QueryResults['sensors']> {
  const id = deviceId(p, 'deviceId', true)!;
  const known = await db.get('SELECT 1 AS x FROM camera_registry WHERE camera_id = ?', [id]);
  if (!known) throw new QueryError(404, `unknown device "${id}"`);
  const toMs = time(p, 'to') ?? Date.now();
  const fromMs = time(p, 'from') ?? toMs - 24 * 3600_000;
  if (fromMs > toMs) throw new QueryError(400, '"from" is after "to"');
  const points = int(p, 'points', 500, 1, 10_000);
  return sensorHistory(db, { deviceId: id, fromMs, toMs, points });
}

type DeadLetterKey = [number];
const isDeadLetterKey = (k: unknown[]): k is DeadLetterKey => k.length === 1 && Number.isSafeInteger(k[0]);

/** Dead letters newest first; paged like events (`cursor`: the id, the primary key). */
export async function deadLetters(db: Reader, p: QueryParams): Promise<QueryResults['dead-letters']> {
  const { limit, offset, cursor } = paging(p);
  const { total, totalCapped } = await cappedCount(db, 'dead_letters', '', []);
  const after = cursor === undefined ? undefined : decodeCursor('dead-letters', cursor, isDeadLetterKey)[0];
  const rows = await db.all<DeadLetterRow>(
    `SELECT id, received_ms, source, reason, device_id, payload, payload_bytes FROM dead_letters
      ${after === undefined ? '' : 'WHERE id < ?'} ORDER BY id DESC LIMIT ? OFFSET ?`,
    [...(after === undefined ? [] : [after]), limit + 1, offset],
  );
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  const next = rows.length > limit && last ? encodeCursor('dead-letters', [last.id]) : null;
  return { deadLetters: shown, total, totalCapped, limit, offset, next };
}

const OUTBOX_STATES = ['pending', 'sending', 'waiting', 'sent', 'failed', 'suppressed', 'merged'];

/** The alert delivery log: every alert and snapshot an alert node took, newest first, without images. */
export async function alerts(db: Reader, p: QueryParams): Promise<QueryResults['alerts']> {
  const limit = int(p, 'limit', 50, 1, 1000);
  const offset = int(p, 'offset', 0, 0, 1_000_000_000);
  const where: string[] = [];
  const args: SqlValue[] = [];
  const camera = deviceId(p, 'camera', false);
  if (camera) {
    where.push('device_id = ?');
    args.push(camera);
  }
  const state = single(p, 'state');
  if (state !== undefined && state !== '') {
    if (typeof state !== 'string' || !OUTBOX_STATES.includes(state)) {
      throw new QueryError(400, `"state" must be one of ${OUTBOX_STATES.join(', ')}`);
    }
    where.push('state = ?');
    args.push(state);
  }
  const channel = single(p, 'channel');
  if (channel !== undefined && channel !== '') {
    if (typeof channel !== 'string' || !/^[a-z0-9-]{1,32}$/.test(channel))
      throw new QueryError(400, '"channel" must be a channel name such as telegram');
    where.push('channel = ?');
    args.push(channel);
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const json = sqlOf(db).jsonText;
  const total = await db.get<{ n: number }>(`SELECT count(*) AS n FROM alerts_outbox ${filter}`, args);
  const rows = await db.all<AlertLogRow>(
    `SELECT id, channel, target, item, ${json('alert', 'kind')} AS kind, device_id,
            ${json('alert', 'deviceName')} AS device_name, event_id, ${json('alert', 'text')} AS text,
            state, attempts, last_error AS reason, created_ms, sent_ms, message_id
       FROM alerts_outbox ${filter} ORDER BY id DESC LIMIT ? OFFSET ?`,
    [...args, limit, offset],
  );
  return { alerts: rows, total: total?.n ?? 0, limit, offset };
}

// Quoted: PostgreSQL folds a bare alias to lower case.
const COMMAND_COLUMNS = `command_id AS id, device_id AS "deviceId", action, topic, state, reason, attempts,
  created_ms AS "createdMs", expires_ms AS "expiresMs", sent_ms AS "sentMs", payload`;

type StoredCommand = Omit<CommandRow, 'payload'> & { payload: string };
/** Commands are JSON as mqtt-processor builds them; another flow's plain text stays text. */
function withPayload(r: StoredCommand): CommandRow {
  try {
    return { ...r, payload: JSON.parse(r.payload) as unknown };
  } catch {
    return r;
  }
}

/**
 * The command queue: one command by its id (`GET /api/commands/{id}`, 404 when
 * unknown), or a list newest first, by `device` and `state`.
 */
export async function commands(db: Reader, p: QueryParams): Promise<QueryResults['commands']> {
  if (p.id !== undefined && p.id !== '') {
    if (typeof p.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(p.id))
      throw new QueryError(400, '"id" must be a command id (its requestId, a UUID such as 379ec4f5-46a8-492b-b3b4-d390553f8a70)');
    const row = await db.get<StoredCommand>(`SELECT ${COMMAND_COLUMNS} FROM command_queue WHERE command_id = ?`, [p.id]);
    if (!row) throw new QueryError(404, `unknown command "${p.id}"`);
    return { command: withPayload(row) };
  }
  const where: string[] = [];
  const args: SqlValue[] = [];
  const device = deviceId(p, 'device', false) ?? deviceId(p, 'deviceId', false);
  if (device) {
    where.push('device_id = ?');
    args.push(device);
  }
  if (p.state !== undefined && p.state !== '') {
    if (typeof p.state !== 'string' || !(COMMAND_STATES as readonly string[]).includes(p.state)) {
      throw new QueryError(400, `"state" must be one of ${COMMAND_STATES.join(', ')}`);
    }
    where.push('state = ?');
    args.push(p.state);
  }
  const limit = int(p, 'limit', 50, 1, 1000);
  const offset = int(p, 'offset', 0, 0, 1_000_000_000);
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = await db.get<{ n: number }>(`SELECT count(*) AS n FROM command_queue ${filter}`, args);
  const rows = await db.all<StoredCommand>(`SELECT ${COMMAND_COLUMNS} FROM command_queue ${filter} ORDER BY seq DESC LIMIT ? OFFSET ?`, [
    ...args,
    limit,
    offset,
  ]);
  return { commands: rows.map(withPayload), total: total?.n ?? 0, limit, offset };
}

/**
 * The stream paths that have health rows, as a CTE named `paths`: one seek per path along the
 * primary key (path, time_ms), where GROUP BY path reads every poll ever kept (a poll every
 * few seconds per path adds millions of rows a month). Used with WITH RECURSIVE.
 */
export const STREAM_PATHS = `paths(path) AS (
  SELECT min(path) FROM stream_health
  UNION ALL SELECT (SELECT min(path) FROM stream_health WHERE path > p.path) FROM paths p WHERE p.path IS NOT NULL)`;

/** Stream health: every path's latest poll, or one path's history (`path`, `from`, `to`, last hour by default). */
export async function streams(db: Reader, p: QueryParams): Promise<QueryResults['streams']> {
  const path = single(p, 'path');
  if (path === undefined || path === '') {
    const rows = await db.all<StreamRow>(
      `WITH RECURSIVE ${STREAM_PATHS}
       SELECT h.path, h.time_ms, h.online, h.readers, h.inbound_kbps, h.outbound_kbps, h.frames_in_error, h.source_type
         FROM paths p JOIN stream_health h ON h.path = p.path
          AND h.time_ms = (SELECT max(time_ms) FROM stream_health WHERE path = p.path)
        ORDER BY h.path`,
    );
    return { streams: rows };
  }
  if (typeof path !== 'string' || !/^[A-Za-z0-9_.~/-]{1,256}$/.test(path)) throw new QueryError(400, '"path" must be a MediaMTX path name');
  const toMs = time(p, 'to') ?? Date.now();
  const fromMs = time(p, 'from') ?? toMs - 3600_000;
  const rows = await db.all<StreamPoint>(
    `SELECT time_ms, online, readers, inbound_kbps, outbound_kbps, frames_in_error FROM stream_health
      WHERE path = ? AND time_ms BETWEEN ? AND ? ORDER BY time_ms LIMIT 5000`,
    [path, fromMs, toMs],
  );
  return { path, from: fromMs, to: toMs, history: rows };
}

/**
 * Row counts: a cheap health view of the store. The counts are kept by triggers as rows come
 * and go (migration 12, table table_counts), so this reads a handful of rows however big the
 * tables are; they are exact as of the last commit.
 */
export async function status(db: Reader): Promise<QueryResults['status']> {
  // A table's count may be kept in several rows (PostgreSQL's shards, schema-postgres.ts): summed.
  const rows = await db.all<{ name: string; n: number }>('SELECT name, sum(n) AS n FROM table_counts GROUP BY name ORDER BY name');
  const counts = Object.fromEntries(rows.map((r) => [r.name, r.n]));
  const version = await db.get<{ user_version: number }>(sqlOf(db).schemaVersion);
  return { schemaVersion: version?.user_version ?? 0, counts };
}

/**
 * What mqtt-processor needs after a restart: names and modes to restore, and
 * for a disconnected device when its disconnection arrived (Unix seconds, the
 * runtime's clock) and what the user was last told, so a pending offline alert
 * is still sent.
 */
export interface KnownDeviceRow {
  camera_id: string;
  device_type: string | null;
  camera_name: string | null;
  mode: string | null;
  /** the masks and zones last asked for, JSON */
  zones: string | null;
  connection_status: string | null;
  connection_alert: string | null;
  disconnected_at: number | null;
}

export async function knownDevices(db: Reader, ids?: readonly string[]): Promise<KnownDeviceRow[]> {
  // Some devices (the cluster role reads those of a batch before it processes it): by id.
  const only = ids ? ` WHERE r.camera_id IN (${ids.map(() => '?').join(', ') || 'NULL'})` : '';
  return db.all<KnownDeviceRow>(
    `SELECT r.camera_id, r.device_type, r.camera_name, s.setting_value AS mode, z.setting_value AS zones,
            r.connection_status, r.connection_alert,
            CASE WHEN r.connection_status = 'disconnected' THEN
              (SELECT MAX(e.created_at) FROM status_events e
                WHERE e.camera_id = r.camera_id AND e.event_type = 'connection' AND e.status = 'disconnected')
            END AS disconnected_at
       FROM camera_registry r
       LEFT JOIN camera_state s ON s.camera_id = r.camera_id AND s.setting_name = 'mode'
       LEFT JOIN camera_state z ON z.camera_id = r.camera_id AND z.setting_name = 'zones'${only}`,
    ids ? [...ids] : [],
  );
}
