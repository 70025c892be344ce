/**
 * Motion detection over the small grey frames the analysis decoder produces, and
 * the VBC01 activity payloads it becomes (seed 004: `{eventId, activityType:
 * 'MOTION', timestamp, confidence, region}` on `.../activity/start|stop`).
 *
 * Each frame is compared with a background that adapts slowly, not with the frame
 * before it: a slow mover still differs from the background, and noise is averaged
 * out of it. In order:
 * 1. Light compensation: a gain and an offset fitted from background to frame (see
 *    fitLight) are applied first, so a change of the whole picture's light
 *    (auto-exposure, a cloud, a dimmer, lamps) cancels. A moving object covers a
 *    small part of the picture and is left out of the fit as an outlier.
 * 2. A pixel changed when it differs by more than `pixelThreshold` grey levels.
 * 3. A block (about 8×8 pixels) changed when more than `blockFraction` of its pixels
 *    did: a few noisy or flickering pixels never make a block.
 * 4. Lightswitch: when the light changed too much at once to be tracked (lamps
 *    switched on, IR cut-over) or more than 60 % of the blocks changed even so
 *    (the camera moved), it is not counted as motion, and the background is
 *    replaced by the frame. Gradual changes (exposure settling) are tracked by 1.
 * Masks and zones (zone-layout.ts): pixels under a mask never count as changed, and a
 * block's share is of its unmasked pixels; each event names the zones its motion touched.
 * A zone may have its own sensitivity (its pixels' thresholds, see zone-layout.ts) and its
 * own minimum duration: it is named only once motion inside it lasted that long (gaps as in 5),
 * and a zone whose motion lasted its own minimum starts the event even before the camera's.
 * A zone first touched after the start raises a `zones` event: the event's zones so far, so
 * the cloud can alert for it then (an alert that requires that zone).
 * 5. Events: motion lasting minDurationMs (gaps up to half of it, or two frames,
 *    allowed) raises a start; quietMs without motion raises the stop.
 *
 * Besides being re-lit every frame, the background follows unchanged pixels with a
 * 2 s time constant and changed pixels with 10 s, so something that arrives and
 * stays (a parked car, a lamp lighting one corner) becomes background and ends its
 * event within about 15 s + quietMs. The price: where something stood still for a
 * while and then left, its ghost shows as motion for a few seconds more.
 */
import { randomBytes } from 'node:crypto';
import type { ZonePolygon } from '../contract/zones';
import type { ActivityPayload } from '../types';
import type { GreyFrame } from './types';
import { motionThresholds } from './thresholds';
import { ZoneLayout } from './zone-layout';

export interface MotionOptions {
  /** 0–1: higher detects smaller changes (default 0.5) */
  sensitivity: number;
  /** motion must last this long before a start is raised (default 1000 ms) */
  minDurationMs: number;
  /** no motion for this long ends the event (default 3000 ms) */
  quietMs: number;
  /** masks and zones (nodes/lib/contract/zones.ts); none by default */
  zones: readonly ZonePolygon[];
}

/** Region in percent of the frame (0–100): the bounding box of the changed blocks. */
export type MotionRegion = { x: number; y: number; w: number; h: number };

export type MotionEvent =
  | { type: 'start'; atMs: number; confidence: number; region: MotionRegion; zones: string[] }
  /** the event in progress touched another zone: zones is every zone it touched so far */
  | { type: 'zones'; atMs: number; startedMs: number; zones: string[] }
  /** zones: every zone the event's motion touched (absent when the event was cut short) */
  | { type: 'stop'; atMs: number; startedMs: number; durationMs: number; zones?: string[] };

export const DEFAULT_MOTION_OPTIONS: MotionOptions = { sensitivity: 0.5, minDurationMs: 1000, quietMs: 3000, zones: [] };

export { motionThresholds };

const BLOCK = 8;
const MAX_BLOCK_COLUMNS = 16;
const LIGHTSWITCH_FRACTION = 0.6;
const TAU_STILL_MS = 2000;
const TAU_CHANGED_MS = 10_000;
/** a longer gap between frames (a restarted decoder) makes the background stale */
const STALE_MS = 10_000;

type Box = { x0: number; y0: number; x1: number; y1: number };

