/**
 * Online/offline alerts decided from the store, for runtimes that share it (the cluster role,
 * issue 21). No runtime sees all of a device's messages, and a device's Last Will is lost with
 * its broker node, so no runtime's memory can say when a device went; the stored connection
 * state can (camera_registry, migration 25: the status kept by the device's time, when it was
 * stored, when the device was last heard, and what the user was last told).
 *
 * The leader sweeps (nodes/mqtt-processor/connection-sweeper.ts). Each announcement is claimed
 * by a conditional UPDATE that only one transaction can win, so two runtimes sweeping at once
 * (a leadership hand-over) still announce each change once.
 */
import type { StoreConnection } from './connection';
import { sqlOf } from './dialect';

export interface SweepLimits {
  /** the runtime's clock, Unix ms */
  nowMs: number;
  /** a disconnection stored this long ago and still the device's state is announced */
  debounceMs: number;
  /** a connected device heard nothing of for this long is marked offline; 0: never */
  silentMs: number;
}

export interface SweptDevice {
  deviceId: string;
  deviceType: string | null;
  name: string | null;
  /** what the user is told now */
  announce: 'online' | 'offline' | null;
  /**
   * `silent`: marked disconnected by this sweep, nothing heard of it for `silentMs` (its Will
   * may be lost with its broker node); `disconnected`: its own disconnection (or Will) is stored;
   * `connected`: it is connected, and the user was last told otherwise (or nothing).
   */
  reason: 'silent' | 'disconnected' | 'connected';
  /**
   * silent: the device time the disconnection is stored at (just after the last thing heard of
   * it, by the device's clock, so its next message is newer); otherwise the device's time of its
   * stored status. Unix ms.
   */
  atMs: number;
  /** silent: when it was last heard, by the runtime's clock (Unix ms) */
  heardMs?: number;
}

interface Candidate {
  camera_id: string;
  device_type: string | null;
  camera_name: string | null;
  connection_status: string;
  connection_alert: string | null;
  connection_ms: number | null;
  heard_ms: number | null;
  last_seen: number | null;
}

/**
 * Claims and returns what is due now, in one transaction on `db` (the writer's connection,
 * between batches). What is claimed is recorded as told (connection_alert) in that transaction:
 * the caller raises the alerts once it committed.
 */
export async function sweepConnections(db: StoreConnection, limits: SweepLimits): Promise<SweptDevice[]> {
  const sql = sqlOf(db);
  const silentCutoff = limits.silentMs > 0 ? limits.nowMs - limits.silentMs : -1;
  const debounceCutoff = limits.nowMs - limits.debounceMs;
  await db.exec(sql.beginWrite);
  try {
    const candidates = await db.all<Candidate>(
      `SELECT camera_id, device_type, camera_name, connection_status, connection_alert, connection_ms, heard_ms, last_seen
         FROM camera_registry
        WHERE (connection_status = 'connected' AND (COALESCE(connection_alert, '') <> 'online' OR heard_ms <= ?))
           OR (connection_status = 'disconnected' AND COALESCE(connection_alert, '') <> 'offline'
               AND COALESCE(connection_since_ms, 0) <= ?)
        ORDER BY camera_id`,
      [silentCutoff, debounceCutoff],
    );
    const swept: SweptDevice[] = [];
    for (const c of candidates) {
      const s = await claim(db, c, limits, silentCutoff, debounceCutoff);
      if (s) swept.push(s);
    }
    await db.exec('COMMIT');
    return swept;
  } catch (err) {
    await db.exec('ROLLBACK');
    throw err;
  }
}

/** One candidate's claim: the UPDATE repeats the SELECT's condition, so a row another sweep changed meanwhile is left alone. */
async function claim(
  db: StoreConnection,
  c: Candidate,
  limits: SweepLimits,
  silentCutoff: number,
  debounceCutoff: number,
): Promise<SweptDevice | undefined> {
  const device = { deviceId: c.camera_id, deviceType: c.device_type, name: c.camera_name };
  if (c.connection_status === 'connected' && c.heard_ms !== null && c.heard_ms <= silentCutoff) {
    // Stored as of just after the last second heard from it, by its own clock: its next message
    // (a reconnection) is newer and wins, a copy of an older one does not.
    const atMs = Math.max(c.connection_ms ?? 0, (c.last_seen ?? 0) * 1000 + 999);
    const { changes } = await db.run(
      `UPDATE camera_registry SET connection_status = 'disconnected', connection_ms = ?, connection_since_ms = ?,
              connection_alert = 'offline'
        WHERE camera_id = ? AND connection_status = 'connected' AND heard_ms = ?`,
      [atMs, limits.nowMs, c.camera_id, c.heard_ms],
    );
    if (changes === 0) return undefined;
    // Told it was offline already (and not yet that it came back): marked, not announced again.
    return { ...device, announce: c.connection_alert === 'offline' ? null : 'offline', reason: 'silent', atMs, heardMs: c.heard_ms };
  }
  if (c.connection_status === 'connected') {
    const { changes } = await db.run(
      `UPDATE camera_registry SET connection_alert = 'online'
        WHERE camera_id = ? AND connection_status = 'connected' AND COALESCE(connection_alert, '') <> 'online'`,
      [c.camera_id],
    );
    return changes === 0 ? undefined : { ...device, announce: 'online', reason: 'connected', atMs: c.connection_ms ?? limits.nowMs };
  }
  const { changes } = await db.run(
    `UPDATE camera_registry SET connection_alert = 'offline'
      WHERE camera_id = ? AND connection_status = 'disconnected' AND COALESCE(connection_alert, '') <> 'offline'
        AND COALESCE(connection_since_ms, 0) <= ?`,
    [c.camera_id, debounceCutoff],
  );
  return changes === 0 ? undefined : { ...device, announce: 'offline', reason: 'disconnected', atMs: c.connection_ms ?? limits.nowMs };
}
