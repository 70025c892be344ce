import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OrientationFilter, shortestTurn, tiltCompensatedHeading, tiltFromGravity } from '../../../../nodes/lib/sensehat/fusion';
import { boardTemperature, correctedTemperature, TemperatureCorrection } from '../../../../nodes/lib/sensehat/temperature';
import type { MotionSample } from '../../../../nodes/lib/sensehat/types';
import { tempDir } from '../../../support/tmp';

const DEG = Math.PI / 180;
const close = (a: number, b: number, tol = 0.5) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);
/** The board flat, rotated `yawDeg` from north, in a field of 0.2 G horizontal and 0.44 G down. */
const flatFacing = (yawDeg: number, gyroZ = 0): MotionSample => ({
  acceleration: { x: 0, y: 0, z: 1 },
  gyroscope: { x: 0, y: 0, z: gyroZ },
  magnetometer: { x: 0.2 * Math.cos(yawDeg * DEG), y: -0.2 * Math.sin(yawDeg * DEG), z: -0.44 },
});

describe('orientation from the IMU', () => {
  it('takes roll and pitch from gravity', () => {
    const rolled = tiltFromGravity({ x: 0, y: Math.sin(30 * DEG), z: Math.cos(30 * DEG) });
    close(rolled.roll / DEG, 30, 1e-9);
    const pitched = tiltFromGravity({ x: -Math.sin(20 * DEG), y: 0, z: Math.cos(20 * DEG) });
    close(pitched.pitch / DEG, 20, 1e-9);
  });

  it('gives the compass heading, also when the board is tilted', () => {
    close(tiltCompensatedHeading(flatFacing(90).magnetometer, 0, 0) / DEG, 90, 1e-9);
    // Tilt the same field by 25° of pitch: the raw x/y angle moves, the compensated heading does not.
    const p = 25 * DEG;
    const m = { x: 0.2 * Math.cos(p) - -0.44 * Math.sin(p), y: 0, z: 0.2 * Math.sin(p) + -0.44 * Math.cos(p) };
    close(tiltCompensatedHeading(m, 0, p) / DEG, 0, 1e-6);
  });

  it('integrates the gyro between samples and is pulled back by the absolute angles', () => {
    const f = new OrientationFilter({ gyroWeight: 0.9 });
    close(f.update(flatFacing(0), 0).orientation.yaw, 0);
    // Turning at 90°/s for 0.1 s with the magnetometer agreeing: about 9°.
    close(f.update(flatFacing(9, 90 * DEG), 0.1).orientation.yaw, 9);
    // A gyro that drifts (says 0) while the board really turned to 30°: the compass pulls yaw there.
    let yaw = 0;
    for (let i = 0; i < 100; i++) yaw = f.update(flatFacing(30), 0.1).orientation.yaw;
    close(yaw, 30);
  });

  it('reports angles 0–360 and turns the short way across north', () => {
    const f = new OrientationFilter();
    const west = f.update(flatFacing(-10), 0);
    close(west.orientation.yaw, 350);
    close(west.compass, 350);
    close(shortestTurn(359 * DEG, 1 * DEG) / DEG, 2, 1e-9);
    close(shortestTurn(1 * DEG, 359 * DEG) / DEG, -2, 1e-9);
    // From 350° to 10°: through north (350 → 0 → 10), never back round through 180°.
    const path: number[] = [];
    for (let i = 0; i < 150; i++) path.push(f.update(flatFacing(10), 0.1).orientation.yaw);
    assert.ok(
      path.every((y) => y > 340 || y < 11),
      'the short way',
    );
    close(path.at(-1)!, 10, 0.2);
  });
});

describe('temperature correction', () => {
  it('uses the mean of the two thermometers, skipping one that read nothing', () => {
    assert.equal(boardTemperature(30, 32), 31);
    assert.equal(boardTemperature(NaN, 32), 32);
  });

  it('subtracts the CPU heat by the factor, averaged over the last readings', async () => {
    assert.equal(correctedTemperature(30, 60, 1.5), 10);
    const file = join(tempDir(), 'cpu');
    writeFileSync(file, '60000\n');
    const c = new TemperatureCorrection({ factor: 1.5, smoothing: 2, cpuTempFile: file });
    assert.deepEqual(await c.correct(30), { temperature: 10, raw: 30, cpu: 60 });
    writeFileSync(file, '45000\n');
    assert.equal((await c.correct(30)).temperature, (10 + 20) / 2, 'a CPU spike is smoothed');
  });

  it('refuses settings that make no sense, and says why it cannot read the CPU', async () => {
    assert.throws(() => new TemperatureCorrection({ factor: 0, smoothing: 1 }), /factor must be above 0/);
    assert.throws(() => new TemperatureCorrection({ factor: 1.5, smoothing: 0 }), /smoothing must be a whole number/);
    const c = new TemperatureCorrection({ factor: 1.5, smoothing: 1, cpuTempFile: '/nonexistent/temp' });
    await assert.rejects(c.correct(30), /cannot read the CPU temperature from \/nonexistent\/temp: ENOENT/);
  });
});
