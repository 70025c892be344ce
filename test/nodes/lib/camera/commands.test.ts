/**
 * The camera pipeline's pure parts (nodes/lib/camera/, which rpicam-rtsp and ipcam run): the
 * command lines of the source, relay and analyser, credential handling, ffmpeg's -progress parser
 * and the H.264 fan-out. The processes themselves run in test/integration/rpicam-pipeline.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { CenterNetDetector } from '../../../../nodes/lib/detect/centernet';
import { keep } from '../../../../nodes/lib/detect/filter';
import { analyserCommand, publishUrl, redact, relayCommand, SCENE, sourceCommand } from '../../../../nodes/lib/camera/commands';
import { redactText } from '../../../../nodes/lib/redact';
import { MotionDetector } from '../../../../nodes/lib/camera/motion';
import { findKeyFrame, greyFrames, H264Fanout } from '../../../../nodes/lib/camera/pipes';
import { parseProgressBlock, ProgressParser, type FfmpegProgress } from '../../../../nodes/lib/camera/progress';
import type { StreamConfig } from '../../../../nodes/lib/camera/types';
import { buildFakeRpicamVid } from '../../../support/fake-rpicam-vid';
import { skipWithoutFfmpeg } from '../../../support/ffmpeg';
import { tempDir } from '../../../support/tmp';

const cfg: StreamConfig = {
  source: 'rpicam',
  rtspUrl: 'rtsp://media.example:8554/picam',
  width: 1280,
  height: 720,
  framerate: 15,
  bitrate: 2_000_000,
  keyframeInterval: 30,
  rotation: 0,
  hflip: false,
  vflip: false,
  lowLatency: false,
  rpicamPath: 'rpicam-vid',
  ffmpegPath: 'ffmpeg',
  v4l2Device: '/dev/video0',
  v4l2Encoder: 'h264_v4l2m2m',
  stallTimeoutMs: 10_000,
  backoff: { baseMs: 1000, maxMs: 60_000 },
};
const line = (c: { command: string; args: string[] }) => [c.command, ...c.args].join(' ');
const RAW_IN = '-probesize 32768 -analyzeduration 1 -f h264 -framerate 15 -i pipe:0';
const QUIET = '-hide_banner -loglevel warning -nostats';

describe('source commands', () => {
  it('rpicam-vid writes inline-header H.264 to stdout with the configured size, rate, bitrate and intra period', () => {
    const base = 'rpicam-vid -t 0 -n --inline --codec h264 --width 1280 --height 720 --framerate 15 --bitrate 2000000 --intra 30';
    assert.equal(line(sourceCommand(cfg)), `${base} -o -`);
    const all = { ...cfg, rotation: 180 as const, hflip: true, vflip: true, lowLatency: true };
    assert.equal(line(sourceCommand(all)), `${base} --rotation 180 --hflip --vflip --low-latency --flush -o -`);
  });

  it('every flag combination is one rpicam-vid accepts (checked by the fake, which parses its real options)', () => {
    const fake = buildFakeRpicamVid(tempDir());
    for (const extra of [{}, { rotation: 180 as const, hflip: true, vflip: true, lowLatency: true }]) {
      // FFMPEG=true: the fake parses and validates, then "encodes" with /bin/true and exits.
      const r = spawnSync(fake, sourceCommand({ ...cfg, ...extra }).args, { env: { ...process.env, FFMPEG: 'true' }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    const wrong = spawnSync(fake, ['-t', '0', '--keyframe', '30', '-o', '-'], { encoding: 'utf8' });
    assert.equal(wrong.status, 255);
    assert.match(wrong.stderr, /ERROR: \*\*\* unrecognised option '--keyframe' \*\*\*/);
  });

  it('v4l2: ffmpeg encodes the device to yuv420p H.264 without B-frames, flips and rotation as filters', () => {
    const v = { ...cfg, source: 'v4l2' as const };
    const tail = '-pix_fmt yuv420p -c:v h264_v4l2m2m -b:v 2000000 -g 30 -bf 0 -bsf:v dump_extra=freq=keyframe -flush_packets 1 -f h264 -';
    const head = `ffmpeg ${QUIET} -nostdin -f v4l2 -framerate 15 -video_size 1280x720 -i /dev/video0`;
    assert.equal(line(sourceCommand(v)), `${head} ${tail}`);
    assert.equal(line(sourceCommand({ ...v, rotation: 180 })), `${head} -vf hflip,vflip ${tail}`);
    // A 180° turn of a mirrored picture is the other flip.
    assert.equal(line(sourceCommand({ ...v, rotation: 180, hflip: true })), `${head} -vf vflip ${tail}`);
    assert.equal(line(sourceCommand({ ...v, vflip: true })), `${head} -vf vflip ${tail}`);
  });

  it('testsrc: a moving testsrc2 by default, smptebars when a still picture is asked for', () => {
    const t = { ...cfg, source: 'testsrc' as const, width: 320, height: 240 };
    const tail = '-c:v libx264 -preset ultrafast -tune zerolatency -b:v 2000000 -g 30 -bf 0 -pix_fmt yuv420p -flush_packets 1 -f h264 -';
    const head = `ffmpeg ${QUIET} -nostdin -re -f lavfi -i`;
    assert.equal(line(sourceCommand(t)), `${head} testsrc2=size=320x240:rate=15 ${tail}`);
    assert.equal(line(sourceCommand({ ...t, pattern: 'static' })), `${head} smptebars=size=320x240:rate=15 ${tail}`);
  });
});

