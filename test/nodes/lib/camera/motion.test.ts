import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { EVENT_ID_PATTERN } from '../../../../nodes/lib/types';
import { activityPayload, MotionDetector, motionThresholds, newEventId, type MotionEvent } from '../../../../nodes/lib/camera/motion';
import type { GreyFrame } from '../../../../nodes/lib/camera/types';
import type { ZonePolygon } from '../../../../nodes/lib/contract/zones';
import { skipWithoutFfmpeg } from '../../../support/ffmpeg';

const W = 64;
const H = 48;
const FPS = 10;
const T0 = 1_760_000_000_000; // Unix ms, as the node stamps frames

const skipFfmpeg = skipWithoutFfmpeg;

/** Deterministic noise: mulberry32, summed to a rough Gaussian of about ±3 grey levels. */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => (uniform() + uniform() + uniform() + uniform() - 2) * 5;
}

interface Square {
  x: number;
  y: number;
  size: number;
  value: number;
}

/** A textured scene (40–160), with noise, squares drawn on it, then `light` applied. */
function scene(i: number, rand: () => number, squares: Square[] = [], light = (v: number) => v): GreyFrame {
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 40 + x + y + (((x >> 3) + (y >> 3)) % 2) * 30;
      for (const s of squares) if (x >= s.x && x < s.x + s.size && y >= s.y && y < s.y + s.size) v = s.value;
      data[y * W + x] = Math.max(0, Math.min(255, Math.round(light(v) + rand())));
    }
  }
  return { width: W, height: H, data, timeMs: T0 + (i * 1000) / FPS };
}

function run(detector: MotionDetector, frames: Iterable<GreyFrame>): MotionEvent[] {
  const events: MotionEvent[] = [];
  for (const f of frames) {
    const e = detector.push(f);
    if (e) events.push(e);
  }
  return events;
}

function* sequence(count: number, make: (i: number) => GreyFrame): Generator<GreyFrame> {
  for (let i = 0; i < count; i++) yield make(i);
}

const at = (i: number): number => T0 + (i * 1000) / FPS;

