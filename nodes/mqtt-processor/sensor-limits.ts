/**
 * Sensor limits: a Pi's reading outside its range raises one
 * `sensor-out-of-range` alert, and the next only after the reading came back
 * inside by a margin, so a temperature wobbling around its limit does not
 * alert on every sample (every 2 s).
 */
import type { SensorMetric, SensorRecord } from '../lib/types';

export interface Range {
  min?: number;
  max?: number;
}
export type SensorLimits = Partial<Record<SensorMetric, Range>>;

export const SENSOR_UNITS: Record<SensorMetric, string> = { temperature: '°C', humidity: '%RH', pressure: 'hPa' };
/** How far back inside the range a reading must come before the limit alerts again. */
const REARM_MARGIN: Record<SensorMetric, number> = { temperature: 0.5, humidity: 2, pressure: 1 };

export interface Crossing {
  metric: SensorMetric;
  value: number;
  unit: string;
  min?: number;
  max?: number;
}

/** "temperature 5..35, humidity ..80, pressure 950..1050" (either end may be left out); '' = none. */
export function parseSensorLimits(text: string): SensorLimits {
  const limits: SensorLimits = {};
  for (const part of text
    .split(/[,;]/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(temperature|humidity|pressure)\s*[: ]\s*(-?\d+(?:\.\d+)?)?\s*\.\.\s*(-?\d+(?:\.\d+)?)?$/i.exec(part);
    if (!m || (m[2] === undefined && m[3] === undefined)) {
      throw new Error(`sensor limit "${part}" is not "<temperature|humidity|pressure> <min>..<max>" (e.g. "temperature 5..35")`);
    }
    const range: Range = { min: m[2] === undefined ? undefined : Number(m[2]), max: m[3] === undefined ? undefined : Number(m[3]) };
    if (range.min !== undefined && range.max !== undefined && range.min >= range.max) {
      throw new Error(`sensor limit "${part}": the minimum must be below the maximum`);
    }
    limits[m[1]!.toLowerCase() as SensorMetric] = range;
  }
  return limits;
}

export class SensorWatch {
  /** device id + metric whose last reading was out of range, and on which side */
  private readonly out = new Map<string, 'low' | 'high'>();

  constructor(private readonly limits: SensorLimits) {}

  get active(): boolean {
    return Object.keys(this.limits).length > 0;
  }

  /** The limits this reading newly crossed. */
  check(record: SensorRecord): Crossing[] {
    const crossings: Crossing[] = [];
    for (const [metric, range] of Object.entries(this.limits) as Array<[SensorMetric, Range]>) {
      const value = record[metric];
      if (typeof value !== 'number') continue;
      const key = `${record.deviceId}\u0000${metric}`;
      const side = range.min !== undefined && value < range.min ? 'low' : range.max !== undefined && value > range.max ? 'high' : undefined;
      if (side) {
        // Jumping from one side to the other is news too.
        if (this.out.get(key) !== side) {
          this.out.set(key, side);
          crossings.push({ metric, value, unit: SENSOR_UNITS[metric], ...range });
        }
        continue;
      }
      const margin = REARM_MARGIN[metric];
      const wellInside =
        (range.min === undefined || value >= range.min + margin) && (range.max === undefined || value <= range.max - margin);
      if (wellInside) this.out.delete(key);
    }
    return crossings;
  }
}