/** motion seen but not yet for minDurationMs: frames since it began, those with motion, blocks summed over them */
type Onset = { startMs: number; lastMotionMs: number; frames: number; motionFrames: number; blocks: number; box: Box; zones: Set<string> };

function grow(box: Box, x0: number, y0: number, x1: number, y1: number): void {
  [box.x0, box.y0, box.x1, box.y1] = [Math.min(box.x0, x0), Math.min(box.y0, y0), Math.max(box.x1, x1), Math.max(box.y1, y1)];
}

export class MotionDetector {
  private readonly opts: MotionOptions;
  private layout?: ZoneLayout;
  private bg?: Float32Array;
  private width = 0;
  private height = 0;
  private lastFrameMs = 0;
  private frameIntervalMs = 0;
  private onset?: Onset;
  private event?: { startedMs: number; lastMotionMs: number; zones: Set<string> };
  /** per zone with motion now: since when it lasted (gaps allowed as for the onset), for zones' own minimum durations */
  private readonly zoneRuns = new Map<string, { sinceMs: number; lastMs: number }>();

  constructor(opts: Partial<MotionOptions> = {}) {
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<MotionOptions>;
    this.opts = { ...DEFAULT_MOTION_OPTIONS, ...given };
    if (!(this.opts.minDurationMs >= 0 && this.opts.quietMs >= 0)) throw new RangeError('minDurationMs and quietMs must be numbers ≥ 0');
  }

  /** An event is in progress (a start was raised and its stop was not). */
  get active(): boolean {
    return this.event !== undefined;
  }

  /** New masks and zones (checked by readZones), in effect from the next frame. */
  setZones(zones: readonly ZonePolygon[]): void {
    this.opts.zones = zones;
    this.layout = undefined;
    this.zoneRuns.clear();
  }

  /** Motion is being seen now: an onset or an event (the detector analyses only these frames). */
  get moving(): boolean {
    return this.onset !== undefined || this.event !== undefined;
  }

  /** Forgets the background and any event, without raising a stop. */
  reset(): void {
    this.bg = undefined;
    this.onset = undefined;
    this.event = undefined;
    this.zoneRuns.clear();
  }

