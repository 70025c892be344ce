/**
 * The detector's editor properties, shared by rpicam-rtsp and ipcam: checked at
 * deploy, so a typo in a label or a score of 40 (meaning 0.4) is refused with the
 * reason.
 */
import { parseBoolean } from '../settings';
import { parseFilter } from './filter';
import { DEFAULT_FILTER, type DetectionFilter } from './types';

export interface DetectDef {
  detect?: boolean | string;
  detectThreshold?: string | number;
  detectMinBox?: string | number;
  detectLabels?: string;
  detectHoldSeconds?: string | number;
}

export interface DetectSettings {
  on: boolean;
  filter: DetectionFilter;
  holdMs: number;
}

export function detectSettings(def: DetectDef): DetectSettings {
  const filter = parseFilter({ threshold: def.detectThreshold, minBoxPercent: def.detectMinBox, labels: def.detectLabels }, DEFAULT_FILTER);
  const hold = def.detectHoldSeconds === undefined || def.detectHoldSeconds === '' ? 3 : Number(def.detectHoldSeconds);
  if (!Number.isFinite(hold) || hold < 0 || hold > 30)
    throw new Error(`detector hold must be between 0 and 30 s (got ${String(def.detectHoldSeconds)})`);
  return { on: parseBoolean('detect', def.detect, false), filter, holdMs: hold * 1000 };
}
