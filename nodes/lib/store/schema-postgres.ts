/**
 * The PostgreSQL schema (the cluster role, issue 21). PostgreSQL starts at SQLite's version 24
 * with one baseline: every table, index and trigger effect that SQLite's migrations 1-24 left,
 * built at once (an empty database has no history to carry). Later migrations are added to both
 * lists with the same version (schema.ts says how).
 *
 * Types chosen so that values read back as SQLite's do in JS: times and sizes BIGINT (pg's int8
 * is read as a number, postgres.ts), SQLite's REAL DOUBLE PRECISION (PostgreSQL's REAL is 4
 * bytes), 0/1 flags INTEGER, blobs BYTEA, JSON kept as TEXT (what the store wrote is read back
 * byte for byte). Numbers a device reports (battery, signal, uptime) are DOUBLE PRECISION: SQLite
 * keeps a fractional value in an INTEGER column, PostgreSQL's INTEGER would refuse it.
 * AUTOINCREMENT ids are identity columns; activity_events, keyed by (camera_id, event_id) in a
 * unique index in SQLite, has that pair as its primary key here (both are always set).
 *
 * The triggers do what SQLite's do, as plpgsql: row counts (migration 12) and the sensor
 * roll-ups (migration 13) per statement, from the statement's transition table, so a batch of
 * 2,000 rows updates each count row and each roll-up row once.
 */
/** The tables migration 12 counts (schema.ts COUNTED_IN_12; the same list, kept apart as released). */
const COUNTED = [
  'camera_registry',
  'activity_events',
  'status_events',
  'sensor_readings',
  'dead_letters',
  'alerts_outbox',
  'stream_health',
  'command_queue',
];
const METRICS = ['temperature', 'humidity', 'pressure'];
const ROLLUPS: ReadonlyArray<[table: string, bucketMs: number]> = [
  ['sensor_minute', 60_000],
  ['sensor_hour', 3_600_000],
];

/**
 * Row counts (SQLite's migration 12) in shards: each server process adds to its own row of a
 * table's count (pg_backend_pid() % COUNT_SHARDS), so two runtimes inserting into one table do
 * not wait for each other's commit on one hot row (measured: one shared row made two writers
 * slower than one). Readers sum a table's shards (queries.ts `status`, ops-figures.ts).
 */
const COUNT_SHARDS = 64;
const countChange = (sign: '+' | '-', rows: string) => `
DECLARE k BIGINT;
BEGIN
  SELECT count(*) INTO k FROM ${rows};
  IF k > 0 THEN
    INSERT INTO table_counts (name, shard, n) VALUES (TG_TABLE_NAME, pg_backend_pid() % ${COUNT_SHARDS}, ${sign}k)
      ON CONFLICT (name, shard) DO UPDATE SET n = table_counts.n + excluded.n;
  END IF;
  RETURN NULL;
END`;
const counts = `
CREATE TABLE table_counts (name TEXT NOT NULL, shard INTEGER NOT NULL DEFAULT 0, n BIGINT NOT NULL, PRIMARY KEY (name, shard));
CREATE FUNCTION picam_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$${countChange('+', 'added')} $$;
CREATE FUNCTION picam_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$${countChange('-', 'removed')} $$;
${COUNTED.map(
  (t) => `INSERT INTO table_counts (name, n) VALUES ('${t}', 0);
CREATE TRIGGER ${t}_count_insert AFTER INSERT ON ${t} REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION picam_count_insert();
CREATE TRIGGER ${t}_count_delete AFTER DELETE ON ${t} REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION picam_count_delete();
`,
).join('')}`;

