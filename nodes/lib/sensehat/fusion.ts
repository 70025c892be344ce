/**
 * Orientation from the IMU: a complementary filter. The gyroscope is smooth
 * but drifts; the accelerometer (roll, pitch) and the tilt-compensated
 * magnetometer (yaw) do not drift but are noisy and disturbed by movement.
 * Each step integrates the gyro and pulls the result a little towards the
 * absolute angles, which is what the Sense HAT's own library (RTIMULib's
 * RTQF) does in spirit, at a fraction of the code.
 *
 * Angles are reported in degrees 0–360, as node-red-node-pi-sense-hat (and
 * the Python sense_hat `get_orientation_degrees`) report them.
 */
import type { MotionSample, MotionPayload } from './types';

export interface FusionOptions {
  /** weight of the integrated gyro per step, 0–1; the rest goes to the absolute angles */
  gyroWeight?: number;
}

const DEG = 180 / Math.PI;

/** Roll and pitch (radians) from gravity alone. */
export function tiltFromGravity(a: MotionSample['acceleration']): { roll: number; pitch: number } {
  return { roll: Math.atan2(a.y, a.z), pitch: Math.atan2(-a.x, Math.hypot(a.y, a.z)) };
}

/** Heading (radians, 0 = magnetic north) of the magnetometer reading, compensated for the board's tilt. */
export function tiltCompensatedHeading(m: MotionSample['magnetometer'], roll: number, pitch: number): number {
  const x = m.x * Math.cos(pitch) + m.z * Math.sin(pitch);
  const y = m.x * Math.sin(roll) * Math.sin(pitch) + m.y * Math.cos(roll) - m.z * Math.sin(roll) * Math.cos(pitch);
  return Math.atan2(-y, x);
}

export class OrientationFilter {
  private angles?: { roll: number; pitch: number; yaw: number };
  private readonly gyroWeight: number;

  constructor(opts: FusionOptions = {}) {
    this.gyroWeight = opts.gyroWeight ?? 0.96;
    if (!(this.gyroWeight >= 0 && this.gyroWeight < 1)) throw new Error(`gyroWeight must be in [0, 1), got ${this.gyroWeight}`);
  }

  /** Feeds one sample taken `dtSeconds` after the previous one; returns the motion message's payload. */
  update(s: MotionSample, dtSeconds: number): MotionPayload {
    const tilt = tiltFromGravity(s.acceleration);
    const heading = tiltCompensatedHeading(s.magnetometer, tilt.roll, tilt.pitch);
    const absolute = { roll: tilt.roll, pitch: tilt.pitch, yaw: heading };
    if (!this.angles || !(dtSeconds > 0) || dtSeconds > 5) {
      // First sample, or a gap too long to integrate across: start from the absolute angles.
      this.angles = absolute;
    } else {
      const w = this.gyroWeight;
      const blend = (prev: number, rate: number, abs: number) => {
        const predicted = prev + rate * dtSeconds;
        return predicted + (1 - w) * shortestTurn(predicted, abs);
      };
      this.angles = {
        roll: blend(this.angles.roll, s.gyroscope.x, absolute.roll),
        pitch: blend(this.angles.pitch, s.gyroscope.y, absolute.pitch),
        yaw: blend(this.angles.yaw, s.gyroscope.z, absolute.yaw),
      };
    }
    return {
      acceleration: s.acceleration,
      gyroscope: s.gyroscope,
      orientation: { roll: degrees360(this.angles.roll), pitch: degrees360(this.angles.pitch), yaw: degrees360(this.angles.yaw) },
      compass: degrees360(heading),
    };
  }
}

/** The signed smallest rotation (radians) from `from` to `to`, so 359° → 1° is +2°, not −358°. */
export function shortestTurn(from: number, to: number): number {
  const d = (to - from) % (2 * Math.PI);
  return d > Math.PI ? d - 2 * Math.PI : d < -Math.PI ? d + 2 * Math.PI : d;
}

function degrees360(rad: number): number {
  const d = (rad * DEG) % 360;
  const v = d < 0 ? d + 360 : d;
  return Math.round(v * 100) / 100 === 360 ? 0 : Math.round(v * 100) / 100;
}
