/**
 * Masks and zones rasterised onto the motion detector's small frame and its blocks, once per
 * polygon change or frame size, so that each frame costs one array look-up per changed pixel.
 *
 * A pixel belongs to a polygon when its centre lies inside it (even-odd, as insidePolygon in
 * nodes/lib/contract/zones.ts), found a pixel row at a time from where the edges cross the row:
 * 16 polygons of 32 corners take 1–2 ms on a 64×48 frame (warm), where testing each pixel against
 * each polygon took over 100 ms (measured on the 2-core test machine). A changed block counts for
 * a zone when the part of it inside the zone changed as a whole block must (see touched): a
 * zone's corner that only grazes a block does not claim the motion of the rest of the block.
 *
 * A zone's own sensitivity (ZonePolygon.sensitivity) applies to the pixels inside it (where zones
 * overlap, the most sensitive), to the blocks in proportion to how many of their pixels it covers,
 * and to the zone's own "touched" test; the camera's applies everywhere else.
 */
import type { ZonePoint, ZonePolygon } from '../contract/zones';
import { motionThresholds } from './thresholds';

/** A zone as the motion detector uses it. */
export interface LaidOutZone {
  name: string;
  minArea: number;
  /** share of a block's part inside the zone that must change for the block to count for it */
  blockFraction: number;
  /** motion inside must last this long before the zone is named (undefined: any motion) */
  minMotionMs?: number;
}

export class ZoneLayout {
  /** 1 where a mask hides the pixel */
  readonly masked: Uint8Array;
  /** per block: its pixels outside every mask */
  readonly open: Uint16Array;
  /** blocks with at least one pixel outside the masks */
  readonly openBlocks: number;
  /** per pixel: bit z set when the pixel lies in zone z (at most 16 zones) */
  readonly zoneBits: Uint16Array;
  /** per zone, per block: its unmasked pixels inside the zone */
  readonly inside: Uint16Array[];
  readonly zones: readonly LaidOutZone[];
  /** per pixel: the grey-level difference above which it changed (the camera's or its zone's) */
  readonly pixelThreshold: Float32Array;
  /** per block: the share of its open pixels that must change for it to count */
  readonly blockFraction: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly blockSize: number,
    polygons: readonly ZonePolygon[],
    /** the camera's sensitivity (0–1) */
    sensitivity = 0.5,
  ) {
    const n = width * height;
    const cols = Math.ceil(width / blockSize);
    const blocks = cols * Math.ceil(height / blockSize);
    const masks = polygons.filter((p) => p.kind === 'mask');
    const zones = polygons.filter((p) => p.kind === 'zone');
    this.zones = zones.map((z) => ({
      name: z.name!,
      minArea: z.minArea ?? 0,
      blockFraction: motionThresholds(z.sensitivity ?? sensitivity).blockFraction,
      ...(z.minMotionSeconds !== undefined ? { minMotionMs: z.minMotionSeconds * 1000 } : {}),
    }));
    this.masked = new Uint8Array(n);
    this.open = new Uint16Array(blocks);
    this.zoneBits = new Uint16Array(n);
    this.inside = zones.map(() => new Uint16Array(blocks));
    const block = (i: number) => Math.floor(Math.floor(i / width) / blockSize) * cols + Math.floor((i % width) / blockSize);
    for (const m of masks) forEachInside(m.points, width, height, (i) => (this.masked[i] = 1));
    for (let i = 0; i < n; i++) if (!this.masked[i]) this.open[block(i)]!++;
    zones.forEach((z, k) => {
      forEachInside(z.points, width, height, (i) => {
        if (this.masked[i]) return;
        this.zoneBits[i]! |= 1 << k;
        this.inside[k]![block(i)]!++;
      });
    });
    this.openBlocks = this.open.reduce((sum, count) => sum + (count > 0 ? 1 : 0), 0);
    // NaN: no zone of its own sensitivity covers the pixel, the camera's applies
    const pixelSensitivity = new Float32Array(n).fill(Number.NaN);
    zones.forEach((z) => {
      const own = z.sensitivity;
      if (own === undefined) return;
      forEachInside(
        z.points,
        width,
        height,
        (i) => (pixelSensitivity[i] = Number.isNaN(pixelSensitivity[i]!) ? own : Math.max(pixelSensitivity[i]!, own)),
      );
    });
    for (let i = 0; i < n; i++) if (Number.isNaN(pixelSensitivity[i]!)) pixelSensitivity[i] = sensitivity;
    this.pixelThreshold = pixelSensitivity.map((s) => motionThresholds(s).pixelThreshold);
    // a block's share follows the mean sensitivity of its open pixels
    const sum = new Float32Array(blocks);
    for (let i = 0; i < n; i++) if (!this.masked[i]) sum[block(i)]! += pixelSensitivity[i]!;
    this.blockFraction = sum.map((s, b) => motionThresholds(this.open[b]! ? s / this.open[b]! : sensitivity).blockFraction);
  }

  fits(width: number, height: number, blockSize: number): boolean {
    return width === this.width && height === this.height && blockSize === this.blockSize;
  }

  /**
   * The zones a frame's motion touched: `changedIn[z][b]` changed pixels of zone z in block b,
   * counted for the blocks that changed. A block counts for a zone when more than the zone's
   * `blockFraction` of its part inside the zone changed, that part taken as at least a quarter
   * of a block. A zone is touched when the changed pixels of its counted blocks cover at least
   * its minArea (percent of the picture).
   */
  touched(changedIn: readonly Uint16Array[], changedBlocks: readonly number[]): string[] {
    const quarter = (this.blockSize * this.blockSize) / 4;
    const n = this.width * this.height;
    const names: string[] = [];
    this.zones.forEach((zone, z) => {
      let pixels = 0;
      for (const b of changedBlocks) {
        const c = changedIn[z]![b]!;
        if (c > 0 && c > zone.blockFraction * Math.max(this.inside[z]![b]!, quarter)) pixels += c;
      }
      if (pixels > 0 && (100 * pixels) / n >= zone.minArea) names.push(zone.name);
    });
    return names;
  }
}

/** Visits each pixel (row-major index) whose centre lies inside the polygon (points in percent). */
function forEachInside(points: readonly ZonePoint[], width: number, height: number, visit: (i: number) => void): void {
  for (let y = 0; y < height; y++) {
    const py = (100 * (y + 0.5)) / height;
    const xs: number[] = [];
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i]!;
      const [xj, yj] = points[j]!;
      if (yi > py !== yj > py) xs.push(((xj - xi) * (py - yi)) / (yj - yi) + xi);
    }
    xs.sort((a, b) => a - b);
    // Inside between crossings 2k and 2k+1: a pixel centre px = 100 (x + 0.5) / width with xs[2k] ≤ px < xs[2k+1].
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(0, Math.ceil((xs[k]! * width) / 100 - 0.5));
      const to = Math.min(width - 1, Math.ceil((xs[k + 1]! * width) / 100 - 0.5) - 1);
      for (let x = from; x <= to; x++) visit(y * width + x);
    }
  }
}
