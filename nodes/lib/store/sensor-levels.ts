/**
 * The resolutions the store keeps Sense HAT readings at: the raw readings and migration
 * 13's per-minute and per-hour roll-ups. One list for what reads and prunes them: the
 * history query picks a level by the width of a point (sensor-history.ts), retention
 * prunes each level after its own number of days (retention.ts).
 *
 * Migration 13 (schema.ts, `ROLLUPS`) keeps its own copy of the roll-up names and widths
 * on purpose: a released migration must create the same tables on every store forever,
 * whatever this list becomes (a new level is a new migration, then a line here).
 */
import type { SensorResolution } from '../contract/dashboard-api';

export interface SensorLevel {
  resolution: SensorResolution;
  table: string;
  /** the time column: each reading's time, or each roll-up row's bucket start (Unix ms) */
  time: string;
  /** width of one row; 0 for raw readings */
  ms: number;
  /** the retention setting (RetentionDays) that says how long rows of this level are kept */
  days: 'sensors' | 'sensorMinutes' | 'sensorHours';
}

/** Finest first. */
export const SENSOR_LEVELS: readonly SensorLevel[] = [
  { resolution: 'raw', table: 'sensor_readings', time: 'time_ms', ms: 0, days: 'sensors' },
  { resolution: 'minute', table: 'sensor_minute', time: 'bucket_ms', ms: 60_000, days: 'sensorMinutes' },
  { resolution: 'hour', table: 'sensor_hour', time: 'bucket_ms', ms: 3_600_000, days: 'sensorHours' },
];
