/**
 * The camera gateway's tables: which VBC01 cameras may fetch the client
 * certificate (`gateway_cameras`), and the files their uploads held
 * (`file_uploads`, linked to `activity_events` by camera and event id).
 *
 * Writes go through the store's writer (one transaction each, committed before
 * the promise resolves), so the gateway answers a camera only after its upload
 * is on disk and in the database.
 */
import type { Reader } from './read-pool';
import type { StoreConnection } from './connection';
import { sqlOf } from './dialect';

/** An event id that several cameras used, asked for without naming the camera. */
export class AmbiguousEvent extends Error {
  constructor(
    readonly eventId: string,
    readonly cameraIds: string[],
  ) {
    super(`event ${eventId} exists for cameras ${cameraIds.join(', ')}: name one with ?camera=`);
  }
}

/** `segment`: one decrypted HLS segment of a VBC01 recording (`720p/3.ts`), played through a playlist built per request. */
export type UploadFileType = 'thumbnail' | 'recording' | 'metadata' | 'segment';

/** One accepted file of an upload, as the gateway stored it. */
export interface UploadFileRow {
  eventId: string;
  cameraId: string;
  fileType: UploadFileType;
  /** absolute path of the stored file */
  filePath: string;
  /** the name inside the archive */
  fileName: string;
  fileSize: number;
  /** the folder this upload was extracted into (deleted with it) */
  uploadDir: string;
  uploadedAt: number; // unix seconds, as seed 004's schema
}

/** The event an upload creates when it comes before its start: the upload's activity type, the server's time. */
export interface UploadEventDefaults {
  /** `x-amz-meta-activityType`, else `MOTION` */
  activityType: string;
  /** unix seconds */
  nowS: number;
}

export interface StoredUpload extends UploadFileRow {
  id: number;
  hlsPlaylist: string | null;
}

export interface RegisteredCamera {
  cameraId: string;
  registeredMs: number;
  /** `admin` (registered by hand or in the settings) or `enrolment` (fetched its keys in an open window) */
  registeredBy: 'admin' | 'enrolment';
  certIssuedMs: number | null;
  certRequests: number;
}

export interface UploadUsage {
  files: number;
  bytes: number;
  byType: Record<string, { files: number; bytes: number }>;
  /** unix seconds of the oldest upload still kept, null when there is none */
  oldest: number | null;
}

type Exclusive = <T>(task: (db: StoreConnection) => Promise<T>) => Promise<T>;

async function transaction<T>(db: StoreConnection, task: () => Promise<T>): Promise<T> {
  await db.exec(sqlOf(db).beginWrite);
  try {
    const result = await task();
    await db.exec('COMMIT');
    return result;
  } catch (err) {
    await db.exec('ROLLBACK');
    throw err;
  }
}

const UPLOAD_COLUMNS = `id, event_id AS "eventId", camera_id AS "cameraId", file_type AS "fileType", file_path AS "filePath",
  file_name AS "fileName", file_size AS "fileSize", upload_dir AS "uploadDir", uploaded_at AS "uploadedAt", hls_playlist AS "hlsPlaylist"`;

/** Uploads being forgotten, as the table `gone` of a statement (the rows are its one parameter). */
const GONE_COLUMNS = ['id', 'camera_id', 'event_id', 'file_path', 'upload_dir'] as const;
const gone = (db: StoreConnection) => `WITH gone (${GONE_COLUMNS.join(', ')}) AS (${sqlOf(db).rowsSource('file_uploads', GONE_COLUMNS)})`;

export class UploadStore {
  constructor(
    private readonly exclusive: Exclusive,
    private readonly reader: Reader,
  ) {}

