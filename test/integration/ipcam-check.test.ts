/**
 * The IP camera connection check against a real RTSP camera (GStreamer's RTSP
 * server with Digest authentication): a good camera described, a wrong
 * password, a wrong path and a closed port each in one clear line, the
 * warnings for what browsers cannot play, and the login never on a command line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { checkCamera, checkStream } from '../../nodes/ipcam/check';
import { skipWithoutFfmpeg } from '../support/ffmpeg';
import { freePort } from '../support/ports';
import { RtspCamera, skipWithoutGstRtsp } from '../support/rtsp-camera';

const skip = skipWithoutFfmpeg || skipWithoutGstRtsp;

describe('IP camera check', { skip }, () => {
  const camera = new RtspCamera({ password: "p@ss:w'rd" });
  before(() => camera.start());
  after(() => camera.stop());
  const input = (path: string, password = camera.password) => ({
    url: camera.url(path),
    username: camera.user,
    password,
    transport: 'tcp' as const,
  });

  it('describes a good camera: H.264, its size and frame rate, no warnings', async () => {
    const r = await checkCamera({ main: input('main'), sub: input('sub') });
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(r.sub, { codec: 'h264', width: 320, height: 180, fps: 10, bFrames: false });
    assert.equal(r.main?.width, 640);
    assert.deepEqual(r.warnings, []);
  });

  it('says "wrong user or password" in one line, without the password', async () => {
    const r = await checkStream(input('sub', 'not-the-password'));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(r.error, /^wrong user or password for 127\.0\.0\.1:\d+\/sub \(the camera answered 401\)$/);
    assert.ok(!r.error.includes('not-the-password'));
  });

  it('says the stream path does not exist (404)', async () => {
    const r = await checkCamera({ sub: input('nope') });
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /^sub stream: no such stream at 127\.0\.0\.1:\d+\/nope/);
  });

  it('says nothing listens when the port is closed', async () => {
    const r = await checkStream({ url: `rtsp://127.0.0.1:${await freePort()}/sub`, transport: 'tcp' });
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /connection refused/);
  });

  it('keeps the login off the process list while ffprobe runs', async () => {
    const seen: string[] = [];
    let running = true;
    const watch = (async () => {
      while (running) {
        const ps = spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout;
        seen.push(...ps.split('\n').filter((l) => l.includes('ffprobe')));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const r = await checkStream(input('sub'));
    running = false;
    await watch;
    assert.equal(r.ok, true);
    assert.ok(seen.length > 0, 'ffprobe was seen running');
    for (const line of seen) {
      assert.ok(!line.includes(camera.password) && !line.includes(encodeURIComponent(camera.password)), `no password in: ${line}`);
      assert.ok(!line.includes('rtsp://'), `no camera URL in: ${line}`);
    }
  });
});

describe('IP camera check: what browsers cannot play', { skip }, () => {
  const h265 = new RtspCamera({ codec: 'h265' });
  const bframes = new RtspCamera({ bframes: true });
  before(() => Promise.all([h265.start(), bframes.start()]));
  after(() => Promise.all([h265.stop(), bframes.stop()]));

  it('warns about an H.265 main stream and refuses an H.265 sub stream for analysis', async () => {
    const login = { username: h265.user, password: h265.password, transport: 'tcp' as const };
    const main = await checkStream({ url: h265.url('main'), ...login });
    assert.equal(main.ok, true);
    if (main.ok) assert.match(main.warnings.join('\n'), /H\.265: most browsers cannot play it/);
    const both = await checkCamera({ main: { url: h265.url('main'), ...login }, sub: { url: h265.url('sub'), ...login } });
    assert.equal(both.ok, false);
    assert.match(both.error ?? '', /sub stream: hevc cannot be analysed here; set the camera's sub stream to H\.264/);
  });

  it('warns about B-frames', async () => {
    const r = await checkStream({ url: bframes.url('main'), username: bframes.user, password: bframes.password, transport: 'tcp' });
    assert.equal(r.ok, true);
    if (r.ok) assert.match(r.warnings.join('\n'), /B-frames/);
  });
});