function rollup(table: string, bucketMs: number): string {
  const columns = METRICS.map(
    (m) => `  ${m}_min DOUBLE PRECISION,\n  ${m}_max DOUBLE PRECISION,\n  ${m}_sum DOUBLE PRECISION NOT NULL,\n  ${m}_n BIGINT NOT NULL,\n`,
  );
  const names = METRICS.flatMap((m) => [`${m}_min`, `${m}_max`, `${m}_sum`, `${m}_n`]).join(', ');
  const grouped = METRICS.map((m) => `min(${m}), max(${m}), coalesce(sum(${m}), 0), count(${m})`).join(', ');
  // LEAST and GREATEST ignore NULLs, as SQLite's min(coalesce(a, b), coalesce(b, a)) does.
  const add = METRICS.map(
    (m) =>
      `    ${m}_min = LEAST(${table}.${m}_min, excluded.${m}_min), ${m}_max = GREATEST(${table}.${m}_max, excluded.${m}_max),\n` +
      `    ${m}_sum = ${table}.${m}_sum + excluded.${m}_sum, ${m}_n = ${table}.${m}_n + excluded.${m}_n`,
  ).join(',\n');
  const replace = METRICS.map(
    (m) =>
      `    ${m}_min = LEAST(${m}_min, NEW.${m}), ${m}_max = GREATEST(${m}_max, NEW.${m}),\n` +
      `    ${m}_sum = ${m}_sum - coalesce(OLD.${m}, 0) + coalesce(NEW.${m}, 0),\n` +
      `    ${m}_n = ${m}_n - (OLD.${m} IS NOT NULL)::int + (NEW.${m} IS NOT NULL)::int`,
  ).join(',\n');
  const bucket = (col: string) => `(${col} / ${bucketMs}) * ${bucketMs}`;
  return `
CREATE TABLE ${table} (
  device_id TEXT NOT NULL,
  bucket_ms BIGINT NOT NULL,
  samples BIGINT NOT NULL,
${columns.join('')}  PRIMARY KEY (device_id, bucket_ms)
);
CREATE FUNCTION ${table}_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Buckets in key order: two runtimes adding to the same buckets lock them in the same order.
  INSERT INTO ${table} (device_id, bucket_ms, samples, ${names})
  SELECT device_id, ${bucket('time_ms')}, count(*), ${grouped}
    FROM added GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (device_id, bucket_ms) DO UPDATE SET samples = ${table}.samples + excluded.samples,
${add};
  RETURN NULL;
END $$;
CREATE TRIGGER ${table}_rollup AFTER INSERT ON sensor_readings REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION ${table}_add();
CREATE FUNCTION ${table}_replace() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ${table} SET
${replace}
  WHERE device_id = NEW.device_id AND bucket_ms = ${bucket('NEW.time_ms')};
  RETURN NULL;
END $$;
CREATE TRIGGER ${table}_rollup_replace AFTER UPDATE OF ${METRICS.join(', ')} ON sensor_readings
  FOR EACH ROW EXECUTE FUNCTION ${table}_replace();
`;
}

