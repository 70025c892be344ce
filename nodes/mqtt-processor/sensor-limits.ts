/**
 * Sensor limits: a Pi's reading outside its range raises one
 * `sensor-out-of-range` alert, and the next only after the reading came back
 * inside by a margin, so a temperature wobbling around its limit does not
 * alert on every sample (every 2 s). Which side each limit is on is kept in the store once it
 * is open (sensor-limit-states.ts), so runtimes sharing a database agree (issue 21).
 */
import type { LimitMemory, LimitSide } from '../lib/store/sensor-limit-states';
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

/** The limits' state in this processor's own memory: until the store is open, or without one. */
export class LocalLimits implements LimitMemory {
  /** device id + metric whose last reading was out of range, and on which side */
  private readonly out = new Map<string, LimitSide>();

  cross(deviceId: string, metric: string, side: LimitSide): boolean {
    const key = `${deviceId}\u0000${metric}`;
    if (this.out.get(key) === side) return false;
    this.out.set(key, side);
    return true;
  }

  rearm(deviceId: string, metric: string): void {
    this.out.delete(`${deviceId}\u0000${metric}`);
  }
}

/** The limits a reading crossed: known at once (`crossings`), or once the store answered (`later`). */
export interface Checked {
  crossings: Crossing[];
  later?: Promise<Crossing[]>;
}

export class SensorWatch {
  private memory: LimitMemory = new LocalLimits();
  private warn: (message: string) => void = () => undefined;

  constructor(private readonly limits: SensorLimits) {}

  get active(): boolean {
    return Object.keys(this.limits).length > 0;
  }

  /**
   * From now on the state is kept in `memory`: the store's (sensor-limit-states.ts), shared by
   * every runtime on its database. What the processor's own memory held is left behind.
   */
  keepIn(memory: LimitMemory, warn: (message: string) => void): void {
    this.memory = memory;
    this.warn = warn;
  }

  /** The limits this reading newly crossed. */
  check(record: SensorRecord): Checked {
    const crossings: Crossing[] = [];
    let later: Array<Promise<Crossing | undefined>> | undefined;
    for (const [metric, range] of Object.entries(this.limits) as Array<[SensorMetric, Range]>) {
      const value = record[metric];
      if (typeof value !== 'number') continue;
      const side = range.min !== undefined && value < range.min ? 'low' : range.max !== undefined && value > range.max ? 'high' : undefined;
      if (side) {
        // Jumping from one side to the other is news too.
        const crossing: Crossing = { metric, value, unit: SENSOR_UNITS[metric], ...range };
        const crossed = this.memory.cross(record.deviceId, metric, side, record.timeMs);
        if (crossed === true) crossings.push(crossing);
        else if (crossed !== false)
          (later ??= []).push(
            crossed.then(
              (won) => (won ? crossing : undefined),
              (err: Error) => this.unsure(record, crossing, err),
            ),
          );
        continue;
      }
      const margin = REARM_MARGIN[metric];
      const wellInside =
        (range.min === undefined || value >= range.min + margin) && (range.max === undefined || value <= range.max - margin);
      if (wellInside) {
        this.memory
          .rearm(record.deviceId, metric, record.timeMs)
          ?.catch((err: Error) => this.warn(`${record.deviceId}: the ${metric} limit's state was not stored: ${err.message}`));
      }
    }
    return { crossings, later: later && Promise.all(later).then((cs) => cs.filter((c) => c !== undefined)) };
  }

  /** The store could not say whether this is the crossing: alert (a repeat is better than silence). */
  private unsure(record: SensorRecord, crossing: Crossing, err: Error): Crossing {
    this.warn(`${record.deviceId}: the ${crossing.metric} limit's state could not be read, alerting: ${err.message}`);
    return crossing;
  }
}