  push(frame: GreyFrame): MotionEvent | undefined {
    const { width: w, height: h, data, timeMs: t } = frame;
    if (!(w > 0 && h > 0) || data.length < w * h) throw new RangeError(`a ${w}×${h} frame needs ${w * h} bytes, got ${data.length}`);
    const dt = t - this.lastFrameMs;
    if (!this.bg || w !== this.width || h !== this.height || dt < 0 || dt > STALE_MS) {
      // First frame, new size, or a stale background: learn the scene again. A
      // running event ends when its quiet time runs out, below.
      this.seed(frame);
      this.onset = undefined;
      return this.quiet(t);
    }
    this.lastFrameMs = t;
    this.frameIntervalMs = dt;
    const bg = this.bg;
    const n = w * h;

    // 1. the light: the background is re-lit to the frame's, frame ≈ gain × bg + offset
    const light = fitLight(data, bg, n);
    // 2–3. changed pixels per block (about 8×8 pixels, at most 16 columns)
    const bs = Math.max(BLOCK, Math.ceil(w / MAX_BLOCK_COLUMNS));
    const cols = Math.ceil(w / bs);
    const nBlocks = cols * Math.ceil(h / bs);
    const layout = this.layoutFor(w, h, bs);
    const changed = new Uint16Array(nBlocks);
    const changedIn = layout.zones.map(() => new Uint16Array(nBlocks));
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      bg[i] = Math.min(255, Math.max(0, light.gain * bg[i]! + light.offset));
      if (layout.masked[i] || Math.abs(data[i]! - bg[i]!) <= layout.pixelThreshold[i]!) continue;
      mask[i] = 1;
      const b = Math.floor(Math.floor(i / w) / bs) * cols + Math.floor((i % w) / bs);
      changed[b]!++;
      for (let bits = layout.zoneBits[i]!, z = 0; bits; bits >>= 1, z++) if (bits & 1) changedIn[z]![b]!++;
    }
    const changedBlocks: number[] = [];
    const box = { x0: w, y0: h, x1: 0, y1: 0 };
    changed.forEach((count, b) => {
      const [x0, y0] = [(b % cols) * bs, Math.floor(b / cols) * bs];
      const [x1, y1] = [Math.min(w, x0 + bs), Math.min(h, y0 + bs)];
      // a block partly under a mask: its share is of the pixels the mask leaves
      if (count === 0 || count <= layout.blockFraction[b]! * layout.open[b]!) return;
      changedBlocks.push(b);
      grow(box, x0, y0, x1, y1);
    });
    const blocks = changedBlocks.length;
    // 4. lightswitch: not motion; the frame is the new background
    if (!light.ok || blocks > LIGHTSWITCH_FRACTION * layout.openBlocks) {
      this.seed(frame);
      this.onset = undefined;
      return this.quiet(t);
    }
    const aStill = 1 - Math.exp(-dt / TAU_STILL_MS);
    const aChanged = 1 - Math.exp(-dt / TAU_CHANGED_MS);
    for (let i = 0; i < n; i++) bg[i] = bg[i]! + (mask[i] ? aChanged : aStill) * (data[i]! - bg[i]!);
    if (blocks === 0) return this.quiet(t);
    const { zones, startNow } = this.lasting(t, layout, layout.touched(changedIn, changedBlocks));
    return this.motion(t, blocks, box, zones, startNow);
  }

  private layoutFor(w: number, h: number, bs: number): ZoneLayout {
    if (!this.layout?.fits(w, h, bs)) this.layout = new ZoneLayout(w, h, bs, this.opts.zones, this.opts.sensitivity);
    return this.layout;
  }

  /**
   * Of the zones this frame's motion touched, those whose motion has lasted their own minimum
   * duration (a zone without one: at once); startNow when one with its own minimum got there.
   */
  private lasting(t: number, layout: ZoneLayout, touched: readonly string[]): { zones: string[]; startNow: boolean } {
    const zones: string[] = [];
    let startNow = false;
    for (const zone of layout.zones) {
      if (!touched.includes(zone.name)) continue;
      const min = zone.minMotionMs;
      if (min === undefined) {
        zones.push(zone.name);
        continue;
      }
      let run = this.zoneRuns.get(zone.name);
      if (!run || t - run.lastMs > Math.max(min / 2, 2 * this.frameIntervalMs)) {
        run = { sinceMs: t, lastMs: t };
        this.zoneRuns.set(zone.name, run);
      }
      run.lastMs = t;
      if (t - run.sinceMs >= min) {
        zones.push(zone.name);
        startNow = true;
      }
    }
    return { zones, startNow };
  }

  /** A frame with motion in `blocks` blocks inside `box` (pixels), touching `zones`. */
  private motion(t: number, blocks: number, box: Box, zones: readonly string[], startNow: boolean): MotionEvent | undefined {
    const e = this.event;
    if (e) {
      e.lastMotionMs = t;
      const before = e.zones.size;
      for (const z of zones) e.zones.add(z);
      if (e.zones.size === before) return undefined;
      return { type: 'zones', atMs: t, startedMs: e.startedMs, zones: this.inZoneOrder(e.zones) };
    }
    // A gap in the motion up to half the minimum duration (or two frames, at low
    // frame rates) continues the onset; a longer one starts it again.
    const o = this.onset;
    if (!o || t - o.lastMotionMs > Math.max(this.opts.minDurationMs / 2, 2 * this.frameIntervalMs)) {
      this.onset = { startMs: t, lastMotionMs: t, frames: 1, motionFrames: 1, blocks, box: { ...box }, zones: new Set(zones) };
    } else {
      o.lastMotionMs = t;
      o.frames++;
      o.motionFrames++;
      o.blocks += blocks;
      grow(o.box, box.x0, box.y0, box.x1, box.y1);
      for (const z of zones) o.zones.add(z);
    }
    const on = this.onset!;
    if (t - on.startMs < this.opts.minDurationMs && !startNow) return undefined;
    this.onset = undefined;
    this.event = { startedMs: t, lastMotionMs: t, zones: new Set(on.zones) };
    // confidence: half how steadily motion lasted through the onset, half how much of
    // the picture moved (1 block ≈ 0.28, 3 ≈ 0.63, 8 ≈ 0.93), two decimals
    const steadiness = on.motionFrames / on.frames;
    const extent = 1 - Math.exp(-on.blocks / on.motionFrames / 3);
    const confidence = Math.round(100 * (0.5 * steadiness + 0.5 * extent)) / 100;
    const pct = (v: number, of: number): number => Math.round((1000 * v) / of) / 10;
    const { x0, y0, x1, y1 } = on.box;
    const region = { x: pct(x0, this.width), y: pct(y0, this.height), w: pct(x1 - x0, this.width), h: pct(y1 - y0, this.height) };
    return { type: 'start', atMs: t, confidence, region, zones: this.inZoneOrder(on.zones) };
  }

  /** A frame without motion: may end the event, and counts against an onset. */
  private quiet(t: number): MotionEvent | undefined {
    if (this.onset) this.onset.frames++;
    const e = this.event;
    if (!e || t - e.lastMotionMs < this.opts.quietMs) return undefined;
    this.event = undefined;
    return { type: 'stop', atMs: t, startedMs: e.startedMs, durationMs: t - e.startedMs, zones: this.inZoneOrder(e.zones) };
  }

  /** Zone names in the order they were drawn, so the same motion always reads the same. */
  private inZoneOrder(names: ReadonlySet<string>): string[] {
    return (this.layout?.zones ?? []).map((z) => z.name).filter((name) => names.has(name));
  }

  private seed(frame: GreyFrame): void {
    this.width = frame.width;
    this.height = frame.height;
    this.lastFrameMs = frame.timeMs;
    this.bg = Float32Array.from(frame.data.subarray(0, frame.width * frame.height));
  }
}

