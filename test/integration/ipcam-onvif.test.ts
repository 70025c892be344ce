/**
 * The ONVIF client against a fake ONVIF camera on loopback (SOAP over HTTP,
 * WS-Security digest checked): profiles and their RTSP URLs as main and sub
 * stream, the login kept out of the URLs, a wrong password, a camera whose
 * clock is off (still logged in, and told), and a camera with ONVIF off.
 * WS-Discovery is tested in test/nodes/ipcam/discovery.test.ts (loopback; the multicast group is not).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { onvifCamera } from '../../nodes/ipcam/onvif';
import { FakeOnvif } from '../support/fake-onvif';
import { freePort } from '../support/ports';

const profiles = [
  {
    token: 'prof_sub',
    name: 'sub',
    width: 320,
    height: 180,
    encoding: 'H264',
    uri: 'rtsp://admin:leak@10.0.0.5:554/sub?channel=1&stream=1',
  },
  { token: 'prof_main', name: 'main', width: 1920, height: 1080, encoding: 'H265', uri: 'rtsp://10.0.0.5:554/main' },
];

describe('ONVIF client', () => {
  const camera = new FakeOnvif({ username: 'admin', password: 'onvif-pw', profiles });
  const skewed = new FakeOnvif({ username: 'admin', password: 'onvif-pw', profiles, skewMs: 10 * 60_000 });
  before(() => Promise.all([camera.start(), skewed.start()]));
  after(() => Promise.all([camera.close(), skewed.close()]));

  it('finds the profiles and picks the largest as main stream and the smallest as sub stream, without the login', async () => {
    const r = await onvifCamera({ host: '127.0.0.1', port: camera.port, username: 'admin', password: 'onvif-pw' });
    assert.equal(r.mainUrl, 'rtsp://10.0.0.5:554/main');
    assert.equal(r.subUrl, 'rtsp://10.0.0.5:554/sub?channel=1&stream=1');
    assert.deepEqual(
      r.profiles.map((p) => [p.token, p.encoding, p.width, p.height]),
      [
        ['prof_sub', 'H264', 320, 180],
        ['prof_main', 'H265', 1920, 1080],
      ],
    );
    assert.match(r.profiles[0]!.snapshotUri ?? '', /\/snap\/prof_sub\.jpg$/);
    assert.ok(Math.abs(r.clockSkewSeconds) <= 1, 'the clock is read to the second');
    assert.deepEqual(r.warnings, []);
  });

  it('says the login was refused, in one line', async () => {
    await assert.rejects(onvifCamera({ host: '127.0.0.1', port: camera.port, username: 'admin', password: 'wrong' }), {
      message: `ONVIF refused the login at 127.0.0.1:${camera.port} (wrong user or password)`,
    });
  });

  it('logs in to a camera whose clock is 10 minutes off, and says so', async () => {
    const r = await onvifCamera({ host: '127.0.0.1', port: skewed.port, username: 'admin', password: 'onvif-pw' });
    assert.ok(Math.abs(r.clockSkewSeconds - 600) <= 2, String(r.clockSkewSeconds));
    assert.match(r.warnings.join('\n'), /the camera's clock is off by (59\d|60\d) s/);
  });

  it('says ONVIF is off when nothing answers', async () => {
    const port = await freePort();
    await assert.rejects(onvifCamera({ host: '127.0.0.1', port }), {
      message: `nothing answers ONVIF at 127.0.0.1:${port} (connection refused: is ONVIF enabled on the camera, and is this its ONVIF port?)`,
    });
  });
});
