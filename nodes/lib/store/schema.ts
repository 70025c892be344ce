/**
 * Schema migrations. Each has a version; the database records the highest one
 * applied (PRAGMA user_version and the schema_migrations table) and only newer
 * ones run, each in its own transaction. Never edit a released migration: add one.
 *
 * Seed 004's tables keep its column names and its Unix-second timestamps so its
 * tools and queries still work; tables we added use Unix milliseconds (`*_ms`).
 *
 * Two dialects (connection.ts): SQLite runs MIGRATIONS below; PostgreSQL runs PG_MIGRATIONS
 * (schema-postgres.ts), which start with one baseline equal to SQLite's version 24. Both record
 * their versions in schema_migrations (SQLite also in PRAGMA user_version). To add a migration:
 * append it here with the next version, and append the same change in PostgreSQL's SQL with the
 * same version to PG_MIGRATIONS (types as that file says: BIGINT times, DOUBLE PRECISION reals,
 * plpgsql functions for triggers); test/nodes/lib/store/schema-postgres.test.ts checks that both
 * end at the same version with the same tables and columns.
 */
import type { StoreConnection } from './connection';
import { sqlOf } from './dialect';
import { PG_BASELINE_VERSION, PG_MIGRATIONS } from './schema-postgres';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** The tables migration 12 counts; released, so never changed (/api/status reports each). */
export const COUNTED_IN_12 = [
  'camera_registry',
  'activity_events',
  'status_events',
  'sensor_readings',
  'dead_letters',
  'alerts_outbox',
  'stream_health',
  'command_queue',
];

/**
 * One counted table's first count and the two triggers that keep it (migration 12). A table
 * counted later gets its own migration calling this; /api/status reports every row of table_counts.
 */
function countTriggers(table: string): string {
  return `
INSERT INTO table_counts (name, n) SELECT '${table}', count(*) FROM ${table};
CREATE TRIGGER ${table}_count_insert AFTER INSERT ON ${table}
BEGIN UPDATE table_counts SET n = n + 1 WHERE name = '${table}'; END;
CREATE TRIGGER ${table}_count_delete AFTER DELETE ON ${table}
BEGIN UPDATE table_counts SET n = n - 1 WHERE name = '${table}'; END;`;
}

/**
 * The roll-up tables of migration 13 and their bucket widths; released, so never changed.
 * Deliberately not sensor-levels.ts's SENSOR_LEVELS (what the history query and retention
 * read): a released migration must build the same tables on every store whatever that list
 * becomes later. test/nodes/lib/store/sensor-levels.test.ts checks the two agree today.
 */
const ROLLUPS: ReadonlyArray<[table: string, bucketMs: number]> = [
  ['sensor_minute', 60_000],
  ['sensor_hour', 3_600_000],
];
const ROLLUP_METRICS = ['temperature', 'humidity', 'pressure'];

/** A roll-up table: per device and bucket, each metric's min, max, and sum and count for the mean. */
function rollupTable(table: string): string {
  const columns = ROLLUP_METRICS.map((m) => `  ${m}_min REAL,\n  ${m}_max REAL,\n  ${m}_sum REAL NOT NULL,\n  ${m}_n INTEGER NOT NULL,\n`);
  return `CREATE TABLE ${table} (\n  device_id TEXT NOT NULL,\n  bucket_ms INTEGER NOT NULL,\n  samples INTEGER NOT NULL,\n${columns.join('')}  PRIMARY KEY (device_id, bucket_ms)\n) WITHOUT ROWID;\n`;
}

/**
 * The two triggers that keep a roll-up as readings arrive: an insert adds the reading to its
 * bucket; a replaced reading (the batch writer's upsert) moves the sums by the difference, and
 * its old value may stay in min/max.
 */