describe('MotionDetector', () => {
  it('raises nothing for a static, noisy scene', () => {
    const rand = noise(1);
    const d = new MotionDetector({ sensitivity: 1 });
    assert.deepEqual(
      run(
        d,
        sequence(300, (i) => scene(i, rand)),
      ),
      [],
    );
    assert.equal(d.active, false);
  });

  it('raises a start after minDurationMs around a moving square, and a stop after quietMs', () => {
    const rand = noise(2);
    const d = new MotionDetector({});
    // still for 2 s, a 10×10 square crosses from x=0 at 2 px a frame for 2.5 s, then still again
    const square = (i: number): Square[] => (i >= 20 && i < 45 ? [{ x: (i - 20) * 2, y: 18, size: 10, value: 230 }] : []);
    const events = run(
      d,
      sequence(120, (i) => scene(i, rand, square(i))),
    );
    assert.equal(events.length, 2, JSON.stringify(events));
    const [start, stop] = events;
    assert.ok(start?.type === 'start' && stop?.type === 'stop');
    assert.equal(start.atMs, at(30), 'one second after the square appeared');
    // during the onset the square covered x 0–30, y 18–28: blocks x 0–32, y 16–32 (percent below)
    assert.deepEqual(start.region, { x: 0, y: 33.3, w: 50, h: 33.3 });
    assert.ok(start.confidence > 0.5 && start.confidence <= 1, `confidence ${start.confidence}`);
    assert.equal(stop.atMs, at(44 + 30), "three seconds after the square's last frame");
    assert.equal(stop.startedMs, start.atMs);
    assert.equal(stop.durationMs, stop.atMs - start.atMs);
    assert.equal(d.active, false);
  });

  it('ignores a flicker shorter than minDurationMs', () => {
    const rand = noise(3);
    const d = new MotionDetector({ sensitivity: 0.8 });
    // a bright patch for 0.6 s at 2 s, and again at 5 s
    const patch = (i: number): Square[] => ((i >= 20 && i < 26) || (i >= 50 && i < 56) ? [{ x: 30, y: 10, size: 12, value: 250 }] : []);
    assert.deepEqual(
      run(
        d,
        sequence(100, (i) => scene(i, rand, patch(i))),
      ),
      [],
    );
  });

  it('does not alert for global light changes: steps, lamps switched on, exposure settling', () => {
    const lights: Array<[string, (i: number) => ((v: number) => number) | undefined]> = [
      ['+60', (i) => (i >= 30 ? (v) => v + 60 : undefined)],
      ['×1.3', (i) => (i >= 30 ? (v) => v * 1.3 : undefined)],
      ['×1.6 + 10, clipped', (i) => (i >= 30 ? (v) => v * 1.6 + 10 : undefined)],
      ['×0.4', (i) => (i >= 30 ? (v) => v * 0.4 : undefined)],
      ['dark room, lamps on', (i) => (i >= 30 ? (v) => v * 2.5 : (v) => v * 0.2)],
      ['exposure ramp ×1.8 over 1 s', (i) => (v) => v * (1 + 0.8 * Math.min(1, Math.max(0, (i - 30) / 10)))],
    ];
    for (const [name, light] of lights) {
      for (const sensitivity of [0.5, 0.9]) {
        const rand = noise(4);
        const d = new MotionDetector({ sensitivity, minDurationMs: 500 });
        assert.deepEqual(
          run(
            d,
            sequence(200, (i) => scene(i, rand, [], light(i))),
          ),
          [],
          `${name} at ${sensitivity}`,
        );
      }
    }
  });

  it('sees a small square at high sensitivity that low sensitivity ignores', () => {
    // a 3×3 square, 60 levels brighter than its surroundings, moving 1 px a frame
    const frames = (seed: number): GreyFrame[] => {
      const rand = noise(seed);
      return [...sequence(80, (i) => scene(i, rand, i >= 10 && i < 60 ? [{ x: 5 + i - 10, y: 28, size: 3, value: 180 }] : []))];
    };
    assert.deepEqual(run(new MotionDetector({ sensitivity: 0.2 }), frames(5)), []);
    assert.deepEqual(run(new MotionDetector({ sensitivity: 0.5 }), frames(5)), []);
    const events = run(new MotionDetector({ sensitivity: 0.9 }), frames(5));
    assert.equal(events[0]?.type, 'start', JSON.stringify(events));
  });

  it('maps sensitivity to thresholds that fall as it rises, clamped to 0–1', () => {
    let prev = motionThresholds(-1);
    assert.deepEqual(prev, motionThresholds(0));
    for (let s = 0.1; s <= 1.001; s += 0.1) {
      const t = motionThresholds(s);
      assert.ok(t.pixelThreshold < prev.pixelThreshold && t.blockFraction < prev.blockFraction, `at ${s}`);
      prev = t;
    }
    assert.deepEqual(motionThresholds(2), motionThresholds(1));
    assert.deepEqual(motionThresholds(0.5), { pixelThreshold: 25, blockFraction: 0.22 });
  });

  it('relearns the background after a gap or a size change, and reset() forgets an event', () => {
    const rand = noise(6);
    const d = new MotionDetector({ minDurationMs: 0, quietMs: 1000 });
    d.push(scene(0, rand));
    assert.equal(d.push(scene(1, rand, [{ x: 20, y: 20, size: 16, value: 250 }]))?.type, 'start');
    assert.equal(d.active, true);
    // a minute later (a restarted decoder): the stale background is replaced, and the event ends
    assert.equal(d.push(scene(600, rand))?.type, 'stop');
    assert.equal(d.push(scene(601, rand)), undefined);
    d.push(scene(602, rand, [{ x: 20, y: 20, size: 16, value: 250 }]));
    assert.equal(d.active, true);
    d.reset();
    assert.equal(d.active, false);
    assert.equal(d.push(scene(603, rand)), undefined, 'the first frame after reset() is the background');
  });
});

