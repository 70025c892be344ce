/**
 * The Sense HAT sits over the CPU, so both of its thermometers read warm. The
 * usual correction (shared/reference/sensehat.md, as Home Assistant does it):
 *   t = mean(t_humidity, t_pressure)
 *   t_corrected = t − (t_cpu − t) / factor
 * then a short moving average, since t_cpu jumps with every burst of load.
 */
import { readFile } from 'node:fs/promises';

export interface CorrectionOptions {
  /** how strongly the CPU heats the board; larger = smaller correction (≈ 1.5 on a Pi 4 with the HAT on top) */
  factor: number;
  /** readings averaged (1 = none) */
  smoothing: number;
  /** where the CPU temperature is read, in milli-°C */
  cpuTempFile?: string;
}

export interface CorrectedTemperature {
  /** °C after correction and smoothing */
  temperature: number;
  /** °C, mean of the two sensors */
  raw: number;
  /** °C */
  cpu: number;
}

export const CPU_TEMP_FILE = '/sys/class/thermal/thermal_zone0/temp';

/** Mean of the two on-board thermometers, skipping one that gave nothing usable. */
export function boardTemperature(fromHumidity: number, fromPressure: number): number {
  const ok = [fromHumidity, fromPressure].filter((v) => Number.isFinite(v));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
}

export class TemperatureCorrection {
  private readonly recent: number[] = [];

  constructor(private readonly opts: CorrectionOptions) {
    if (!(opts.factor > 0)) throw new Error(`temperature correction factor must be above 0 (got ${opts.factor})`);
    if (!Number.isInteger(opts.smoothing) || opts.smoothing < 1) {
      throw new Error(`temperature smoothing must be a whole number of readings, 1 or more (got ${opts.smoothing})`);
    }
  }

  /**
   * `cpu` overrides the thermal zone file (a simulated board brings its own).
   * Rejects with a clear message when the CPU temperature cannot be read (not a Pi, no thermal zone).
   */
  async correct(raw: number, cpu?: number): Promise<CorrectedTemperature> {
    if (cpu !== undefined) return { temperature: this.smooth(correctedTemperature(raw, cpu, this.opts.factor)), raw, cpu };
    const file = this.opts.cpuTempFile ?? CPU_TEMP_FILE;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the CPU temperature from ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const fromFile = Number(text.trim()) / 1000;
    if (!Number.isFinite(fromFile)) throw new Error(`${file} does not hold a temperature: "${text.trim().slice(0, 20)}"`);
    return this.correct(raw, fromFile);
  }

  private smooth(value: number): number {
    this.recent.push(value);
    if (this.recent.length > this.opts.smoothing) this.recent.shift();
    return this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
  }
}

export function correctedTemperature(raw: number, cpu: number, factor: number): number {
  return raw - (cpu - raw) / factor;
}
