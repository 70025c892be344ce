/**
 * The properties every camera the analyser watches shares (rpicam-rtsp, ipcam), read once for
 * both: motion's sensitivity, minimum duration and quiet time, and how long a silent stream is
 * waited for. A value that cannot work is refused at deploy with the setting's name and range.
 * The defaults here are also the editor's (nodes/lib/editor/camera-analysis.ts), so a node left
 * empty in the dialog runs with what the dialog showed.
 */
import { numberSetting } from '../node-config';
import type { MotionOptions } from './motion';

/** What an empty motion property means, in the editor's units (seconds). */
export const MOTION_DEFAULTS = { sensitivity: 0.5, minMotionSeconds: 1, quietSeconds: 3 } as const;

export interface MotionDef {
  sensitivity: string | number;
  minMotionSeconds: string | number;
  quietSeconds: string | number;
}

export type MotionSettings = Pick<MotionOptions, 'sensitivity' | 'minDurationMs' | 'quietMs'>;

/** `value` when it is a number within min..max; otherwise an error naming the setting. */
export function inRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be between ${min} and ${max} (got ${value})`);
  return value;
}

export function motionSettings(def: MotionDef): MotionSettings {
  return {
    sensitivity: inRange('sensitivity', numberSetting(def.sensitivity, MOTION_DEFAULTS.sensitivity), 0, 1),
    minDurationMs: numberSetting(def.minMotionSeconds, MOTION_DEFAULTS.minMotionSeconds) * 1000,
    quietMs: numberSetting(def.quietSeconds, MOTION_DEFAULTS.quietSeconds) * 1000,
  };
}

/** A stream silent this long is restarted (`stallSeconds`, 2–600 s, default 10). */
export function stallTimeoutMs(def: { stallSeconds: string | number }): number {
  return inRange('stall time-out', numberSetting(def.stallSeconds, 10), 2, 600) * 1000;
}
