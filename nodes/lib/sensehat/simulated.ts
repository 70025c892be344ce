/**
 * A Sense HAT that is not there: plausible, slowly changing readings for the
 * demo and for machines without the board. Values drift like a room does
 * (a day's temperature swing, humidity moving against it, weather-scale
 * pressure changes), and the board lies still, level and facing north, with a
 * little sensor noise, so a dashboard shows something alive but believable.
 */
import type { ColourSample, EnvironmentSample, MotionSample, SenseBackend } from './types';

export interface SimulatedOptions {
  now?: () => number;
  /** 0–1 noise source; tests pass a fixed one */
  random?: () => number;
}

const HOUR = 3600_000;

export class SimulatedBackend implements SenseBackend {
  readonly name = 'simulated' as const;
  readonly has = { environment: true, motion: true, colour: true };
  private readonly now: () => number;
  private readonly random: () => number;
  /** a random start so several simulated Pis do not report the same numbers */
  private readonly phase: number;

  constructor(opts: SimulatedOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.phase = this.random() * 24 * HOUR;
  }

  async readEnvironment(): Promise<EnvironmentSample> {
    const t = this.now() + this.phase;
    const weather = Math.sin((2 * Math.PI * t) / (53 * HOUR));
    const room = this.room() + this.noise(0.05);
    const day = Math.sin((2 * Math.PI * t) / (24 * HOUR));
    // The chips sit over the CPU: like the real board they read a few degrees warm.
    return {
      temperatureFromHumidity: round(room + 6 + this.noise(0.1), 2),
      temperatureFromPressure: round(room + 5.5 + this.noise(0.1), 2),
      humidity: round(45 - 8 * day + this.noise(0.3), 2),
      pressure: round(1013 + 9 * weather + this.noise(0.05), 2),
    };
  }

  async readMotion(): Promise<MotionSample> {
    return {
      acceleration: { x: this.noise(0.01), y: this.noise(0.01), z: 1 + this.noise(0.01) },
      gyroscope: { x: this.noise(0.002), y: this.noise(0.002), z: this.noise(0.002) },
      // Earth's field in mid Europe, board flat and facing north: ~0.2 G north, ~0.44 G down.
      magnetometer: { x: 0.2 + this.noise(0.003), y: this.noise(0.003), z: -0.44 + this.noise(0.003) },
    };
  }

  /** A CPU that heats the board as a Pi's does, so the correction brings the reading back to the room's. */
  async readCpuTemperature(): Promise<number> {
    return round(this.room() + 15 + this.noise(0.5), 1);
  }

  async readColour(): Promise<ColourSample> {
    const t = this.now() + this.phase;
    const light = Math.max(0, Math.sin((2 * Math.PI * t) / (24 * HOUR)));
    const clear = Math.round(200 + 3000 * light + this.noise(20));
    return { clear, red: Math.round(clear * 0.35), green: Math.round(clear * 0.4), blue: Math.round(clear * 0.25) };
  }

  async close(): Promise<void> {
    /* nothing held */
  }

  /** the room's temperature: 21 °C, 2.5 °C up and down over the day */
  private room(): number {
    return 21 + 2.5 * Math.sin((2 * Math.PI * (this.now() + this.phase)) / (24 * HOUR));
  }

  private noise(amplitude: number): number {
    return (this.random() * 2 - 1) * amplitude;
  }
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