describe('activity payloads', () => {
  it('builds the VBC01 start and stop payloads with a fresh event id', () => {
    const id = newEventId();
    assert.match(id, /^evt_[0-9a-f]{32}$/);
    assert.match(id, EVENT_ID_PATTERN);
    assert.notEqual(newEventId(), id);
    const region = { x: 10, y: 20, w: 30.5, h: 40 };
    assert.deepEqual(activityPayload(id, { type: 'start', atMs: 1_705_329_045_400, confidence: 0.85, region, zones: ['drive'] }), {
      eventId: id,
      activityType: 'MOTION',
      timestamp: 1_705_329_045,
      confidence: 0.85,
      region,
      zones: ['drive'],
    });
    assert.deepEqual(activityPayload(id, { type: 'stop', atMs: 1_705_329_050_600, startedMs: 1_705_329_045_400, durationMs: 5200 }), {
      eventId: id,
      activityType: 'MOTION',
      timestamp: 1_705_329_051,
    });
  });
});

/** Grey 64×48 frames at 10 fps for 3 s from an ffmpeg lavfi source (`testsrc2`, `color=c=gray`), stamped 100 ms apart. */
function ffmpegGrey(source: string): GreyFrame[] {
  const input = `${source}${source.includes('=') ? ':' : '='}size=${W}x${H}:rate=${FPS}`;
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', input, '-t', '3'];
  const out = spawnSync('ffmpeg', [...args, '-vf', 'format=gray', '-f', 'rawvideo', '-'], { maxBuffer: 1 << 24 });
  assert.equal(out.status, 0, out.stderr?.toString());
  const size = W * H;
  assert.equal(out.stdout.length, 30 * size);
  return [...sequence(30, (i) => ({ width: W, height: H, data: out.stdout.subarray(i * size, (i + 1) * size), timeMs: at(i) }))];
}

describe('MotionDetector on ffmpeg output', { skip: skipFfmpeg }, () => {
  it('raises a start for testsrc2 (moving)', () => {
    const events = run(new MotionDetector({}), ffmpegGrey('testsrc2'));
    assert.equal(events[0]?.type, 'start', JSON.stringify(events));
  });

  it('raises nothing for smptebars and a grey field (static)', () => {
    for (const source of ['smptebars', 'color=c=gray']) {
      assert.deepEqual(run(new MotionDetector({ sensitivity: 1, minDurationMs: 0 }), ffmpegGrey(source)), [], source);
    }
  });
});

describe('MotionDetector with masks and zones', () => {
  // a 10×10 square walking 1 px a frame for 3 s in the left half (x 4–34, y 18–28), or the right (x 40–60)
  const left = (i: number): Square[] => (i >= 20 && i < 50 ? [{ x: 4 + (i - 20), y: 18, size: 10, value: 230 }] : []);
  const right = (i: number): Square[] => (i >= 20 && i < 50 ? [{ x: 44 + ((i - 20) % 10), y: 18, size: 10, value: 230 }] : []);
  const leftHalf: ZonePolygon['points'] = [
    [0, 0],
    [55, 0],
    [55, 100],
    [0, 100],
  ];
  const rightHalf: ZonePolygon['points'] = [
    [62, 0],
    [100, 0],
    [100, 100],
    [62, 100],
  ];

  it('raises nothing for motion under a mask', () => {
    const rand = noise(11);
    const d = new MotionDetector({ zones: [{ kind: 'mask', name: 'tree', points: leftHalf }] });
    assert.deepEqual(
      run(
        d,
        sequence(100, (i) => scene(i, rand, left(i))),
      ),
      [],
    );
  });

  it('names the zone the motion was in, and [] for motion outside every zone', () => {
    const zones: ZonePolygon[] = [
      { kind: 'zone', name: 'driveway', points: leftHalf },
      { kind: 'zone', name: 'garden', points: rightHalf, minArea: 50 },
    ];
    const inLeft = run(
      new MotionDetector({ zones }),
      sequence(100, (i) => scene(i, noise(12), left(i))),
    );
    assert.deepEqual(
      inLeft.map((e) => [e.type, e.zones]),
      [
        ['start', ['driveway']],
        ['stop', ['driveway']],
      ],
    );
    // the garden wants half the picture moving: a 10×10 square is not enough there
    const inRight = run(
      new MotionDetector({ zones }),
      sequence(100, (i) => scene(i, noise(13), right(i))),
    );
    assert.deepEqual(
      inRight.map((e) => [e.type, e.zones]),
      [
        ['start', []],
        ['stop', []],
      ],
    );
  });

  it('takes new zones from the next frame', () => {
    const d = new MotionDetector({});
    const rand = noise(14);
    d.push(scene(0, rand));
    d.setZones([{ kind: 'zone', name: 'driveway', points: leftHalf }]);
    const events = run(
      d,
      sequence(100, (i) => scene(i + 1, rand, left(i))),
    );
    assert.deepEqual(events[0]?.type === 'start' && events[0].zones, ['driveway']);
    d.setZones([{ kind: 'mask', points: leftHalf }]);
    assert.deepEqual(
      run(
        d,
        sequence(100, (i) => scene(i + 200, rand, left(i))),
      ).filter((e) => e.type === 'start'),
      [],
      'masked now',
    );
  });
});