function rollupTriggers(table: string, bucketMs: number): string {
  const bucket = `CAST(NEW.time_ms AS INTEGER) / ${bucketMs} * ${bucketMs}`;
  const names = ROLLUP_METRICS.flatMap((m) => [`${m}_min`, `${m}_max`, `${m}_sum`, `${m}_n`]).join(', ');
  const values = ROLLUP_METRICS.map((m) => `NEW.${m}, NEW.${m}, coalesce(NEW.${m}, 0), NEW.${m} IS NOT NULL`).join(', ');
  const add = ROLLUP_METRICS.map(
    (m) =>
      `    ${m}_min = min(coalesce(${m}_min, excluded.${m}_min), coalesce(excluded.${m}_min, ${m}_min)),\n` +
      `    ${m}_max = max(coalesce(${m}_max, excluded.${m}_max), coalesce(excluded.${m}_max, ${m}_max)),\n` +
      `    ${m}_sum = ${m}_sum + excluded.${m}_sum, ${m}_n = ${m}_n + excluded.${m}_n`,
  ).join(',\n');
  const replace = ROLLUP_METRICS.map(
    (m) =>
      `    ${m}_min = min(coalesce(${m}_min, NEW.${m}), coalesce(NEW.${m}, ${m}_min)),\n` +
      `    ${m}_max = max(coalesce(${m}_max, NEW.${m}), coalesce(NEW.${m}, ${m}_max)),\n` +
      `    ${m}_sum = ${m}_sum - coalesce(OLD.${m}, 0) + coalesce(NEW.${m}, 0),\n` +
      `    ${m}_n = ${m}_n - (OLD.${m} IS NOT NULL) + (NEW.${m} IS NOT NULL)`,
  ).join(',\n');
  return `CREATE TRIGGER ${table}_rollup AFTER INSERT ON sensor_readings
BEGIN
  INSERT INTO ${table} (device_id, bucket_ms, samples, ${names})
  VALUES (NEW.device_id, ${bucket}, 1, ${values})
  ON CONFLICT (device_id, bucket_ms) DO UPDATE SET samples = samples + 1,
${add};
END;
CREATE TRIGGER ${table}_rollup_replace AFTER UPDATE OF ${ROLLUP_METRICS.join(', ')} ON sensor_readings
BEGIN
  UPDATE ${table} SET
${replace}
  WHERE device_id = NEW.device_id AND bucket_ms = ${bucket};
END;
`;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'seed 004 tables, sensor readings, commands, alerts outbox, dead letters',
    sql: `
CREATE TABLE camera_registry (
  camera_id TEXT PRIMARY KEY,
  camera_name TEXT,
  ip_address TEXT,
  firmware_version TEXT,
  status TEXT,
  connection_status TEXT,
  last_seen INTEGER,
  created_at INTEGER,
  updated_at INTEGER,
  device_type TEXT,
  hardware_version TEXT,
  serial_number TEXT,
  battery_level INTEGER,
  signal_strength INTEGER
);
CREATE TABLE activity_events (
  event_id TEXT PRIMARY KEY,
  camera_id TEXT,
  camera_name TEXT,
  activity_type TEXT,
  start_timestamp INTEGER,
  end_timestamp INTEGER,
  duration_seconds INTEGER,
  confidence REAL,
  thumbnail_path TEXT,
  recording_path TEXT,
  recording_filename TEXT,
  recording_size INTEGER,
  upload_status TEXT,
  telegram_msg_id INTEGER,
  telegram_notified INTEGER DEFAULT 0,
  created_at INTEGER,
  region TEXT
);
CREATE INDEX activity_events_camera_time ON activity_events (camera_id, start_timestamp);
CREATE INDEX activity_events_time ON activity_events (start_timestamp);
CREATE TABLE status_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  camera_id TEXT,
  event_type TEXT,
  status TEXT,
  timestamp INTEGER,
  camera_name TEXT,
  client_id TEXT,
  ip_address TEXT,
  firmware_version TEXT,
  battery_level INTEGER,
  temperature REAL,
  uptime INTEGER,
  raw_payload TEXT,
  created_at INTEGER,
  signal_strength INTEGER,
  stream_state TEXT
);
CREATE INDEX status_events_camera_time ON status_events (camera_id, timestamp);
CREATE TABLE file_uploads (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT,
  camera_id TEXT,
  file_type TEXT,
  file_path TEXT,
  file_size INTEGER,
  uploaded_at INTEGER
);
CREATE INDEX file_uploads_event ON file_uploads (event_id);
CREATE TABLE camera_state (
  camera_id TEXT,
  setting_name TEXT,
  setting_value TEXT,
  last_updated INTEGER,
  PRIMARY KEY (camera_id, setting_name)
);
CREATE TABLE sensor_readings (
  device_id TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  temperature REAL,
  humidity REAL,
  pressure REAL,
  PRIMARY KEY (device_id, time_ms)
) WITHOUT ROWID;
CREATE TABLE commands (
  request_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  action TEXT NOT NULL,
  topic TEXT NOT NULL,
  mode TEXT,
  created_ms INTEGER NOT NULL
);
CREATE TABLE alerts_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  dedupe_key TEXT UNIQUE,
  channel TEXT NOT NULL,
  alert TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT,
  created_ms INTEGER NOT NULL,
  sent_ms INTEGER
);
CREATE INDEX alerts_outbox_due ON alerts_outbox (state, next_attempt_ms);
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_ms INTEGER NOT NULL,
  source TEXT NOT NULL,
  reason TEXT NOT NULL,
  device_id TEXT,
  payload TEXT,
  payload_bytes INTEGER
);
CREATE INDEX dead_letters_time ON dead_letters (received_ms);
`,
  },
  {
    version: 2,
    description: 'alerts outbox: one row per delivery (owner node, target), snapshots and message ids',
    // One row per alert per destination, so a chat that failed is retried
    // without sending again to the chats that already got it.
    sql: `
ALTER TABLE alerts_outbox ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts_outbox ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts_outbox ADD COLUMN item TEXT NOT NULL DEFAULT 'alert';
ALTER TABLE alerts_outbox ADD COLUMN device_id TEXT;
ALTER TABLE alerts_outbox ADD COLUMN event_id TEXT;
ALTER TABLE alerts_outbox ADD COLUMN image BLOB;
ALTER TABLE alerts_outbox ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts_outbox ADD COLUMN message_id INTEGER;
ALTER TABLE alerts_outbox ADD COLUMN has_photo INTEGER NOT NULL DEFAULT 0;
CREATE INDEX alerts_outbox_owner_due ON alerts_outbox (owner, state, next_attempt_ms);
CREATE INDEX alerts_outbox_event ON alerts_outbox (owner, event_id, target);
CREATE INDEX alerts_outbox_created ON alerts_outbox (created_ms);
`,
  },
  {
    version: 3,
    description: 'stream health history from mediamtx-health',
    sql: `
CREATE TABLE stream_health (
  path TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  online INTEGER NOT NULL,
  readers INTEGER NOT NULL,
  inbound_kbps REAL,
  outbound_kbps REAL,
  frames_in_error INTEGER,
  source_type TEXT,
  PRIMARY KEY (path, time_ms)
) WITHOUT ROWID;
CREATE INDEX stream_health_time ON stream_health (time_ms);
`,
  },
  {
    version: 4,
    description: 'VBC01 gateway: registered cameras, upload file names and HLS playlists',
    sql: `
CREATE TABLE gateway_cameras (
  camera_id TEXT PRIMARY KEY,
  registered_ms INTEGER NOT NULL,
  registered_by TEXT NOT NULL,
  cert_issued_ms INTEGER,
  cert_requests INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE file_uploads ADD COLUMN file_name TEXT;
ALTER TABLE file_uploads ADD COLUMN upload_dir TEXT;
ALTER TABLE file_uploads ADD COLUMN hls_playlist TEXT;
CREATE INDEX file_uploads_time ON file_uploads (uploaded_at);
`,
  },
  {
    version: 5,
    description: 'events keyed by (camera, event id); device times kept as sent; connection alert state',
    // Issue 13: two cameras with the same eventId shared one row (15); an
    // impossible device time is replaced by the receive time and the device's
    // value kept in *_time_raw (14); what the user was last told about a
    // connection survives restarts (17). SQLite cannot drop a PRIMARY KEY:
    // activity_events is rebuilt, keeping every row and column.
    sql: `
CREATE TABLE activity_events_v5 (
  event_id TEXT,
  camera_id TEXT,
  camera_name TEXT,
  activity_type TEXT,
  start_timestamp INTEGER,
  end_timestamp INTEGER,
  duration_seconds INTEGER,
  confidence REAL,
  thumbnail_path TEXT,
  recording_path TEXT,
  recording_filename TEXT,
  recording_size INTEGER,
  upload_status TEXT,
  telegram_msg_id INTEGER,
  telegram_notified INTEGER DEFAULT 0,
  created_at INTEGER,
  region TEXT,
  start_time_raw TEXT,
  end_time_raw TEXT
);
INSERT INTO activity_events_v5 (event_id, camera_id, camera_name, activity_type, start_timestamp, end_timestamp,
  duration_seconds, confidence, thumbnail_path, recording_path, recording_filename, recording_size, upload_status,
  telegram_msg_id, telegram_notified, created_at, region)
SELECT event_id, camera_id, camera_name, activity_type, start_timestamp, end_timestamp,
  duration_seconds, confidence, thumbnail_path, recording_path, recording_filename, recording_size, upload_status,
  telegram_msg_id, telegram_notified, created_at, region
FROM activity_events;
DROP TABLE activity_events;
ALTER TABLE activity_events_v5 RENAME TO activity_events;
CREATE UNIQUE INDEX activity_events_camera_event ON activity_events (camera_id, event_id);
CREATE INDEX activity_events_event ON activity_events (event_id);
CREATE INDEX activity_events_camera_time ON activity_events (camera_id, start_timestamp);
CREATE INDEX activity_events_time ON activity_events (start_timestamp);
-- Starts a day or more in the future were impossible (1e20 sorted first for ever):
-- keep them as sent, sort by arrival.
UPDATE activity_events SET start_time_raw = CAST(start_timestamp AS TEXT), start_timestamp = created_at,
  duration_seconds = CASE WHEN end_timestamp IS NULL THEN NULL ELSE end_timestamp - created_at END
  WHERE start_timestamp > CAST(strftime('%s', 'now') AS INTEGER) + 86400;
ALTER TABLE status_events ADD COLUMN device_time_raw TEXT;
ALTER TABLE sensor_readings ADD COLUMN device_time_raw TEXT;
ALTER TABLE camera_registry ADD COLUMN connection_alert TEXT;
-- What earlier versions assumed the user knew: the stored connection status.
UPDATE camera_registry SET connection_alert = CASE connection_status
  WHEN 'connected' THEN 'online' WHEN 'disconnected' THEN 'offline' END;
-- A heartbeat from the year 2100 pinned last_seen: it is never in the future.
UPDATE camera_registry SET last_seen = CAST(strftime('%s', 'now') AS INTEGER)
  WHERE last_seen > CAST(strftime('%s', 'now') AS INTEGER);
`,
  },
  {
    version: 6,
    description: 'status events keyed by device, kind, second and status: a replayed heartbeat is stored once',
    // A Pi replays its outbox after an outage and resends what the broker took but
    // whose PUBACK it never saw; a camera's QoS 1 redelivery repeats a packet. The
    // processor's memory of recent packets is lost on restart: the key is not.
    // IFNULL: a heartbeat without a stream state has a NULL status, and NULLs never
    // collide in a unique index. Duplicates already stored go first (the oldest stays).
    sql: `
DELETE FROM status_events WHERE id NOT IN (
  SELECT MIN(id) FROM status_events GROUP BY camera_id, event_type, timestamp, IFNULL(status, '')
);
CREATE UNIQUE INDEX status_events_natural_key ON status_events (camera_id, event_type, timestamp, IFNULL(status, ''));
`,
  },
  {
    version: 7,
    description: 'command queue: every device command, committed before the API accepts it, until the broker took it',
    // `owner` is the command-sender node that queued the row (two senders on one
    // file never publish each other's rows); `seq` keeps each device's order.
    sql: `
CREATE TABLE command_queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  command_id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  device_id TEXT NOT NULL,
  action TEXT NOT NULL,
  topic TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued',
  attempts INTEGER NOT NULL DEFAULT 0,
  reason TEXT,
  sent_ms INTEGER
);
CREATE INDEX command_queue_owner_state ON command_queue (owner, state, seq);
CREATE INDEX command_queue_device ON command_queue (device_id, seq);
CREATE INDEX command_queue_created ON command_queue (created_ms);
`,
  },
  {
    version: 8,
    description: 'uploads that came before their activity start are linked to the event when it is stored',
    // A VBC01 camera often uploads its thumbnail before the MQTT activity/start
    // (vbc01-protocol.md §3.4); the upload's UPDATE found no row then. The
    // start's upsert names only its own columns, so it never wipes these.
    sql: `
CREATE INDEX file_uploads_camera_event ON file_uploads (camera_id, event_id, file_type);
CREATE TRIGGER activity_events_link_uploads AFTER INSERT ON activity_events
WHEN NEW.thumbnail_path IS NULL OR NEW.recording_path IS NULL
BEGIN
  UPDATE activity_events SET
    thumbnail_path = COALESCE(thumbnail_path, (SELECT f.file_path FROM file_uploads f
      WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id AND f.file_type = 'thumbnail' ORDER BY f.id DESC LIMIT 1)),
    recording_path = COALESCE(recording_path, (SELECT CASE f.file_type WHEN 'segment' THEN f.upload_dir ELSE f.file_path END
      FROM file_uploads f WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id
        AND f.file_type IN ('recording', 'segment') ORDER BY f.id LIMIT 1)),
    upload_status = COALESCE(upload_status, (SELECT 'uploaded' FROM file_uploads f
      WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id LIMIT 1))
  WHERE rowid = NEW.rowid;
END;
`,
  },
  {
    version: 9,
    description: 'IP cameras added through the API: the list survives restarts and redeploys',
    // The login is kept for ffmpeg and never returned by the API (publicSpec).
    sql: `
CREATE TABLE ip_cameras (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  main_url TEXT NOT NULL DEFAULT '',
  sub_url TEXT NOT NULL,
  transport TEXT NOT NULL DEFAULT 'tcp',
  username TEXT NOT NULL DEFAULT '',
  password TEXT NOT NULL DEFAULT '',
  mode TEXT NOT NULL DEFAULT 'ARMED',
  motion INTEGER NOT NULL DEFAULT 1,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
`,
  },
  {
    version: 10,
    description: "IP cameras: the camera's ONVIF address and where motion events come from (our analyser, its ONVIF events, both)",
    sql: `
ALTER TABLE ip_cameras ADD COLUMN onvif TEXT NOT NULL DEFAULT '';
ALTER TABLE ip_cameras ADD COLUMN motion_source TEXT NOT NULL DEFAULT 'analyser';
`,
  },
  {
    version: 11,
    description: 'events: an indexed sort key and one index per filter combination (keyset paging); alerts by device; upload totals kept',
    // Issue 18: ORDER BY COALESCE(start, end) could use no index, so every page sorted
    // the whole table. sort_ts is that expression as a virtual generated column (no
    // bytes in the row; the indexes below hold it, and CREATE INDEX backfills them
    // for rows already stored). Each index ends in the page order (sort_ts, camera_id,
    // event_id), so a filter and the order are both answered by one index walk:
    // none, camera, type, camera + type; a time range is a range on sort_ts in each.
    sql: `
ALTER TABLE activity_events ADD COLUMN sort_ts INTEGER GENERATED ALWAYS AS (COALESCE(start_timestamp, end_timestamp, created_at, 0)) VIRTUAL;
CREATE INDEX activity_events_page ON activity_events (sort_ts, camera_id, event_id);
CREATE INDEX activity_events_page_camera ON activity_events (camera_id, sort_ts, event_id);
CREATE INDEX activity_events_page_type ON activity_events (activity_type, sort_ts, camera_id, event_id);
CREATE INDEX activity_events_page_camera_type ON activity_events (camera_id, activity_type, sort_ts, event_id);
-- /api/alerts?camera= walked the whole log; newest first by id within a device.
CREATE INDEX alerts_outbox_device ON alerts_outbox (device_id);
-- /api/gateway/usage and /api/media/usage summed every upload row (1.2 M in a year of a
-- fleet: ~2 s); the totals are kept as rows come and go, the oldest found by index.
CREATE TABLE file_upload_totals (file_type TEXT PRIMARY KEY, files INTEGER NOT NULL, bytes INTEGER NOT NULL);
INSERT INTO file_upload_totals (file_type, files, bytes)
  SELECT file_type, count(*), COALESCE(sum(file_size), 0) FROM file_uploads GROUP BY file_type;
CREATE INDEX file_uploads_type_time ON file_uploads (file_type, uploaded_at);
CREATE TRIGGER file_uploads_totals_insert AFTER INSERT ON file_uploads BEGIN
  INSERT INTO file_upload_totals (file_type, files, bytes) VALUES (NEW.file_type, 1, COALESCE(NEW.file_size, 0))
    ON CONFLICT (file_type) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER file_uploads_totals_delete AFTER DELETE ON file_uploads BEGIN
  UPDATE file_upload_totals SET files = files - 1, bytes = bytes - COALESCE(OLD.file_size, 0) WHERE file_type IS OLD.file_type;
END;
CREATE TRIGGER file_uploads_totals_update AFTER UPDATE OF file_type, file_size ON file_uploads BEGIN
  UPDATE file_upload_totals SET files = files - 1, bytes = bytes - COALESCE(OLD.file_size, 0) WHERE file_type IS OLD.file_type;
  INSERT INTO file_upload_totals (file_type, files, bytes) VALUES (NEW.file_type, 1, COALESCE(NEW.file_size, 0))
    ON CONFLICT (file_type) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
END;
`,
  },
  {
    version: 12,
    description: 'row counts kept by triggers (status and metrics without scanning); index of connected devices',
    // Issue 18: count(*) over 5 million events and 30 million readings took 0.7-1 s per
    // /api/status. Each counted table adds or takes one from its row here, in the same
    // transaction as the row itself (an upsert that updates fires no INSERT trigger, so it is
    // not counted twice). Nothing in the store uses INSERT OR REPLACE, whose implicit delete
    // would skip the DELETE trigger. The first count is taken once, here.
    sql: `
CREATE TABLE table_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
${COUNTED_IN_12.map(countTriggers).join('')}
CREATE INDEX camera_registry_connection ON camera_registry (connection_status);
`,
  },
  {
    version: 13,
    description: 'sensor roll-ups per minute and per hour kept as readings arrive; a time index for status retention',
    // Issue 18: a month of raw 2-second readings was bucketed per request (125 ms for a week
    // of one device). Each reading adds itself to its minute and its hour (min, max, and sum
    // and count for the mean) in the writer's own transaction; a replaced reading (the
    // batch writer's upsert of the same device and time) moves the sums by the difference;
    // its old value may stay in min/max. Retention deletes raw rows without touching them.
    // Existing readings are rolled up here, once. status_events had no index on its time,
    // so every retention run scanned it.
    sql: `
${ROLLUPS.map(([table, ms]) => rollupTable(table) + rollupTriggers(table, ms)).join('')}
INSERT INTO sensor_minute SELECT device_id, CAST(time_ms AS INTEGER) / 60000 * 60000, count(*),
  min(temperature), max(temperature), total(temperature), count(temperature),
  min(humidity), max(humidity), total(humidity), count(humidity),
  min(pressure), max(pressure), total(pressure), count(pressure)
  FROM sensor_readings GROUP BY 1, 2;
INSERT INTO sensor_hour SELECT device_id, bucket_ms / 3600000 * 3600000, sum(samples),
  min(temperature_min), max(temperature_max), sum(temperature_sum), sum(temperature_n),
  min(humidity_min), max(humidity_max), sum(humidity_sum), sum(humidity_n),
  min(pressure_min), max(pressure_max), sum(pressure_sum), sum(pressure_n)
  FROM sensor_minute GROUP BY 1, 2;
CREATE INDEX status_events_time ON status_events (timestamp);
`,
  },
  {
    version: 14,
    description: 'recordings: the segments each camera recorded and the clips cut from them for events',
    // Issue 19. A segment is one short file of a camera's stream (copied, never re-encoded),
    // written by the recorder's ffmpeg or by MediaMTX; `file` is relative to the recordings
    // folder and is checked to stay inside it before anything reads or deletes it. `mode` is
    // the camera's mode when it was recorded: events-mode segments only wait for an event, and
    // retention by age and by free space treats the two apart. A clip is keyed like its event
    // (camera, event id). Each table keeps its bytes per camera in a totals row (the usage API
    // and /metrics read them without summing a year of segments).
    sql: `
CREATE TABLE recording_segments (
  id INTEGER PRIMARY KEY,
  camera_id TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  file TEXT NOT NULL UNIQUE,
  bytes INTEGER NOT NULL,
  mode TEXT NOT NULL
);
CREATE INDEX recording_segments_camera_time ON recording_segments (camera_id, start_ms);
CREATE INDEX recording_segments_mode_time ON recording_segments (mode, start_ms);
CREATE TABLE recording_clips (
  camera_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  state TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  duration_ms INTEGER,
  bytes INTEGER,
  file TEXT,
  reason TEXT,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (camera_id, event_id)
) WITHOUT ROWID;
CREATE INDEX recording_clips_time ON recording_clips (start_ms);
CREATE INDEX recording_clips_camera_time ON recording_clips (camera_id, start_ms);
CREATE TABLE recording_totals (camera_id TEXT PRIMARY KEY, segment_bytes INTEGER NOT NULL DEFAULT 0, clip_bytes INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TRIGGER recording_segments_add AFTER INSERT ON recording_segments BEGIN
  INSERT INTO recording_totals (camera_id, segment_bytes) VALUES (NEW.camera_id, NEW.bytes)
    ON CONFLICT (camera_id) DO UPDATE SET segment_bytes = segment_bytes + excluded.segment_bytes;
END;
CREATE TRIGGER recording_segments_remove AFTER DELETE ON recording_segments BEGIN
  UPDATE recording_totals SET segment_bytes = segment_bytes - OLD.bytes WHERE camera_id = OLD.camera_id;
END;
CREATE TRIGGER recording_clips_add AFTER INSERT ON recording_clips BEGIN
  INSERT INTO recording_totals (camera_id, clip_bytes) VALUES (NEW.camera_id, coalesce(NEW.bytes, 0))
    ON CONFLICT (camera_id) DO UPDATE SET clip_bytes = clip_bytes + excluded.clip_bytes;
END;
CREATE TRIGGER recording_clips_resize AFTER UPDATE OF bytes ON recording_clips BEGIN
  UPDATE recording_totals SET clip_bytes = clip_bytes - coalesce(OLD.bytes, 0) + coalesce(NEW.bytes, 0) WHERE camera_id = NEW.camera_id;
END;
CREATE TRIGGER recording_clips_remove AFTER DELETE ON recording_clips BEGIN
  UPDATE recording_totals SET clip_bytes = clip_bytes - coalesce(OLD.bytes, 0) WHERE camera_id = OLD.camera_id;
END;
`,
  },
  {
    version: 15,
    description: "recordings: a Pi's clips waiting to be sent to the cloud, and what the cloud answered",
    // Issue 19: a Pi records locally and sends the clips the cloud has none of once its uplink is
    // back. upload_state is NULL until the clip is settled: 'sent' (the cloud stored it or already
    // had one) or 'refused' (the cloud said why; never offered again). Attempts and the time of the
    // next one pace the retries of a clip the cloud cannot take yet. Empty on the cloud.
    sql: `
ALTER TABLE recording_clips ADD COLUMN upload_state TEXT;
ALTER TABLE recording_clips ADD COLUMN upload_reason TEXT;
ALTER TABLE recording_clips ADD COLUMN upload_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recording_clips ADD COLUMN upload_next_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX recording_clips_unsent ON recording_clips (upload_next_ms) WHERE upload_state IS NULL AND state = 'ready';
`,
  },
  {
    version: 16,
    description: 'activity_events.zones: the masks-and-zones names an event touched',
    // Issue 20. A JSON array of zone names (["driveway"]), as our cameras send it; [] for motion
    // outside every zone; NULL when the camera sent none (VBC01 cameras, events from before).
    // The events API filters on it with json_each: one look at the page's rows, no index needed.
    sql: `ALTER TABLE activity_events ADD COLUMN zones TEXT;`,
  },
  {
    version: 17,
    description: "activity events: what the camera's object detector saw (label, score, box)",
    // Issue 20. A start whose frames showed a person (or another label the camera
    // counts) carries the detector's best: its COCO label, its score 0..1 and its box
    // as JSON {x, y, w, h} in percent of the frame. NULL for events without one
    // (VBC01 cameras, cameras without the detector). The index serves /api/events?label=
    // in the page order, as migration 11's do (a camera filter walks it and checks the camera).
    sql: `
ALTER TABLE activity_events ADD COLUMN detection_label TEXT;
ALTER TABLE activity_events ADD COLUMN detection_score REAL;
ALTER TABLE activity_events ADD COLUMN detection_box TEXT;
CREATE INDEX activity_events_page_label ON activity_events (detection_label, sort_ts, camera_id, event_id);
`,
  },
  {
    // Web Push (issue 22): the runtime's VAPID key pair, made once at first start and kept with
    // the data (never in a flow or the repository), and each dashboard user's browser subscriptions.
    version: 18,
    description: 'Web Push: VAPID keys and browser subscriptions per user',
    sql: `
      CREATE TABLE webpush_keys (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        public_key TEXT NOT NULL,
        private_key TEXT NOT NULL,
        created_ms INTEGER NOT NULL
      );
      CREATE TABLE webpush_subscriptions (
        endpoint TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        created_ms INTEGER NOT NULL
      );
      CREATE INDEX webpush_subscriptions_user ON webpush_subscriptions (username);
    `,
  },
  {
    // Issue 23: dashboard users and API tokens made on the admin pages (the environment's stay
    // where they are, read at start). Passwords as bcrypt hashes, tokens as their SHA-256 (long
    // random strings: a fast hash is enough); cameras is a JSON array of camera ids, NULL for all.
    // user_sessions lists the sessions a login opened, so an admin can see and end them (the
    // cookie itself stays signed and stateless, dashboard/server/sessions.ts).
    version: 19,
    description: 'users, API tokens and dashboard sessions made through the admin pages',
    sql: `
      CREATE TABLE dashboard_users (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        cameras TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
      );
      CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        cameras TEXT,
        created_by TEXT,
        created_ms INTEGER NOT NULL,
        revoked_ms INTEGER
      );
      CREATE TABLE user_sessions (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        client TEXT NOT NULL,
        issued_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        revoked_ms INTEGER
      );
      CREATE INDEX user_sessions_user ON user_sessions (username, expires_ms);
    `,
  },
  {
    // Issue 23: every change made through the API, newest read first. Never holds a secret:
    // the guard leaves passwords, tokens and keys out of the detail (nodes/lib/access/audit-detail.ts).
    version: 20,
    description: 'audit log: who changed what through the API, and when',
    sql: `
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX audit_log_time ON audit_log (at_ms);
    `,
  },
  {
    // Issue 23: what the admin pages set (alert channels, retention), one JSON object per scope.
    // The environment and node settings stay the defaults; a row names only what it changes.
    version: 24,
    description: 'settings overrides made on the admin pages',
    sql: `
      CREATE TABLE settings_overrides (
        scope TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_ms INTEGER NOT NULL,
        updated_by TEXT NOT NULL
      );
    `,
  },
  {
    // Issue 21: connection state shared by several runtimes. A connection status is stored with
    // the device's own time of it (last writer wins by that time, record-sql.ts), when it was
    // stored (the offline debounce counts from there) and when anything of the device was last
    // stored (missed heartbeats count from there), both by the runtime's clock. The leader's
    // sweeper (connection-sweep.ts) reads them. Rows from before start as last heard at last_seen.
    version: 25,
    description: 'connection state: device time of the status, when stored, when last heard',
    sql: `
      ALTER TABLE camera_registry ADD COLUMN connection_ms INTEGER;
      ALTER TABLE camera_registry ADD COLUMN connection_since_ms INTEGER;
      ALTER TABLE camera_registry ADD COLUMN heard_ms INTEGER;
      UPDATE camera_registry SET heard_ms = last_seen * 1000, connection_since_ms = last_seen * 1000 WHERE last_seen IS NOT NULL;
    `,
  },
  {
    // Issue 21: state that several runtimes sharing one database must agree on. Which side of
    // its limit a device's sensor was last seen (one alert per crossing, whichever runtime
    // saw the reading), and when each alert node last sent an alert that starts a cooldown.
    version: 26,
    description: 'sensor-limit states and alert cooldowns in the store',
    // sensor_limit_states: `side` 'low', 'high' or 'in' (back well inside: the limit alerts
    // again); `time_ms` the device time of the reading that set it, so a reading handled late by
    // another runtime cannot undo a newer one. alert_cooldowns: `owner` the alert node's id (each
    // node has its own cooldown), `what` the alert's kind (and activity type). Both are kept
    // small by retention (retention.ts); schema-postgres.ts has the same tables.
    sql: `
      CREATE TABLE sensor_limit_states (
        device_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('low', 'high', 'in')),
        time_ms INTEGER NOT NULL,
        PRIMARY KEY (device_id, metric)
      );
      CREATE INDEX sensor_limit_states_time ON sensor_limit_states (time_ms);
      CREATE TABLE alert_cooldowns (
        owner TEXT NOT NULL,
        device_id TEXT NOT NULL,
        what TEXT NOT NULL,
        sent_ms INTEGER NOT NULL,
        PRIMARY KEY (owner, device_id, what)
      );
      CREATE INDEX alert_cooldowns_time ON alert_cooldowns (sent_ms);
    `,
  },
  {
    // Issue 21 item 5: what a cluster's runtimes must agree on for logins and enrolment. Failed
    // logins per client (nodes/lib/store/login-failures.ts; logouts use user_sessions.revoked_ms)
    // and the camera gateway's enrolment window (one row).
    version: 27,
    description: "failed logins per client and the enrolment window, shared by a cluster's runtimes",
    sql: `
      CREATE TABLE login_failures (
        scope TEXT NOT NULL,
        client TEXT NOT NULL,
        failures TEXT NOT NULL,
        blocked_until_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (scope, client)
      );
      CREATE INDEX login_failures_updated ON login_failures (updated_ms);
      CREATE TABLE gateway_enrolment (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        closes_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
      );
    `,
  },
  {
    // Issue 21: runtimes sharing one outbox space their sends to a destination from each other
    // (AlertOutbox.spaced): the earliest moment the next send to it may start. One runtime (SQLite)
    // keeps this in its SendLimiter and leaves the table empty.
    version: 28,
    description: 'alert destinations: when the next send to each may start (several runtimes)',
    sql: `
      CREATE TABLE outbox_destinations (
        owner TEXT NOT NULL,
        target TEXT NOT NULL,
        not_before_ms INTEGER NOT NULL,
        PRIMARY KEY (owner, target)
      );
    `,
  },
  {
    // Issue 21: the channel's other windows shared too (AlertOutbox.spaced and claim): `sent_ms`,
    // a JSON array of answer times, oldest first. A group destination's row keeps its last sends
    // (Telegram: 20 a minute in a group); the row of target '*' the owner's sends of the last
    // second over every destination (30 a second per bot). SQLite leaves it '[]' as the table.
    version: 29,
    description: "alert destinations: recent sends, for the channel's per-group and overall windows",
    sql: `
      ALTER TABLE outbox_destinations ADD COLUMN sent_ms TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    // Issue 18: every activity insert kept two indexes that migration 11's paging indexes made
    // redundant: (camera_id, start_timestamp) behind the grid's "last event" and (start_timestamp)
    // behind retention. Both now walk sort_ts (activity_events_page_camera, activity_events_page),
    // the order the events list shows; each insert writes two b-trees fewer.
    version: 30,
    description: 'activity events: drop the two time indexes the sort_ts indexes replace',
    sql: `
      DROP INDEX IF EXISTS activity_events_camera_time;
      DROP INDEX IF EXISTS activity_events_time;
    `,
  },
  {
    version: 31,
    description: "activity events: migration 8's upload link runs only when the camera uploaded something for the event",
    // Every new event ran the trigger's UPDATE (three look-ups and a rewrite of the row it had
    // just written), though nearly every event has no upload yet: a tenth of the writer's time.
    sql: `
DROP TRIGGER activity_events_link_uploads;
CREATE TRIGGER activity_events_link_uploads AFTER INSERT ON activity_events
WHEN (NEW.thumbnail_path IS NULL OR NEW.recording_path IS NULL)
  AND EXISTS (SELECT 1 FROM file_uploads f WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id)
BEGIN
  UPDATE activity_events SET
    thumbnail_path = COALESCE(thumbnail_path, (SELECT f.file_path FROM file_uploads f
      WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id AND f.file_type = 'thumbnail' ORDER BY f.id DESC LIMIT 1)),
    recording_path = COALESCE(recording_path, (SELECT CASE f.file_type WHEN 'segment' THEN f.upload_dir ELSE f.file_path END
      FROM file_uploads f WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id
        AND f.file_type IN ('recording', 'segment') ORDER BY f.id LIMIT 1)),
    upload_status = COALESCE(upload_status, 'uploaded')
  WHERE rowid = NEW.rowid;
END;
`,
  },
  {
    version: 32,
    description: 'uploads: an index on the upload folder, which retention looks up for every folder it removes',
    // Without it each look-up read the whole table: on a year's store (1.25 M upload rows) a
    // retention run queued hundreds of such scans on the read connections, and API reads
    // waited seconds behind them.
    sql: `CREATE INDEX IF NOT EXISTS file_uploads_dir ON file_uploads (upload_dir);`,
  },
];

export async function currentVersion(db: StoreConnection): Promise<number> {
  const row = await db.get<{ user_version: number }>(sqlOf(db).schemaVersion);
  return row?.user_version ?? 0;
}

/** The migrations of the connection's dialect. */
export function migrationsOf(db: StoreConnection): readonly Migration[] {
  return db.dialect === 'postgres' ? PG_MIGRATIONS : MIGRATIONS;
}

/**
 * PostgreSQL: runtimes starting together take turns (a transaction-scoped advisory lock; the
 * number is arbitrary but fixed, "picam" in ASCII) and each reads the version after its turn came.
 */
const MIGRATION_LOCK = 0x706963616d;

/** Applies every migration newer than the database; returns the versions applied. */
export async function migrate(db: StoreConnection, migrations: readonly Migration[] = migrationsOf(db)): Promise<number[]> {
  const sql = sqlOf(db);
  const latest = migrations.at(-1)?.version ?? 0;
  const applied: number[] = [];
  for (;;) {
    await db.exec(sql.beginWrite);
    let m: Migration | undefined;
    try {
      if (db.dialect === 'postgres') await db.get('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
      // After the lock: two runtimes creating it at once would collide in PostgreSQL's catalogue.
      await db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT, applied_ms BIGINT)');
      const from = await currentVersion(db);
      if (from > latest) {
        throw new Error(`database schema version ${from} is newer than this software knows (${latest}); upgrade PiCam Guardian`);
      }
      m = migrations.find((x) => x.version > from);
      if (!m) {
        await db.exec('COMMIT');
        return applied;
      }
      await db.exec(m.sql);
      for (const [version, description] of recorded(db, m)) {
        await db.run('INSERT INTO schema_migrations (version, description, applied_ms) VALUES (?, ?, ?)', [
          version,
          description,
          Date.now(),
        ]);
      }
      // PRAGMA takes no bound parameters; the version is an integer from our own table.
      if (db.dialect === 'sqlite') await db.exec(`PRAGMA user_version = ${Math.trunc(m.version)}`);
      await db.exec('COMMIT');
      applied.push(m.version);
    } catch (err) {
      await db.exec('ROLLBACK');
      if (!m) throw err;
      throw new Error(`migration ${m.version} (${m.description}) failed: ${(err as Error).message}`);
    }
  }
}

/** The rows schema_migrations gets for `m`: PostgreSQL's baseline records every SQLite version it stands for. */
function recorded(db: StoreConnection, m: Migration): Array<[number, string]> {
  if (db.dialect !== 'postgres' || m.version !== PG_BASELINE_VERSION) return [[m.version, m.description]];
  return MIGRATIONS.filter((x) => x.version <= PG_BASELINE_VERSION).map((x) => [x.version, x.description]);
}