describe('relay and analyser commands', () => {
  it('the relay copies stdin to the RTSP server over TCP and reports progress on fd 3', () => {
    const url = 'rtsp://media.example:8554/picam';
    const out = `-f rtsp -rtsp_transport tcp ${url} -progress pipe:3`;
    // Only without B-frames is pts = dts right: rpicam-vid may add them unless --low-latency.
    assert.equal(line(relayCommand(cfg)), `ffmpeg ${QUIET} ${RAW_IN} -c copy ${out}`);
    assert.equal(line(relayCommand({ ...cfg, lowLatency: true })), `ffmpeg ${QUIET} ${RAW_IN} -c copy -bsf:v setts=pts=DTS ${out}`);
    assert.equal(line(relayCommand({ ...cfg, source: 'testsrc' })), `ffmpeg ${QUIET} ${RAW_IN} -c copy -bsf:v setts=pts=DTS ${out}`);
  });

  it('puts the credentials URL-encoded into the URL and never shows them in logs', () => {
    const secret = { ...cfg, username: 'cam user', password: 'p@ss:w/rd%' };
    const url = 'rtsp://cam%20user:p%40ss%3Aw%2Frd%25@media.example:8554/picam';
    assert.equal(publishUrl(secret), url);
    assert.ok(relayCommand(secret).args.includes(url));
    const shown = redact(relayCommand(secret).args).join(' ');
    assert.ok(!shown.includes('cam%20user') && !shown.includes('p%40ss'), shown);
    assert.ok(shown.includes('rtsp://***@media.example:8554/picam'));
    assert.equal(redactText(`${url}: Connection refused`), 'rtsp://***@media.example:8554/picam: Connection refused');
    assert.equal(publishUrl({ ...cfg, username: 'u' }), 'rtsp://u@media.example:8554/picam');
  });

  it('the analyser writes JPEGs to stdout and grey motion frames to fd 3', () => {
    const a = { jpegFps: 2, jpegWidth: 640, motionFps: 5, motionWidth: 64, motionHeight: 48 };
    assert.equal(
      line(analyserCommand(cfg, a)),
      `ffmpeg ${QUIET} ${RAW_IN} -map 0:v -vf fps=2,scale='min(640,iw)':-2 -c:v mjpeg -q:v 5 -flush_packets 1 -f image2pipe pipe:1 ` +
        '-map 0:v -vf fps=5,scale=64:48,format=gray -flush_packets 1 -f rawvideo pipe:3',
    );
  });

  it("stamps an IP camera's frames as they arrive: no frame rate needed before its check has run", () => {
    const a = { jpegFps: 5, jpegWidth: 640, motionFps: 5, motionWidth: 64, motionHeight: 48 };
    const args = line(analyserCommand({ ...cfg, source: 'rtsp', framerate: 0 }, a));
    assert.ok(args.includes('-use_wallclock_as_timestamps 1 -probesize 32768 -analyzeduration 1 -f h264 -i pipe:0'), args);
    assert.ok(!args.includes('-framerate'), args);
  });

  it('the analyser decodes from the key frame it starts at, not from the next one (real ffmpeg)', { skip: skipWithoutFfmpeg }, () => {
    // The fan-out starts a reader at a key frame; a stream whose only key frame is the first shows
    // whether the analyser keeps the frames it probed (it used to drop them: no picture for a GOP).
    const encode = ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=15', '-frames:v', '21'];
    encode.push('-c:v', 'libx264', '-preset', 'ultrafast', '-g', '1000', '-bf', '0', '-pix_fmt', 'yuv420p', '-f', 'h264', '-');
    const stream = spawnSync('ffmpeg', encode, { maxBuffer: 1 << 24 }).stdout;
    const a = { jpegFps: 5, jpegWidth: 160, motionFps: 5, motionWidth: 16, motionHeight: 12 };
    // With a frame rate, not arrival times: fed at once, frames stamped on arrival share one instant.
    const { command, args } = analyserCommand(cfg, a);
    const run = spawnSync(command, args, { input: stream, stdio: ['pipe', 'pipe', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
    const jpegs = run.stdout.toString('latin1').split('\xff\xd8\xff').length - 1;
    assert.ok(jpegs >= 1, `a picture from the first key frame (${run.stderr})`);
    assert.ok((run.output[3] as Buffer).length >= 16 * 12, 'a grey frame for motion');
    // An IP camera's analyser reads its input the same way (above: the same input options).
    assert.ok(!analyserCommand({ ...cfg, source: 'rtsp', framerate: 0 }, a).args.includes('nobuffer'));
  });
});

describe('ffmpeg -progress parser', () => {
  const block =
    'frame=120\nfps=15.00\nstream_0_0_q=-1.0\nbitrate= 312.4kbits/s\ntotal_size=468000\nout_time_us=8000000\n' +
    'out_time=00:00:08.000000\ndup_frames=0\ndrop_frames=2\nspeed=1.01x\nprogress=continue\n';

  it('reads a block, whatever the chunking', () => {
    for (const size of [1, 3, 7, block.length]) {
      const got: FfmpegProgress[] = [];
      const parser = new ProgressParser((p) => got.push(p));
      for (let i = 0; i < block.length; i += size) parser.push(Buffer.from(block.slice(i, i + size)));
      assert.equal(got.length, 1, `chunks of ${size}`);
      assert.deepEqual(
        { ...got[0], fields: undefined },
        {
          frame: 120,
          fps: 15,
          bitrateKbps: 312.4,
          totalSize: 468000,
          outTimeUs: 8_000_000,
          dropFrames: 2,
          dupFrames: 0,
          speed: 1.01,
          end: false,
          fields: undefined,
        },
      );
    }
  });

  it('takes N/A, CRLF and the end block', () => {
    const got: FfmpegProgress[] = [];
    const parser = new ProgressParser((p) => got.push(p));
    parser.push('frame=0\r\nfps=0.00\r\nbitrate=N/A\r\ntotal_size=N/A\r\nout_time_us=N/A\r\nspeed=N/A\r\nprogress=continue\r\n');
    parser.push('frame=5\nbitrate=1.5Mbits/s\nprogress=end\n');
    assert.equal(got.length, 2);
    assert.equal(got[0]!.bitrateKbps, undefined);
    assert.equal(got[0]!.speed, undefined);
    assert.equal(got[0]!.totalSize, undefined);
    assert.deepEqual([got[1]!.frame, got[1]!.bitrateKbps, got[1]!.end], [5, 1500, true]);
    assert.equal(parseProgressBlock({}).frame, 0);
  });
});

describe('H.264 fan-out', () => {
  const sps = (long: boolean) => Buffer.from([...(long ? [0] : []), 0, 0, 1, 0x67, 0x42]);
  const slice = Buffer.from([0, 0, 0, 1, 0x41, 0x9a, 0x11]);

  it('finds the start of the SPS that opens a key frame, with a 3- or 4-byte start code', () => {
    assert.equal(findKeyFrame(Buffer.concat([slice, sps(true), slice])), slice.length);
    assert.equal(findKeyFrame(Buffer.concat([Buffer.from([9]), sps(false)])), 1);
    assert.equal(findKeyFrame(slice), -1);
  });

  it('a consumer joins at a key frame; one that cannot keep up loses data until it drains, then rejoins at a key frame', async () => {
    const source = new PassThrough();
    const fast: Buffer[] = [];
    const slow: Buffer[] = [];
    let release: (() => void) | undefined;
    const fanout = new H264Fanout(source, { maxBufferedBytes: 4 });
    fanout.add(new Writable({ write: (c: Buffer, _e, cb) => (fast.push(c), cb()) }), 'pause');
    const stuck = new Writable({ highWaterMark: 4, write: (c: Buffer, _e, cb) => (slow.push(c), (release = cb)) });
    const outlet = fanout.add(stuck, 'drop');
    for (const chunk of [slice, Buffer.concat([slice, sps(true)]), slice, slice, slice]) source.write(chunk);
    await new Promise((r) => setImmediate(r));
    assert.equal(fast.length, 4, 'the relay gets everything from the first key frame on');
    assert.deepEqual(fast[0], sps(true));
    assert.equal(slow.length, 1, 'the stuck analyser got the key frame and then nothing');
    assert.ok(outlet.droppedBytes > 0);
    release!();
    source.write(slice);
    source.write(sps(false));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(slow.at(-1), sps(false), 'after draining it waits for the next key frame');
    fanout.close();
  });

  it('a slow relay pauses the source, but only for maxPauseMs', async () => {
    const source = new PassThrough();
    const fanout = new H264Fanout(source, { maxPauseMs: 50 });
    const relay = fanout.add(new Writable({ highWaterMark: 1, write: () => undefined }), 'pause');
    source.write(sps(true));
    await new Promise((r) => setImmediate(r));
    assert.ok(source.isPaused(), 'waiting for the relay');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!source.isPaused(), 'gave up waiting');
    source.write(slice);
    await new Promise((r) => setImmediate(r));
    assert.equal(relay.droppedBytes, slice.length);
    fanout.close();
  });
});

describe('grey frames', () => {
  it('are reassembled from the analyser output whatever the chunking', () => {
    const frames: number[][] = [];
    const push = greyFrames(2, 2, (f) => frames.push([...f.data, f.width, f.height]));
    for (const chunk of [[1], [2, 3, 4, 5], [6, 7], [8, 9, 10]]) push(Buffer.from(chunk));
    assert.deepEqual(frames, [
      [1, 2, 3, 4, 2, 2],
      [5, 6, 7, 8, 2, 2],
    ]);
  });
});

describe("the scene source: the demo's street where a person appears (issue 20)", { skip: skipWithoutFfmpeg }, () => {
  // 14 s of the scene as the camera makes it (without -re: as fast as ffmpeg goes), 1280×720
  const scene = (): Buffer => {
    const c = sourceCommand({ ...cfg, source: 'scene', sceneDir: join(__dirname, '../../../../nodes/rpicam-rtsp/scene') });
    const args = c.args.filter((a) => a !== '-re');
    args.splice(args.lastIndexOf('-f'), 0, '-t', '14');
    const run = spawnSync(c.command, args, { maxBuffer: 1 << 26 });
    assert.equal(run.status, 0, run.stderr.toString());
    return run.stdout;
  };
  const decode = (h264: Buffer, filter: string, format: string[]): Buffer =>
    spawnSync('ffmpeg', ['-v', 'error', '-f', 'h264', '-framerate', '15', '-i', 'pipe:0', '-vf', filter, ...format, '-'], {
      input: h264,
      maxBuffer: 1 << 26,
    }).stdout;

  it('raises one motion event when the person appears, which the detector finds a person in; the empty street has none', async () => {
    const h264 = scene();
    const grey = decode(h264, 'fps=5,scale=64:48', ['-f', 'rawvideo', '-pix_fmt', 'gray']);
    const motion = new MotionDetector({});
    const starts: number[] = [];
    for (let i = 0; (i + 1) * 64 * 48 <= grey.length; i++) {
      const e = motion.push({ width: 64, height: 48, data: grey.subarray(i * 64 * 48, (i + 1) * 64 * 48), timeMs: i * 200 });
      if (e?.type === 'start') starts.push(e.atMs);
    }
    assert.equal(starts.length, 1, `one event: ${starts.join(', ')}`);
    assert.ok(starts[0]! >= SCENE.visitAtSeconds * 1000 && starts[0]! < (SCENE.visitAtSeconds + 2) * 1000, `at the visit: ${starts[0]} ms`);

    const picture = (atSeconds: number) => decode(h264, `select=eq(n\\,${atSeconds * 15}),scale=640:-2`, ['-frames:v', '1', '-f', 'mjpeg']);
    const detector = new CenterNetDetector();
    const filter = { threshold: 0.4, minBoxPercent: 5, labels: ['person'] };
    const visit = keep((await detector.detect(picture(SCENE.visitAtSeconds + 2))).detections, filter);
    assert.ok((visit[0]?.box.h ?? 0) > 50, `a person, most of the picture tall: ${JSON.stringify(visit)}`);
    assert.deepEqual(keep((await detector.detect(picture(5))).detections, filter), [], 'nobody on the empty street');
  });
});
