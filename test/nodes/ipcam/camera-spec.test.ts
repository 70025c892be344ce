/**
 * The IP camera's plain parts: the command line that keeps the login off the
 * process list, the ffconcat quoting, one-line failure reasons, the warnings
 * for what browsers cannot play, and the checks on a camera's description.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publicSpec, readCameraSpec } from '../../../nodes/ipcam/camera-spec';
import { videoWarnings } from '../../../nodes/ipcam/check';
import { pathConf } from '../../../nodes/ipcam/live-paths';
import { sourceCommand } from '../../../nodes/lib/camera/commands';
import { concatScript, rtspFailure } from '../../../nodes/lib/rtsp/rtsp-input';
import type { StreamConfig } from '../../../nodes/lib/camera/types';

const input = { url: 'rtsp://10.0.0.5:554/sub', username: 'ad min', password: "p@ss:w'rd", transport: 'tcp' as const };

describe('the rtsp source', () => {
  it('reads the camera from stdin: no URL or password on the command line, TCP by default', () => {
    const cfg = { source: 'rtsp', input, ffmpegPath: 'ffmpeg', framerate: 10 } as StreamConfig;
    const cmd = sourceCommand(cfg);
    const line = cmd.args.join(' ');
    assert.ok(!line.includes('rtsp://') && !line.includes('p@ss') && !line.includes('ad min'), line);
    assert.match(line, /-f concat .* -i pipe:0 .*-c:v copy/);
    assert.match(
      cmd.stdin ?? '',
      /^ffconcat version 1\.0\nfile 'rtsp:\/\/ad%20min:p%40ss%3Aw'\\''rd@10\.0\.0\.5:554\/sub'\noption rtsp_transport tcp\n/,
    );
  });

  it('quotes a single quote in the URL the ffconcat way', () => {
    assert.match(concatScript({ url: "rtsp://cam/it's", transport: 'udp' }), /file 'rtsp:\/\/cam\/it'\\''s'\noption rtsp_transport udp/);
  });

  it('turns ffmpeg errors into one line that names host and path, never the login', () => {
    const url = 'rtsp://cam.local:554/live';
    assert.equal(
      rtspFailure(['[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized'], url),
      'wrong user or password for cam.local:554/live (the camera answered 401)',
    );
    assert.match(rtspFailure(['Server returned 404 Not Found'], url) ?? '', /^no such stream at cam\.local:554\/live/);
    assert.match(rtspFailure(['Connection to tcp://cam.local:554 failed: Connection refused'], url) ?? '', /connection refused/);
    assert.equal(rtspFailure(['something else'], url), undefined);
  });
});

describe('what browsers cannot play', () => {
  it('warns about H.265, other codecs and B-frames', () => {
    assert.deepEqual(videoWarnings({ codec: 'h264', width: 640, height: 360, fps: 10, bFrames: false }), []);
    assert.match(videoWarnings({ codec: 'hevc', width: 640, height: 360, fps: 10, bFrames: false })[0]!, /^H\.265/);
    assert.match(videoWarnings({ codec: 'mjpeg', width: 640, height: 360, fps: 10, bFrames: false })[0]!, /not H\.264/);
    assert.match(videoWarnings({ codec: 'h264', width: 640, height: 360, fps: 10, bFrames: true })[0]!, /^B-frames/);
  });
});

describe('a camera description', () => {
  const good = { id: 'porch', subUrl: 'rtsp://10.0.0.5/sub', username: 'u', password: 'secret' };

  it('gets defaults (TCP, ARMED, motion on, the id as name) and is shown without its password', () => {
    const spec = readCameraSpec(good);
    assert.deepEqual([spec.transport, spec.mode, spec.motion, spec.name], ['tcp', 'ARMED', true, 'porch']);
    const shown = publicSpec(spec);
    assert.equal(shown.hasPassword, true);
    assert.ok(!('password' in shown));
  });

  it('is refused with a reason when it cannot work', () => {
    for (const [fields, reason] of [
      [{ ...good, id: '' }, /id must match/],
      [{ ...good, subUrl: undefined }, /subUrl is required/],
      [{ ...good, subUrl: 'not a url' }, /not a URL/],
      [{ ...good, mainUrl: 'http://x/main' }, /mainUrl must start with rtsp/],
      [{ ...good, subUrl: 'rtsp://u:p@x/sub' }, /not in the URL/],
      [{ ...good, mode: 'ON' }, /mode must be one of/],
      [{ ...good, motion: 'maybe' }, /motion must be true or false/],
      [{ ...good, password: 42 }, /password must be a string/],
      [{ ...good, username: 'a:b' }, /username cannot hold a ":"/],
    ] as const) {
      assert.throws(() => readCameraSpec(fields as Record<string, unknown>), reason as RegExp);
    }
  });

  it('gives MediaMTX an on-demand path pulling the main stream over its transport', () => {
    const conf = pathConf(readCameraSpec({ ...good, mainUrl: 'rtsp://10.0.0.5/main', transport: 'udp' }));
    assert.equal(conf.source, 'rtsp://u:secret@10.0.0.5/main');
    assert.equal(conf.sourceOnDemand, true);
    assert.equal(conf.rtspTransport, 'udp');
  });
});
