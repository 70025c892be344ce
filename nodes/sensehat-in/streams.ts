/**
 * The three Sense HAT streams on their own clocks: environment every few
 * seconds, motion several times a second, joystick on every key event. A
 * stream that fails reports and tries again at its next tick; the others
 * carry on. Plain code: the node file only wires it to Node-RED.
 */
import { OrientationFilter } from '../lib/sensehat/fusion';
import { boardTemperature, TemperatureCorrection } from '../lib/sensehat/temperature';
import type { EnvironmentPayload, MotionPayload, SenseBackend } from '../lib/sensehat/types';

export type StreamName = 'environment' | 'motion';

export interface StreamSettings {
  environment: { on: boolean; intervalMs: number };
  motion: { on: boolean; intervalMs: number };
  /** add the colour sensor's reading to environment messages when the board has one */
  colour: boolean;
  /** undefined = no correction */
  correction?: TemperatureCorrection;
  /** a CPU temperature file was named: use it even when the backend has its own (the simulation) */
  cpuFromFile?: boolean;
}

export interface StreamEvents {
  environment(payload: EnvironmentPayload): void;
  motion(payload: MotionPayload): void;
  /** a read failed, or works again (error undefined) */
  problem(stream: StreamName, error: Error | undefined): void;
}

/** Readings arrive at most this often, whatever a flow asks: the chips update no faster. */
export const MIN_INTERVAL_MS = { environment: 500, motion: 20 };

export class SenseStreams {
  private readonly timers: Partial<Record<StreamName, NodeJS.Timeout>> = {};
  private readonly busy: Record<StreamName, boolean> = { environment: false, motion: false };
  private readonly failing: Record<StreamName, boolean> = { environment: false, motion: false };
  private readonly filter = new OrientationFilter();
  private lastMotionMs?: number;
  /** what is degraded but not failing: no CPU temperature for the correction, no colour reading */
  private readonly degraded = new Map<'correction' | 'colour', string>();

  constructor(
    private readonly backend: SenseBackend,
    readonly settings: StreamSettings,
    private readonly events: StreamEvents,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    for (const stream of ['environment', 'motion'] as const) this.schedule(stream);
  }

  /** Turns a stream on or off, or changes its interval, at once. */
  set(stream: StreamName, change: { on?: boolean; intervalMs?: number }): void {
    const s = this.settings[stream];
    if (change.on !== undefined) s.on = change.on;
    if (change.intervalMs !== undefined) s.intervalMs = Math.max(MIN_INTERVAL_MS[stream], change.intervalMs);
    this.schedule(stream);
  }

  /** One reading now, outside the schedule (a flow asked). */
  async readNow(stream: StreamName): Promise<void> {
    await this.tick(stream);
  }

  stop(): void {
    for (const t of Object.values(this.timers)) clearInterval(t);
    for (const k of Object.keys(this.timers)) delete this.timers[k as StreamName];
  }

  /** Readings go out, but without something they should have (and why). */
  get issues(): string[] {
    return [...this.degraded.values()];
  }

  private schedule(stream: StreamName): void {
    clearInterval(this.timers[stream]);
    delete this.timers[stream];
    const s = this.settings[stream];
    const available = stream === 'environment' ? this.backend.has.environment : this.backend.has.motion;
    if (!s.on || !available) return;
    this.timers[stream] = setInterval(() => void this.tick(stream), Math.max(MIN_INTERVAL_MS[stream], s.intervalMs));
    void this.tick(stream);
  }

  private async tick(stream: StreamName): Promise<void> {
    // A slow bus must not pile up reads: skip this tick, the next one comes.
    if (this.busy[stream]) return;
    this.busy[stream] = true;
    try {
      if (stream === 'environment') this.events.environment(await this.environment());
      else this.events.motion(await this.motion());
      if (this.failing[stream]) {
        this.failing[stream] = false;
        this.events.problem(stream, undefined);
      }
    } catch (err) {
      this.failing[stream] = true;
      this.events.problem(stream, err as Error);
    } finally {
      this.busy[stream] = false;
    }
  }

  private async environment(): Promise<EnvironmentPayload> {
    const sample = await this.backend.readEnvironment();
    const raw = boardTemperature(sample.temperatureFromHumidity, sample.temperatureFromPressure);
    const payload: EnvironmentPayload = {
      temperature: round(raw),
      humidity: round(sample.humidity),
      pressure: round(sample.pressure),
      temperatureRaw: round(raw),
    };
    if (this.settings.correction) {
      try {
        const cpu = this.settings.cpuFromFile ? undefined : await this.backend.readCpuTemperature?.();
        const c = await this.settings.correction.correct(raw, cpu);
        payload.temperature = round(c.temperature);
        payload.cpuTemperature = round(c.cpu);
        this.degraded.delete('correction');
      } catch (err) {
        // Better an uncorrected reading (no cpuTemperature says so) than none.
        this.degraded.set('correction', `temperature not corrected: ${(err as Error).message}`);
      }
    }
    if (this.settings.colour && this.backend.has.colour) {
      try {
        payload.colour = await this.backend.readColour();
        this.degraded.delete('colour');
      } catch (err) {
        this.degraded.set('colour', `no colour reading: ${(err as Error).message}`);
      }
    }
    return payload;
  }

  private async motion(): Promise<MotionPayload> {
    const sample = await this.backend.readMotion();
    const nowMs = this.now();
    const dt = this.lastMotionMs === undefined ? 0 : (nowMs - this.lastMotionMs) / 1000;
    this.lastMotionMs = nowMs;
    return this.filter.update(sample, dt);
  }
}

const round = (v: number) => Math.round(v * 100) / 100;
