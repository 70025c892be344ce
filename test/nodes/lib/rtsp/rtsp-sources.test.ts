/**
 * The live node's RTSP source list (rtspSources / PICAM_LIVE_RTSP_SOURCES): which cameras are
 * copied from which stream, with which login, and a clear error for each kind of bad entry
 * that never repeats the URL (it may hold a password).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRtspSources, rtspSourceIds, sourceWhere } from '../../../../nodes/lib/rtsp/rtsp-sources';
import { liveConfig } from '../../../../nodes/vbc01-live/settings';

describe('RTSP sources of the live node', () => {
  it('reads cameraId=rtsp://… and cameraId=/path.sdp entries, the login apart from the URL', () => {
    const sources = parseRtspSources(
      'picam-1=rtsp://cams.example.org:8554/picam-1, door = rtsp://viewer:p%40ss%2Fword@10.0.0.9/main ,demo=/var/lib/picam/hls/picam-1.sdp',
      { user: 'node-user', password: 'node-pass' },
    );
    assert.deepEqual([...sources.keys()], ['picam-1', 'door', 'demo']);
    assert.deepEqual(sources.get('picam-1'), {
      kind: 'rtsp',
      cameraId: 'picam-1',
      input: { url: 'rtsp://cams.example.org:8554/picam-1', username: 'node-user', password: 'node-pass', transport: 'tcp' },
    });
    // The URL's own login wins, decoded, and leaves the URL.
    const door = sources.get('door')!;
    assert.equal(door.kind, 'rtsp');
    assert.deepEqual(door.kind === 'rtsp' && [door.input.url, door.input.username, door.input.password], [
      'rtsp://10.0.0.9/main',
      'viewer',
      'p@ss/word',
    ]);
    assert.equal(sourceWhere(door), '10.0.0.9/main');
    assert.deepEqual(sources.get('demo'), { kind: 'sdp', cameraId: 'demo', file: '/var/lib/picam/hls/picam-1.sdp' });
    assert.equal(parseRtspSources('').size, 0, 'none: every camera is a VBC01');
    assert.deepEqual(rtspSourceIds('picam-1=rtsp://u:p@h/x, bad entry ,cam2=/a.sdp'), ['picam-1', 'cam2']);
  });

  for (const [what, raw, error] of [
    ['no camera id', 'rtsp://admin:s3cret@10.0.0.9/main', /entry 1 must be cameraId=rtsp:\/\/host\/path/],
    ['a bad camera id', 'cam era=rtsp://admin:s3cret@10.0.0.9/main', /entry 1 must be cameraId=/],
    ['not a URL', 'cam=10.0.0.9 main', /entry 1 \(cam\) is not a URL/],
    ['a URL without its scheme', 'cam=admin:s3cret@10.0.0.9/main', /entry 1 \(cam\) must start with rtsp:\/\/ or rtsps:\/\/$/],
    ['another scheme', 'a=rtsp://h/x,cam=http://admin:s3cret@10.0.0.9/main', /entry 2 \(cam\) must start with rtsp:\/\/ or rtsps:\/\/$/],
    ['a relative SDP path', 'cam=hls/s3cret.sdp', /entry 1 \(cam\) is not a URL/],
    ['a camera named twice', 'cam=rtsp://h/a,cam=rtsp://admin:s3cret@h/b', /names camera cam twice/],
  ] as const) {
    it(`refuses ${what} with a message that names the entry, never its URL`, () => {
      assert.throws(
        () => parseRtspSources(raw),
        (err: Error) => {
          assert.match(err.message, error);
          assert.ok(!err.message.includes('s3cret') && !err.message.includes('admin'), err.message);
          return true;
        },
      );
    });
  }

  it('stops the node with that message (a bad property is never a half-working node)', () => {
    const def = { id: 'x', type: 'vbc01-live', z: '', name: '', cameraAddress: '10.0.0.2', rtspSources: 'cam=ftp://u:s3cret@h/x' };
    assert.throws(() => liveConfig(def), /rtspSources entry 1 \(cam\) must start with rtsp:\/\//);
    const ok = liveConfig({ ...def, rtspSources: 'cam=rtsp://h/x' }, { rtspUser: 'u', rtspPassword: 'p' });
    const cam = ok.rtspSources.get('cam');
    assert.deepEqual(cam?.kind === 'rtsp' && [cam.input.username, cam.input.password], ['u', 'p']);
  });
});
