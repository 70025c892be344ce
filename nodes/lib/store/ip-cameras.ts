/**
 * The IP cameras added through the API or the dashboard (migrations 9 and 10): the
 * list survives restarts and redeploys because it lives here, not in a flow
 * file. The login is stored with the row as the caller gives it: the ipcam node
 * seals it with the credential secret (nodes/ipcam/sealed-storage.ts); the API
 * never returns it.
 */
import type { CameraSpec } from '../contract/ip-cameras';
import type { Exclusive } from './command-queue';
import type { Reader } from './read-pool';

/** A stored camera: the user's description with when it was added and last changed. */
export interface IpCameraRow extends CameraSpec {
  createdMs: number;
  updatedMs: number;
}

const COLUMNS = `id, name, main_url AS "mainUrl", sub_url AS "subUrl", transport, username, password, mode, motion,
  onvif, motion_source AS "motionSource", created_ms AS "createdMs", updated_ms AS "updatedMs"`;

type Raw = Omit<IpCameraRow, 'motion'> & { motion: number };
const row = (r: Raw): IpCameraRow => ({ ...r, motion: r.motion === 1 });

export class IpCameraStore {
  constructor(
    private readonly exclusive: Exclusive,
    private readonly reader: Reader,
  ) {}

  async list(): Promise<IpCameraRow[]> {
    return (await this.reader.all<Raw>(`SELECT ${COLUMNS} FROM ip_cameras ORDER BY id`)).map(row);
  }

  async get(id: string): Promise<IpCameraRow | undefined> {
    const r = await this.reader.get<Raw>(`SELECT ${COLUMNS} FROM ip_cameras WHERE id = ?`, [id]);
    return r ? row(r) : undefined;
  }

  /** Adds the camera or replaces the one with its id; returns whether it was new. */
  async put(c: Omit<IpCameraRow, 'createdMs' | 'updatedMs'>, nowMs = Date.now()): Promise<boolean> {
    return this.exclusive(async (db) => {
      const before = await db.get<{ id: string }>('SELECT id FROM ip_cameras WHERE id = ?', [c.id]);
      await db.run(
        `INSERT INTO ip_cameras (id, name, main_url, sub_url, transport, username, password, mode, motion, onvif, motion_source,
           created_ms, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, main_url = excluded.main_url, sub_url = excluded.sub_url,
           transport = excluded.transport, username = excluded.username, password = excluded.password, mode = excluded.mode,
           motion = excluded.motion, onvif = excluded.onvif, motion_source = excluded.motion_source, updated_ms = excluded.updated_ms`,
        [
          c.id,
          c.name,
          c.mainUrl,
          c.subUrl,
          c.transport,
          c.username,
          c.password,
          c.mode,
          c.motion ? 1 : 0,
          c.onvif,
          c.motionSource,
          nowMs,
          nowMs,
        ],
      );
      return !before;
    });
  }

  async setMode(id: string, mode: IpCameraRow['mode'], nowMs = Date.now()): Promise<boolean> {
    return this.exclusive(async (db) => {
      const { changes } = await db.run('UPDATE ip_cameras SET mode = ?, updated_ms = ? WHERE id = ?', [mode, nowMs, id]);
      return (changes ?? 0) > 0;
    });
  }

  /**
   * Forgets the camera, and the device it was: its registry row and its state (mode, zones) go in
   * the same transaction, so a restart does not list it again (dashboard, MQTT API, Home
   * Assistant discovery all start from the registry). Its events and readings stay until retention.
   */
  async remove(id: string): Promise<boolean> {
    return this.exclusive(async (db) => {
      const { changes } = await db.run('DELETE FROM ip_cameras WHERE id = ?', [id]);
      await db.run('DELETE FROM camera_registry WHERE camera_id = ?', [id]);
      await db.run('DELETE FROM camera_state WHERE camera_id = ?', [id]);
      return (changes ?? 0) > 0;
    });
  }
}