const BASELINE = `
CREATE TABLE camera_registry (
  camera_id TEXT PRIMARY KEY,
  camera_name TEXT,
  ip_address TEXT,
  firmware_version TEXT,
  status TEXT,
  connection_status TEXT,
  last_seen BIGINT,
  created_at BIGINT,
  updated_at BIGINT,
  device_type TEXT,
  hardware_version TEXT,
  serial_number TEXT,
  battery_level DOUBLE PRECISION,
  signal_strength DOUBLE PRECISION,
  connection_alert TEXT
);
CREATE INDEX camera_registry_connection ON camera_registry (connection_status);

CREATE TABLE activity_events (
  event_id TEXT NOT NULL,
  camera_id TEXT NOT NULL,
  camera_name TEXT,
  activity_type TEXT,
  start_timestamp BIGINT,
  end_timestamp BIGINT,
  duration_seconds BIGINT,
  confidence DOUBLE PRECISION,
  thumbnail_path TEXT,
  recording_path TEXT,
  recording_filename TEXT,
  recording_size BIGINT,
  upload_status TEXT,
  telegram_msg_id BIGINT,
  telegram_notified INTEGER DEFAULT 0,
  created_at BIGINT,
  region TEXT,
  start_time_raw TEXT,
  end_time_raw TEXT,
  sort_ts BIGINT GENERATED ALWAYS AS (COALESCE(start_timestamp, end_timestamp, created_at, 0)) STORED,
  zones TEXT,
  detection_label TEXT,
  detection_score DOUBLE PRECISION,
  detection_box TEXT,
  PRIMARY KEY (camera_id, event_id)
);
CREATE INDEX activity_events_event ON activity_events (event_id);
-- Descending with NULLs last: a camera's latest event (GET /api/cameras) is this index's first entry.
CREATE INDEX activity_events_camera_time ON activity_events (camera_id, start_timestamp DESC NULLS LAST);
CREATE INDEX activity_events_time ON activity_events (start_timestamp);
CREATE INDEX activity_events_page ON activity_events (sort_ts, camera_id, event_id);
CREATE INDEX activity_events_page_camera ON activity_events (camera_id, sort_ts, event_id);
CREATE INDEX activity_events_page_type ON activity_events (activity_type, sort_ts, camera_id, event_id);
CREATE INDEX activity_events_page_camera_type ON activity_events (camera_id, activity_type, sort_ts, event_id);
CREATE INDEX activity_events_page_label ON activity_events (detection_label, sort_ts, camera_id, event_id);

CREATE TABLE status_events (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  camera_id TEXT,
  event_type TEXT,
  status TEXT,
  timestamp BIGINT,
  camera_name TEXT,
  client_id TEXT,
  ip_address TEXT,
  firmware_version TEXT,
  battery_level DOUBLE PRECISION,
  temperature DOUBLE PRECISION,
  uptime DOUBLE PRECISION,
  raw_payload TEXT,
  created_at BIGINT,
  signal_strength DOUBLE PRECISION,
  stream_state TEXT,
  device_time_raw TEXT
);
CREATE INDEX status_events_camera_time ON status_events (camera_id, timestamp);
CREATE UNIQUE INDEX status_events_natural_key ON status_events (camera_id, event_type, timestamp, COALESCE(status, ''));
CREATE INDEX status_events_time ON status_events (timestamp);

CREATE TABLE file_uploads (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  event_id TEXT,
  camera_id TEXT,
  file_type TEXT,
  file_path TEXT,
  file_size BIGINT,
  uploaded_at BIGINT,
  file_name TEXT,
  upload_dir TEXT,
  hls_playlist TEXT
);
CREATE INDEX file_uploads_event ON file_uploads (event_id);
CREATE INDEX file_uploads_time ON file_uploads (uploaded_at);
CREATE INDEX file_uploads_camera_event ON file_uploads (camera_id, event_id, file_type);
CREATE INDEX file_uploads_type_time ON file_uploads (file_type, uploaded_at);
-- SQLite's TEXT PRIMARY KEY lets one NULL type in; NULLS NOT DISTINCT keeps it one row here too.
CREATE TABLE file_upload_totals (file_type TEXT UNIQUE NULLS NOT DISTINCT, files BIGINT NOT NULL, bytes BIGINT NOT NULL);
CREATE FUNCTION file_uploads_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE file_upload_totals SET files = files - 1, bytes = bytes - COALESCE(OLD.file_size, 0)
      WHERE file_type IS NOT DISTINCT FROM OLD.file_type;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO file_upload_totals (file_type, files, bytes) VALUES (NEW.file_type, 1, COALESCE(NEW.file_size, 0))
      ON CONFLICT (file_type) DO UPDATE SET files = file_upload_totals.files + 1, bytes = file_upload_totals.bytes + excluded.bytes;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER file_uploads_totals_insert AFTER INSERT ON file_uploads FOR EACH ROW EXECUTE FUNCTION file_uploads_totals();
CREATE TRIGGER file_uploads_totals_delete AFTER DELETE ON file_uploads FOR EACH ROW EXECUTE FUNCTION file_uploads_totals();
CREATE TRIGGER file_uploads_totals_update AFTER UPDATE OF file_type, file_size ON file_uploads FOR EACH ROW EXECUTE FUNCTION file_uploads_totals();

-- Migration 8: an upload that came before its activity start is linked when the event is stored.
-- Here before the insert, on the row itself (SQLite updates the row after it).
CREATE FUNCTION activity_events_link_uploads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.thumbnail_path IS NULL OR NEW.recording_path IS NULL THEN
    NEW.thumbnail_path := COALESCE(NEW.thumbnail_path, (SELECT f.file_path FROM file_uploads f
      WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id AND f.file_type = 'thumbnail' ORDER BY f.id DESC LIMIT 1));
    NEW.recording_path := COALESCE(NEW.recording_path, (SELECT CASE f.file_type WHEN 'segment' THEN f.upload_dir ELSE f.file_path END
      FROM file_uploads f WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id
        AND f.file_type IN ('recording', 'segment') ORDER BY f.id LIMIT 1));
    NEW.upload_status := COALESCE(NEW.upload_status, (SELECT 'uploaded' FROM file_uploads f
      WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id LIMIT 1));
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER activity_events_link_uploads BEFORE INSERT ON activity_events FOR EACH ROW EXECUTE FUNCTION activity_events_link_uploads();

CREATE TABLE camera_state (
  camera_id TEXT NOT NULL,
  setting_name TEXT NOT NULL,
  setting_value TEXT,
  last_updated BIGINT,
  PRIMARY KEY (camera_id, setting_name)
);

CREATE TABLE sensor_readings (
  device_id TEXT NOT NULL,
  time_ms BIGINT NOT NULL,
  temperature DOUBLE PRECISION,
  humidity DOUBLE PRECISION,
  pressure DOUBLE PRECISION,
  device_time_raw TEXT,
  PRIMARY KEY (device_id, time_ms)
);

CREATE TABLE commands (
  request_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  action TEXT NOT NULL,
  topic TEXT NOT NULL,
  mode TEXT,
  created_ms BIGINT NOT NULL
);

CREATE TABLE alerts_outbox (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  dedupe_key TEXT UNIQUE,
  channel TEXT NOT NULL,
  alert TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms BIGINT NOT NULL,
  last_error TEXT,
  created_ms BIGINT NOT NULL,
  sent_ms BIGINT,
  owner TEXT NOT NULL DEFAULT '',
  target TEXT NOT NULL DEFAULT '',
  item TEXT NOT NULL DEFAULT 'alert',
  device_id TEXT,
  event_id TEXT,
  image BYTEA,
  silent INTEGER NOT NULL DEFAULT 0,
  message_id BIGINT,
  has_photo INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_outbox_due ON alerts_outbox (state, next_attempt_ms);
CREATE INDEX alerts_outbox_owner_due ON alerts_outbox (owner, state, next_attempt_ms);
CREATE INDEX alerts_outbox_event ON alerts_outbox (owner, event_id, target);
CREATE INDEX alerts_outbox_created ON alerts_outbox (created_ms);
CREATE INDEX alerts_outbox_device ON alerts_outbox (device_id);

CREATE TABLE dead_letters (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  received_ms BIGINT NOT NULL,
  source TEXT NOT NULL,
  reason TEXT NOT NULL,
  device_id TEXT,
  payload TEXT,
  payload_bytes BIGINT
);
CREATE INDEX dead_letters_time ON dead_letters (received_ms);

CREATE TABLE stream_health (
  path TEXT NOT NULL,
  time_ms BIGINT NOT NULL,
  online INTEGER NOT NULL,
  readers INTEGER NOT NULL,
  inbound_kbps DOUBLE PRECISION,
  outbound_kbps DOUBLE PRECISION,
  frames_in_error BIGINT,
  source_type TEXT,
  PRIMARY KEY (path, time_ms)
);
CREATE INDEX stream_health_time ON stream_health (time_ms);

CREATE TABLE gateway_cameras (
  camera_id TEXT PRIMARY KEY,
  registered_ms BIGINT NOT NULL,
  registered_by TEXT NOT NULL,
  cert_issued_ms BIGINT,
  cert_requests INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE command_queue (
  seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  command_id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  device_id TEXT NOT NULL,
  action TEXT NOT NULL,
  topic TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued',
  attempts INTEGER NOT NULL DEFAULT 0,
  reason TEXT,
  sent_ms BIGINT
);
CREATE INDEX command_queue_owner_state ON command_queue (owner, state, seq);
CREATE INDEX command_queue_device ON command_queue (device_id, seq);
CREATE INDEX command_queue_created ON command_queue (created_ms);

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
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  onvif TEXT NOT NULL DEFAULT '',
  motion_source TEXT NOT NULL DEFAULT 'analyser'
);

CREATE TABLE recording_segments (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  camera_id TEXT NOT NULL,
  start_ms BIGINT NOT NULL,
  end_ms BIGINT NOT NULL,
  file TEXT NOT NULL UNIQUE,
  bytes BIGINT NOT NULL,
  mode TEXT NOT NULL
);
CREATE INDEX recording_segments_camera_time ON recording_segments (camera_id, start_ms);
CREATE INDEX recording_segments_mode_time ON recording_segments (mode, start_ms);
CREATE TABLE recording_clips (
  camera_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  state TEXT NOT NULL,
  start_ms BIGINT NOT NULL,
  end_ms BIGINT NOT NULL,
  duration_ms BIGINT,
  bytes BIGINT,
  file TEXT,
  reason TEXT,
  updated_ms BIGINT NOT NULL,
  upload_state TEXT,
  upload_reason TEXT,
  upload_attempts INTEGER NOT NULL DEFAULT 0,
  upload_next_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (camera_id, event_id)
);
CREATE INDEX recording_clips_time ON recording_clips (start_ms);
CREATE INDEX recording_clips_camera_time ON recording_clips (camera_id, start_ms);
CREATE INDEX recording_clips_unsent ON recording_clips (upload_next_ms) WHERE upload_state IS NULL AND state = 'ready';
CREATE TABLE recording_totals (camera_id TEXT PRIMARY KEY, segment_bytes BIGINT NOT NULL DEFAULT 0, clip_bytes BIGINT NOT NULL DEFAULT 0);
CREATE FUNCTION recording_segments_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO recording_totals (camera_id, segment_bytes) VALUES (NEW.camera_id, NEW.bytes)
      ON CONFLICT (camera_id) DO UPDATE SET segment_bytes = recording_totals.segment_bytes + excluded.segment_bytes;
  ELSE
    UPDATE recording_totals SET segment_bytes = segment_bytes - OLD.bytes WHERE camera_id = OLD.camera_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER recording_segments_add AFTER INSERT ON recording_segments FOR EACH ROW EXECUTE FUNCTION recording_segments_totals();
CREATE TRIGGER recording_segments_remove AFTER DELETE ON recording_segments FOR EACH ROW EXECUTE FUNCTION recording_segments_totals();
CREATE FUNCTION recording_clips_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO recording_totals (camera_id, clip_bytes) VALUES (NEW.camera_id, coalesce(NEW.bytes, 0))
      ON CONFLICT (camera_id) DO UPDATE SET clip_bytes = recording_totals.clip_bytes + excluded.clip_bytes;
  ELSIF TG_OP = 'UPDATE' THEN
    UPDATE recording_totals SET clip_bytes = clip_bytes - coalesce(OLD.bytes, 0) + coalesce(NEW.bytes, 0) WHERE camera_id = NEW.camera_id;
  ELSE
    UPDATE recording_totals SET clip_bytes = clip_bytes - coalesce(OLD.bytes, 0) WHERE camera_id = OLD.camera_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER recording_clips_add AFTER INSERT ON recording_clips FOR EACH ROW EXECUTE FUNCTION recording_clips_totals();
CREATE TRIGGER recording_clips_resize AFTER UPDATE OF bytes ON recording_clips FOR EACH ROW EXECUTE FUNCTION recording_clips_totals();
CREATE TRIGGER recording_clips_remove AFTER DELETE ON recording_clips FOR EACH ROW EXECUTE FUNCTION recording_clips_totals();

CREATE TABLE webpush_keys (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  public_key TEXT NOT NULL,
  private_key TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE webpush_subscriptions (
  endpoint TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  p256dh TEXT NOT NULL,
  auth TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE INDEX webpush_subscriptions_user ON webpush_subscriptions (username);

CREATE TABLE dashboard_users (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  cameras TEXT,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE TABLE api_tokens (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  cameras TEXT,
  created_by TEXT,
  created_ms BIGINT NOT NULL,
  revoked_ms BIGINT
);
CREATE TABLE user_sessions (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  client TEXT NOT NULL,
  issued_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  revoked_ms BIGINT
);
CREATE INDEX user_sessions_user ON user_sessions (username, expires_ms);

CREATE TABLE audit_log (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (at_ms);

CREATE TABLE settings_overrides (
  scope TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_ms BIGINT NOT NULL,
  updated_by TEXT NOT NULL
);
${counts}
${ROLLUPS.map(([t, ms]) => rollup(t, ms)).join('')}
`;