describe('MotionDetector: a zone with its own sensitivity and minimum duration (issue 20)', () => {
  const leftHalf: ZonePolygon['points'] = [
    [0, 0],
    [55, 0],
    [55, 100],
    [0, 100],
  ];
  /** the scene with a 10×10 patch walking the left half, `delta` grey levels brighter than what it covers, from frame 20 to `until` */
  const faint = (i: number, rand: () => number, delta: number, until: number): GreyFrame => {
    const f = scene(i, rand);
    if (i < 20 || i >= until) return f;
    const x0 = 4 + Math.floor((i - 20) / 2);
    for (let y = 18; y < 28; y++) for (let x = x0; x < x0 + 10; x++) f.data[y * W + x] = Math.min(255, f.data[y * W + x]! + delta);
    return f;
  };
  const summary = (events: MotionEvent[]) => events.map((e) => [e.type, e.zones]);

  it('a sensitive zone sees a faint change the camera does not, and an insensitive one ignores what the camera would see', () => {
    const faintRun = (zones: ZonePolygon[], sensitivity: number) =>
      summary(
        run(
          new MotionDetector({ sensitivity, zones }),
          sequence(100, (i) => faint(i, noise(21), 20, 50)),
        ),
      );
    assert.deepEqual(faintRun([{ kind: 'zone', name: 'driveway', points: leftHalf }], 0.2), [], 'the camera alone at 0.2 misses it');
    assert.deepEqual(faintRun([{ kind: 'zone', name: 'driveway', points: leftHalf, sensitivity: 0.9 }], 0.2), [
      ['start', ['driveway']],
      ['stop', ['driveway']],
    ]);
    assert.deepEqual(faintRun([{ kind: 'zone', name: 'hedge', points: leftHalf }], 0.9).length, 2, 'the camera alone at 0.9 sees it');
    assert.deepEqual(faintRun([{ kind: 'zone', name: 'hedge', points: leftHalf, sensitivity: 0.1 }], 0.9), []);
  });

  it('a zone is named only once motion inside it lasted its minimum, and later than the start it comes as a zones event', () => {
    const zones: ZonePolygon[] = [{ kind: 'zone', name: 'driveway', points: leftHalf, minMotionSeconds: 3 }];
    const short = run(
      new MotionDetector({ zones }),
      sequence(100, (i) => faint(i, noise(22), 120, 35)),
    );
    assert.deepEqual(summary(short), [
      ['start', []],
      ['stop', []],
    ]);
    const long = run(
      new MotionDetector({ zones }),
      sequence(140, (i) => faint(i, noise(23), 120, 65)),
    );
    assert.deepEqual(summary(long), [
      ['start', []],
      ['zones', ['driveway']],
      ['stop', ['driveway']],
    ]);
    const [start, grew] = long;
    assert.ok(start?.type === 'start' && grew?.type === 'zones');
    assert.equal(grew.startedMs, start.atMs);
    assert.ok(grew.atMs >= at(20) + 3000, 'after three seconds of motion in the zone');
  });

  it('a zone with a shorter minimum than the camera starts the event sooner', () => {
    const zones: ZonePolygon[] = [{ kind: 'zone', name: 'door', points: leftHalf, minMotionSeconds: 0.3 }];
    const events = run(
      new MotionDetector({ minDurationMs: 2000, zones }),
      sequence(100, (i) => faint(i, noise(24), 120, 50)),
    );
    const start = events[0];
    assert.ok(start?.type === 'start', JSON.stringify(events));
    assert.deepEqual(start.zones, ['door']);
    assert.ok(start.atMs < at(20) + 2000, `started ${start.atMs - at(20)} ms after the motion, before the camera's 2 s`);
  });
});
