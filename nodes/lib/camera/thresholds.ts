/**
 * What a motion sensitivity (0–1) means in grey levels and block shares: one place, used by the
 * motion detector for the camera and by the zone layout for a zone with its own sensitivity.
 */

/**
 * Thresholds for a sensitivity, both falling linearly as it rises:
 * - pixelThreshold: 40 grey levels at 0, 25 at 0.5, 10 at 1;
 * - blockFraction: 40 % of a block's pixels at 0, 22 % at 0.5, 4 % at 1.
 * So at 0.5 a change must cover 15 pixels of an 8×8 block (about 4×4 pixels, 1/16
 * of a 64×48 frame's width) by 10 % of full scale; at 0.9, 5 pixels by 5 %.
 */
export function motionThresholds(sensitivity: number): { pixelThreshold: number; blockFraction: number } {
  const s = Math.min(1, Math.max(0, Number.isFinite(sensitivity) ? sensitivity : 0.5));
  return { pixelThreshold: 10 + 30 * (1 - s), blockFraction: 0.04 + 0.36 * (1 - s) };
}
