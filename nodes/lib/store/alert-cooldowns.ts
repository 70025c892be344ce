/**
 * Alert cooldowns of one alert node (migration 26, issue 21): when it last sent an alert of a
 * kind for a device. In the store, not in a runtime's memory, so that a cooldown started by an
 * alert on one runtime holds on every runtime running the same flow (the node's id is the same
 * there), and survives a restart.
 *
 * A claim runs inside the transaction that writes the alert's outbox rows (AlertOutbox.add's
 * gate): the cooldown starts exactly when the rows are committed, and not at all when they
 * cannot be. On PostgreSQL a second runtime claiming the same cooldown meanwhile waits for that
 * transaction and then finds the cooldown running: of two racing alerts, one is sent.
 */
import type { StoreConnection } from './connection';

/** One cooldown of the node: a device and what kind of alert (with the activity type for activities). */
export interface CooldownKey {
  deviceId: string;
  what: string;
}

const CLAIM_SQL = `
  INSERT INTO alert_cooldowns (owner, device_id, what, sent_ms) VALUES (?1, ?2, ?3, ?4)
  ON CONFLICT (owner, device_id, what) DO UPDATE SET sent_ms = excluded.sent_ms
  WHERE alert_cooldowns.sent_ms <= ?5
  RETURNING sent_ms`;

export class AlertCooldowns {
  constructor(
    /** the alert node's id */
    readonly owner: string,
  ) {}

  /**
   * Starts the cooldown at `nowMs` unless one started within `cooldownMs` before: undefined when
   * it started (the alert goes), else when the running one started. `db` is in the transaction
   * that writes the alert.
   */
  async claim(db: StoreConnection, key: CooldownKey, nowMs: number, cooldownMs: number): Promise<number | undefined> {
    const started = await db.get<{ sent_ms: number }>(CLAIM_SQL, [this.owner, key.deviceId, key.what, nowMs, nowMs - cooldownMs]);
    if (started) return undefined;
    const running = await db.get<{ sent_ms: number }>(
      'SELECT sent_ms FROM alert_cooldowns WHERE owner = ? AND device_id = ? AND what = ?',
      [this.owner, key.deviceId, key.what],
    );
    return running?.sent_ms ?? nowMs;
  }
}
