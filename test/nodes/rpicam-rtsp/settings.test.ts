/**
 * rpicam-rtsp's local recording tap (issue 19): only a UDP port of this host, and its ffmpeg copies
 * the video (never re-encodes it) as MPEG-TS there.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tapCommand } from '../../../nodes/lib/camera/commands';
import { streamConfig, type RpicamRtspDef } from '../../../nodes/rpicam-rtsp/settings';

const def = (p: Partial<RpicamRtspDef>) => ({ id: 'c', type: 'rpicam-rtsp', url: 'rtsp://127.0.0.1:8554/pi', ...p }) as RpicamRtspDef;

describe('the local recording tap', () => {
  it('is off unless set, and copies the video as MPEG-TS to the local port', () => {
    assert.equal(streamConfig(def({}), {}).camera.stream.recordTo, undefined);
    const stream = streamConfig(def({ recordTo: ' udp://127.0.0.1:8561 ', source: 'testsrc' }), {}).camera.stream;
    assert.equal(stream.recordTo, 'udp://127.0.0.1:8561');
    const { args } = tapCommand(stream, stream.recordTo!);
    assert.deepEqual(args.slice(args.indexOf('-c'), args.indexOf('-c') + 2), ['-c', 'copy']);
    assert.ok(!args.includes('-c:v') && !args.includes('libx264'), 'never re-encoded');
    assert.deepEqual(args.slice(-3), ['-f', 'mpegts', 'udp://127.0.0.1:8561?pkt_size=1316']);
  });

  it('refuses anything but a UDP port of this host', () => {
    for (const bad of [
      'udp://10.0.0.5:8561',
      'udp://127.0.0.1',
      'rtsp://127.0.0.1:8561/x',
      'udp://127.0.0.1:8561/path',
      'udp://127.0.0.1:8561?localport=1',
      'nonsense',
    ])
      assert.throws(() => streamConfig(def({ recordTo: bad }), {}), /local recording must be udp:\/\/127\.0\.0\.1:port/, bad);
  });
});
