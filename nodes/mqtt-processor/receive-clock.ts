/**
 * The time a record takes when its device's own cannot be used (none sent, or unusable:
 * device-time.ts): the receive time, kept distinct per device and kind.
 *
 * Such records of one device arriving together would otherwise share a time, and so one row of
 * their table's natural key: readings are keyed by the millisecond, heartbeats, states and
 * connections by the second (record-sql.ts). The second of them, acknowledged, was lost. A burst
 * of them (a Pi without a real-time clock replaying its outbox) is spread one millisecond or one
 * second apart from the receive time on, in the order they came.
 */
import { RecentMap } from '../lib/recent';
import type { StoreRecord } from '../lib/types';

/** How far apart two records' times must be to be two rows of their table. */
const RESOLUTION_MS: Partial<Record<StoreRecord['kind'], number>> = {
  sensor: 1,
  heartbeat: 1000,
  'camera-state': 1000,
  connection: 1000,
};

/** Devices remembered: a device quiet this long takes the receive time as it is again. */
const DEVICES = 20_000;
const REMEMBERED_MS = 10 * 60_000;

export class ReceiveClock {
  private readonly last = new RecentMap<string, number>(DEVICES, REMEMBERED_MS);

  /** The time for a record of `kind` from `deviceId` received at `nowMs`. */
  next(deviceId: string, kind: StoreRecord['kind'], nowMs: number): number {
    const step = RESOLUTION_MS[kind];
    if (step === undefined) return nowMs; // keyed by something else (an event's id)
    const key = `${kind}\u0000${deviceId}`;
    const previous = this.last.get(key, nowMs);
    const timeMs =
      previous === undefined || Math.floor(nowMs / step) > Math.floor(previous / step) ? nowMs : (Math.floor(previous / step) + 1) * step;
    this.last.set(key, timeMs, nowMs);
    return timeMs;
  }
}