/** The SQLite version the baseline stands for: its migrations up to here are recorded as applied. */
export const PG_BASELINE_VERSION = 24;

/** schema.ts's Migration (not imported: schema.ts imports this list). */
export const PG_MIGRATIONS: ReadonlyArray<{ version: number; description: string; sql: string }> = [
  { version: PG_BASELINE_VERSION, description: "PostgreSQL baseline: SQLite's schema at version 24 in one step", sql: BASELINE },
  {
    version: 25,
    description: 'connection state: device time of the status, when stored, when last heard',
    sql: `
      ALTER TABLE camera_registry ADD COLUMN connection_ms BIGINT;
      ALTER TABLE camera_registry ADD COLUMN connection_since_ms BIGINT;
      ALTER TABLE camera_registry ADD COLUMN heard_ms BIGINT;
      UPDATE camera_registry SET heard_ms = last_seen * 1000, connection_since_ms = last_seen * 1000 WHERE last_seen IS NOT NULL;
    `,
  },
  {
    // schema.ts migration 26 (issue 21): what runtimes sharing this database must agree on.
    version: 26,
    description: 'sensor-limit states and alert cooldowns in the store',
    sql: `
      CREATE TABLE sensor_limit_states (
        device_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('low', 'high', 'in')),
        time_ms BIGINT NOT NULL,
        PRIMARY KEY (device_id, metric)
      );
      CREATE INDEX sensor_limit_states_time ON sensor_limit_states (time_ms);
      CREATE TABLE alert_cooldowns (
        owner TEXT NOT NULL,
        device_id TEXT NOT NULL,
        what TEXT NOT NULL,
        sent_ms BIGINT NOT NULL,
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
        blocked_until_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL,
        PRIMARY KEY (scope, client)
      );
      CREATE INDEX login_failures_updated ON login_failures (updated_ms);
      CREATE TABLE gateway_enrolment (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        closes_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL
      );
    `,
  },
  {
    version: 28,
    description: 'alert destinations: when the next send to each may start (several runtimes)',
    sql: `
CREATE TABLE outbox_destinations (
  owner TEXT NOT NULL,
  target TEXT NOT NULL,
  not_before_ms BIGINT NOT NULL,
  PRIMARY KEY (owner, target)
);
`,
  },
  {
    // schema.ts migration 29: recent sends of a group destination and of the owner as a whole.
    version: 29,
    description: "alert destinations: recent sends, for the channel's per-group and overall windows",
    sql: `ALTER TABLE outbox_destinations ADD COLUMN sent_ms TEXT NOT NULL DEFAULT '[]';`,
  },
  {
    // schema.ts migration 30 (issue 18): the sort_ts indexes serve both.
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
    sql: `
CREATE OR REPLACE FUNCTION activity_events_link_uploads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.thumbnail_path IS NULL OR NEW.recording_path IS NULL)
    AND EXISTS (SELECT 1 FROM file_uploads f WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id) THEN
    NEW.thumbnail_path := COALESCE(NEW.thumbnail_path, (SELECT f.file_path FROM file_uploads f
      WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id AND f.file_type = 'thumbnail' ORDER BY f.id DESC LIMIT 1));
    NEW.recording_path := COALESCE(NEW.recording_path, (SELECT CASE f.file_type WHEN 'segment' THEN f.upload_dir ELSE f.file_path END
      FROM file_uploads f WHERE f.camera_id = NEW.camera_id AND f.event_id = NEW.event_id
        AND f.file_type IN ('recording', 'segment') ORDER BY f.id LIMIT 1));
    NEW.upload_status := COALESCE(NEW.upload_status, 'uploaded');
  END IF;
  RETURN NEW;
END $$;
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