  async registerCamera(cameraId: string, by: RegisteredCamera['registeredBy'], nowMs = Date.now()): Promise<void> {
    await this.exclusive((db) =>
      db.run('INSERT INTO gateway_cameras (camera_id, registered_ms, registered_by) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
        cameraId,
        nowMs,
        by,
      ]),
    );
  }

  async unregisterCamera(cameraId: string): Promise<boolean> {
    const { changes } = await this.exclusive((db) => db.run('DELETE FROM gateway_cameras WHERE camera_id = ?', [cameraId]));
    return changes > 0;
  }

  async camera(cameraId: string): Promise<RegisteredCamera | undefined> {
    return this.reader.get<RegisteredCamera>(
      `SELECT camera_id AS "cameraId", registered_ms AS "registeredMs", registered_by AS "registeredBy",
              cert_issued_ms AS "certIssuedMs", cert_requests AS "certRequests"
       FROM gateway_cameras WHERE camera_id = ?`,
      [cameraId],
    );
  }

  async cameras(): Promise<RegisteredCamera[]> {
    return this.reader.all<RegisteredCamera>(
      `SELECT camera_id AS "cameraId", registered_ms AS "registeredMs", registered_by AS "registeredBy",
              cert_issued_ms AS "certIssuedMs", cert_requests AS "certRequests"
       FROM gateway_cameras ORDER BY camera_id`,
    );
  }

  /**
   * The enrolment window (migration 27): epoch ms it closes at, 0 when closed. In the store,
   * so a window an admin opened through one runtime is open on every runtime of a cluster.
   */
  async enrolmentClosesAt(nowMs = Date.now()): Promise<number> {
    const row = await this.reader.get<{ closes: number }>('SELECT closes_ms AS closes FROM gateway_enrolment WHERE id = 1');
    const closes = Number(row?.closes ?? 0);
    return closes > nowMs ? closes : 0;
  }

  /** Opens the window until `closesMs` (0 closes it). */
  async setEnrolment(closesMs: number, nowMs = Date.now()): Promise<void> {
    await this.exclusive((db) =>
      db.run(
        `INSERT INTO gateway_enrolment (id, closes_ms, updated_ms) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET closes_ms = excluded.closes_ms, updated_ms = excluded.updated_ms`,
        [closesMs, nowMs],
      ),
    );
  }

  async certificateIssued(cameraId: string, nowMs = Date.now()): Promise<void> {
    await this.exclusive((db) =>
      db.run('UPDATE gateway_cameras SET cert_issued_ms = ?, cert_requests = cert_requests + 1 WHERE camera_id = ?', [nowMs, cameraId]),
    );
  }

  /**
   * Stores one upload's files and links them to their activity event (which may
   * arrive over MQTT before or after the upload: the file rows are keyed by event id).
   *
   * `createEvent`: a VBC01 upload that comes before its MQTT start creates the
   * event, as the real platform does (vbc01-protocol.md §3.3), so it is listed
   * with its thumbnail at once, and even if the start never comes. The start's
   * upsert later sets its own columns (time, type, confidence) and never these.
   */
  async recordUpload(files: readonly UploadFileRow[], createEvent?: UploadEventDefaults): Promise<number[]> {
    return this.exclusive((db) =>
      transaction(db, async () => {
        const ids: number[] = [];
        const first = files[0];
        if (createEvent && first) {
          // An existing event (the start came first, or an earlier part) is left as it is.
          await db.run(
            `INSERT INTO activity_events (event_id, camera_id, activity_type, start_timestamp, created_at)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (camera_id, event_id) DO NOTHING`,
            [first.eventId, first.cameraId, createEvent.activityType, createEvent.nowS, createEvent.nowS],
          );
        }
        for (const f of files) {
          // A part sent again (the camera never saw our answer) replaces its files: one row per file.
          await db.run('DELETE FROM file_uploads WHERE file_path = ?', [f.filePath]);
          // RETURNING through get: PostgreSQL has no last rowid, and SQLite's run miscounts a RETURNING statement.
          const row = await db.get<{ id: number }>(
            `INSERT INTO file_uploads (event_id, camera_id, file_type, file_path, file_name, file_size, upload_dir, uploaded_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
            [f.eventId, f.cameraId, f.fileType, f.filePath, f.fileName, f.fileSize, f.uploadDir, f.uploadedAt],
          );
          ids.push(row!.id);
          if (f.fileType === 'thumbnail') {
            // The camera's event: two cameras may use the same event id.
            await db.run('UPDATE activity_events SET thumbnail_path = ?, upload_status = ? WHERE camera_id = ? AND event_id = ?', [
              f.filePath,
              'uploaded',
              f.cameraId,
              f.eventId,
            ]);
          } else if (f.fileType === 'recording') {
            await db.run(
              `UPDATE activity_events SET recording_path = ?, recording_filename = ?, recording_size = ?, upload_status = ?
               WHERE camera_id = ? AND event_id = ?`,
              [f.filePath, f.fileName, f.fileSize, 'uploaded', f.cameraId, f.eventId],
            );
          } else if (f.fileType === 'segment') {
            // As the real platform: the event's folder is its recording, set by the first part.
            await db.run(
              `UPDATE activity_events SET recording_path = ?, recording_filename = ?, upload_status = ?
               WHERE camera_id = ? AND event_id = ? AND recording_path IS NULL`,
              [f.uploadDir, f.fileName, 'uploaded', f.cameraId, f.eventId],
            );
          }
        }
        return ids;
      }),
    );
  }

  async setPlaylist(uploadId: number, playlistPath: string): Promise<void> {
    await this.exclusive((db) => db.run('UPDATE file_uploads SET hls_playlist = ? WHERE id = ?', [playlistPath, uploadId]));
  }

  /**
   * The newest file of a type for a camera's event. Without `cameraId` the
   * event id alone must name one camera's event, else AmbiguousEvent: two
   * cameras may use the same event id, and one must never see the other's file.
   */
  async latest(eventId: string, fileType: UploadFileType, cameraId?: string): Promise<StoredUpload | undefined> {
    if (cameraId === undefined) {
      const cameras = await this.reader.all<{ cameraId: string }>(
        'SELECT DISTINCT camera_id AS "cameraId" FROM file_uploads WHERE event_id = ? AND file_type = ? LIMIT 10',
        [eventId, fileType],
      );
      if (cameras.length > 1)
        throw new AmbiguousEvent(
          eventId,
          cameras.map((c) => c.cameraId),
        );
    }
    return this.reader.get<StoredUpload>(
      // The CAST: PostgreSQL types a parameter from its use, and `? IS NULL` gives it none.
      `SELECT ${UPLOAD_COLUMNS} FROM file_uploads WHERE event_id = ? AND file_type = ? AND (CAST(?3 AS TEXT) IS NULL OR camera_id = ?3)
        ORDER BY uploaded_at DESC, id DESC LIMIT 1`,
      [eventId, fileType, cameraId ?? null],
    );
  }

  /** The decrypted segments of a camera's event (which may have come in several parts). */
  async segments(eventId: string, cameraId: string): Promise<StoredUpload[]> {
    return this.reader.all<StoredUpload>(
      `SELECT ${UPLOAD_COLUMNS} FROM file_uploads WHERE event_id = ? AND camera_id = ? AND file_type = 'segment' ORDER BY id`,
      [eventId, cameraId],
    );
  }

  /** The cameras that uploaded files for an event id (two may use the same id). */
  async camerasOf(eventId: string): Promise<string[]> {
    const rows = await this.reader.all<{ cameraId: string }>(
      'SELECT DISTINCT camera_id AS "cameraId" FROM file_uploads WHERE event_id = ? LIMIT 10',
      [eventId],
    );
    return rows.map((r) => r.cameraId);
  }

  /**
   * Every row whose files live in one of `dirs` (an event folder holds several uploads): one
   * query through migration 32's index, however many folders. Retention asked once per folder,
   * side by side, and hundreds of queries waiting on the read connections held up the API.
   */
  async inFolders(dirs: readonly string[]): Promise<StoredUpload[]> {
    if (dirs.length === 0) return [];
    return this.reader.all<StoredUpload>(
      `SELECT ${UPLOAD_COLUMNS} FROM file_uploads WHERE upload_dir IN (${dirs.map(() => '?').join(', ')})`,
      dirs,
    );
  }

  async forEvent(eventId: string): Promise<StoredUpload[]> {
    return this.reader.all<StoredUpload>(`SELECT ${UPLOAD_COLUMNS} FROM file_uploads WHERE event_id = ? ORDER BY id`, [eventId]);
  }

  /** Uploads older than `cutoff` (unix seconds), whole upload folders at a time. */
  async olderThan(cutoff: number, limit = 500): Promise<StoredUpload[]> {
    return this.reader.all<StoredUpload>(`SELECT ${UPLOAD_COLUMNS} FROM file_uploads WHERE uploaded_at < ? ORDER BY uploaded_at LIMIT ?`, [
      cutoff,
      limit,
    ]);
  }

  /**
   * Deletes the rows and clears the event columns that pointed at their files: three
   * statements whatever the number of rows (bound as one parameter, `gone` below). Three per
   * row held the writer, and ingest behind it, for a round trip each.
   */
  async forget(uploads: readonly StoredUpload[]): Promise<number> {
    if (uploads.length === 0) return 0;
    return this.exclusive((db) =>
      transaction(db, async () => {
        const rows = [
          sqlOf(db).rowsParam(
            GONE_COLUMNS,
            uploads.map((u) => [u.id, u.cameraId, u.eventId, u.filePath, u.uploadDir ?? null]),
          ),
        ];
        const { changes } = await db.run(`${gone(db)} DELETE FROM file_uploads WHERE id IN (SELECT id FROM gone)`, rows);
        const ofEvent = 'activity_events.camera_id = gone.camera_id AND activity_events.event_id = gone.event_id';
        await db.run(
          `${gone(db)} UPDATE activity_events SET thumbnail_path = NULL FROM gone
          WHERE ${ofEvent} AND activity_events.thumbnail_path = gone.file_path`,
          rows,
        );
        await db.run(
          `${gone(db)} UPDATE activity_events SET recording_path = NULL, upload_status = 'expired' FROM gone
          WHERE ${ofEvent} AND activity_events.recording_path IN (gone.file_path, gone.upload_dir)`,
          rows,
        );
        return changes;
      }),
    );
  }

  async usage(): Promise<UploadUsage> {
    // Totals kept by migration 11's triggers (summing every row took seconds at a year of a
    // fleet); each type's oldest upload is the first entry of its index.
    const rows = await this.reader.all<{ fileType: string; files: number; bytes: number; oldest: number | null }>(
      `SELECT t.file_type AS "fileType", t.files, t.bytes,
              (SELECT min(f.uploaded_at) FROM file_uploads f WHERE f.file_type = t.file_type) AS oldest
         FROM file_upload_totals t WHERE t.files > 0`,
    );
    const usage: UploadUsage = { files: 0, bytes: 0, byType: {}, oldest: null };
    for (const r of rows) {
      usage.files += r.files;
      usage.bytes += r.bytes;
      usage.byType[r.fileType] = { files: r.files, bytes: r.bytes };
      if (r.oldest !== null && (usage.oldest === null || r.oldest < usage.oldest)) usage.oldest = r.oldest;
    }
    return usage;
  }
}
