/**
 * The bitrate the bridge tells a camera it may send (REMB), from the loss the
 * bridge itself measures on the camera's RTP, one step per RTCP interval.
 *
 * The rule is GCC's loss-based controller (draft-ietf-rmcat-gcc-02 §6) with
 * the threshold this issue asks for: more than 2 % lost in the interval →
 * As = As × (1 − 0.5 × loss); otherwise → As × 1.05, back up toward the start
 * value. Never below the floor, never above the start. Measured with the
 * prototype: 8 % loss took the REMB from 3 to 0.5 Mbit/s and the camera
 * followed it (2,000 → 525 kbit/s).
 *
 * Viewers' own REMB is deliberately NOT an input: Chromium's estimate only
 * tracks what it receives, so once it dipped it would hold the camera down
 * long after the loss is gone (issue 17's pitfall).
 */
export const LOSS_THRESHOLD = 0.02;
const INCREASE = 1.05;

export interface RembLimits {
  startBps: number;
  floorBps: number;
}

export function checkRembLimits({ startBps, floorBps }: RembLimits): void {
  if (!(floorBps > 0) || !(startBps >= floorBps)) throw new Error(`bad REMB limits: start ${startBps} must be ≥ floor ${floorBps} > 0`);
}

export class RembController {
  private bps: number;

  constructor(private readonly limits: RembLimits) {
    checkRembLimits(limits);
    this.bps = limits.startBps;
  }

  get currentBps(): number {
    return Math.round(this.bps);
  }

  /** One interval's loss fraction (0..1; undefined when nothing was expected) → the REMB to send. */
  update(lossFraction: number | undefined): number {
    if (lossFraction === undefined) return this.currentBps; // no packets: no evidence either way
    const next = lossFraction > LOSS_THRESHOLD ? this.bps * (1 - 0.5 * lossFraction) : this.bps * INCREASE;
    this.bps = Math.min(this.limits.startBps, Math.max(this.limits.floorBps, next));
    return this.currentBps;
  }
}