/**
 * How the light changed from background to frame, as frame ≈ gain × bg + offset.
 * Exposure control and lamps scale brightness rather than add to it, hence a gain.
 * Moving objects are outliers: the fit starts from the median difference (which they
 * barely move), then is refitted by least squares on the pixels it explains within
 * 64, 32 and then 16 grey levels. A scene too flat to tell gain from offset (a grey
 * wall, night) gets an offset only. Not ok: a change too big to track (gain outside
 * 2/3–1.5, or the mean level moved by more than 48), or one most pixels don't fit.
 */
function fitLight(data: Uint8Array, bg: Float32Array, n: number): { gain: number; offset: number; ok: boolean } {
  const hist = new Uint32Array(511);
  let meanBg = 0;
  for (let i = 0; i < n; i++) {
    hist[Math.round(data[i]! - bg[i]!) + 255]!++;
    meanBg += bg[i]! / n;
  }
  let offset = -255;
  for (let seen = 0; offset < 255 && (seen += hist[offset + 255]!) <= n / 2;) offset++;
  let gain = 1;
  for (const gate of [64, 32, 16]) {
    const sum = { k: 0, x: 0, y: 0, xx: 0, xy: 0 };
    for (let i = 0; i < n; i++) {
      const [x, y] = [bg[i]!, data[i]!];
      if (Math.abs(y - gain * x - offset) > gate) continue;
      sum.k++;
      sum.x += x;
      sum.y += y;
      sum.xx += x * x;
      sum.xy += x * y;
    }
    if (sum.k < n / 4) return { gain, offset, ok: false };
    const [mx, my] = [sum.x / sum.k, sum.y / sum.k];
    const varX = sum.xx / sum.k - mx * mx;
    gain = varX >= 25 ? (sum.xy / sum.k - mx * my) / varX : 1;
    offset = my - gain * mx;
  }
  // A sudden big change (clipped highlights make it non-linear) is left to the lightswitch rule.
  const ok = gain >= 2 / 3 && gain <= 1.5 && Math.abs((gain - 1) * meanBg + offset) <= 48;
  return { gain, offset, ok };
}

/** A new VBC01-style event id: `evt_` and 32 hex digits (matches EVENT_ID_PATTERN). */
export function newEventId(): string {
  return `evt_${randomBytes(16).toString('hex')}`;
}

/**
 * The VBC01 payload for a motion event: a start carries confidence and region, a
 * stop only the id, type and time. `timestamp` is Unix seconds, so `atMs` must be
 * Unix milliseconds (stamp frames with Date.now()).
 */
export function activityPayload(eventId: string, e: Exclude<MotionEvent, { type: 'zones' }>): ActivityPayload {
  const timestamp = Math.round(e.atMs / 1000);
  if (e.type === 'stop') return { eventId, activityType: 'MOTION', timestamp, ...(e.zones ? { zones: e.zones } : {}) };
  return { eventId, activityType: 'MOTION', timestamp, confidence: e.confidence, region: e.region, zones: e.zones };
}
