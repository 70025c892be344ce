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
    const day = Math.sin((2 * Math.PI * t) / (24 * HOUR));
    const weather = Math.sin((2 * Math.PI * t) / (53 * HOUR));
    // The chips sit over the CPU: like the real board they read a few degrees warm.
    const room = 21 + 2.5 * day + this.noise(0.05);
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

  async readColour(): Promise<ColourSample> {
    const t = this.now() + this.phase;
    const light = Math.max(0, Math.sin((2 * Math.PI * t) / (24 * HOUR)));
    const clear = Math.round(200 + 3000 * light + this.noise(20));
    return { clear, red: Math.round(clear * 0.35), green: Math.round(clear * 0.4), blue: Math.round(clear * 0.25) };
  }

  async close(): Promise<void> {
    /* nothing held */
  }

  private noise(amplitude: number): number {
    return (this.random() * 2 - 1) * amplitude;
  }
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
