/**
 * The camera properties rpicam-rtsp and ipcam share (nodes/lib/camera/settings.ts): motion's
 * sensitivity, minimum duration and quiet time, and the stall time-out, read the same way by both
 * nodes, with the editor's defaults for empty properties and a refusal naming the setting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inRange, MOTION_DEFAULTS, motionSettings, stallTimeoutMs, type MotionDef } from '../../../../nodes/lib/camera/settings';
import { ANALYSIS_EDITOR_DEFAULTS } from '../../../../nodes/lib/editor/camera-analysis';
import { cameraDefaults, type IpcamDef } from '../../../../nodes/ipcam/settings';
import { streamConfig, type RpicamRtspDef } from '../../../../nodes/rpicam-rtsp/settings';

const motion = (p: Partial<MotionDef>): MotionDef => ({ sensitivity: '', minMotionSeconds: '', quietSeconds: '', ...p });
const pi = (p: Partial<RpicamRtspDef>) => ({ id: 'c', type: 'rpicam-rtsp', url: 'rtsp://127.0.0.1:8554/pi', ...p }) as RpicamRtspDef;
const ip = (p: Partial<IpcamDef>) => ({ id: 'i', type: 'ipcam', ...p }) as IpcamDef;

describe('camera motion settings', () => {
  it("reads empty properties as the editor's defaults", () => {
    assert.deepEqual(motionSettings(motion({})), { sensitivity: 0.5, minDurationMs: 1000, quietMs: 3000 });
    for (const [name, value] of Object.entries(MOTION_DEFAULTS)) {
      assert.equal(ANALYSIS_EDITOR_DEFAULTS[name as keyof typeof MOTION_DEFAULTS], value, `the dialog shows ${name} = ${value}`);
    }
  });

  it('reads seconds as the editor stores them (text or numbers) into milliseconds', () => {
    assert.deepEqual(motionSettings(motion({ sensitivity: '0.8', minMotionSeconds: '0.5', quietSeconds: 10 })), {
      sensitivity: 0.8,
      minDurationMs: 500,
      quietMs: 10_000,
    });
  });

  it('refuses a sensitivity outside 0–1, naming it', () => {
    assert.throws(() => motionSettings(motion({ sensitivity: 40 })), /sensitivity must be between 0 and 1 \(got 40\)/);
    assert.throws(() => motionSettings(motion({ sensitivity: -0.1 })), /sensitivity must be between 0 and 1/);
  });

  it('is what both camera nodes run with: the same properties give the same motion settings and the same refusal', () => {
    const props = { sensitivity: '0.7', minMotionSeconds: '2', quietSeconds: '5' };
    const want = { sensitivity: 0.7, minDurationMs: 2000, quietMs: 5000 };
    const piMotion = streamConfig(pi(props), {}).camera.motion;
    assert.deepEqual(
      { sensitivity: piMotion.sensitivity, minDurationMs: piMotion.minDurationMs, quietMs: piMotion.quietMs },
      want,
      'rpicam-rtsp',
    );
    assert.deepEqual(cameraDefaults(ip(props)).motion, want, 'ipcam');
    const refusal = /sensitivity must be between 0 and 1 \(got 2\)/;
    assert.throws(() => streamConfig(pi({ sensitivity: 2 }), {}), refusal);
    assert.throws(() => cameraDefaults(ip({ sensitivity: 2 })), refusal);
  });
});

describe('the stall time-out', () => {
  it('is 10 s when empty, set in seconds, and refused outside 2–600 s by both nodes', () => {
    assert.equal(stallTimeoutMs({ stallSeconds: '' }), 10_000);
    assert.equal(stallTimeoutMs({ stallSeconds: '30' }), 30_000);
    assert.throws(() => stallTimeoutMs({ stallSeconds: 1 }), /stall time-out must be between 2 and 600 \(got 1\)/);
    assert.equal(streamConfig(pi({ stallSeconds: 20 }), {}).camera.stream.stallTimeoutMs, 20_000);
    assert.equal(cameraDefaults(ip({ stallSeconds: 20 })).stallTimeoutMs, 20_000);
    assert.throws(() => cameraDefaults(ip({ stallSeconds: 601 })), /stall time-out must be between 2 and 600/);
  });

  it('checks a range, naming the setting, and refuses what is not a number', () => {
    assert.equal(inRange('width', 640, 64, 4056), 640);
    assert.throws(() => inRange('width', Number.NaN, 64, 4056), /width must be between 64 and 4056 \(got NaN\)/);
  });
});
