/**
 * The recorder's properties (issue 19): cameras in the live node's source syntax plus local
 * MPEG-TS over UDP, modes per camera, the settings table's defaults; a bad value is an error
 * naming the property and never quoting a password; a login never reaches ffmpeg's arguments.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recorderConfig, type RecorderDef } from '../../../nodes/recorder/settings';

const def = (p: Partial<RecorderDef>): RecorderDef => ({ id: 'r', type: 'recorder', name: '', z: '', dir: '/rec', ...p }) as RecorderDef;

describe('recorder settings', () => {
  it('reads cameras, modes and the defaults', () => {
    const c = recorderConfig(
      def({
        sources: 'gate=rtsp://cam:pw%40x@10.0.0.5/main, yard=rtsp://10.0.0.6/s, pi=udp://127.0.0.1:8560',
        modes: 'yard=continuous, mtx=off',
      }),
      { rtspUser: 'u', rtspPassword: 'node-pw' },
    );
    assert.deepEqual(
      c.cameras.map((x) => [x.cameraId, x.mode, x.where]),
      [
        ['gate', 'events', '10.0.0.5/main'],
        ['yard', 'continuous', '10.0.0.6/s'],
        ['pi', 'events', 'udp://127.0.0.1:8560'],
        ['mtx', 'off', 'MediaMTX'],
      ],
    );
    assert.deepEqual([c.preRollMs, c.postRollMs, c.maxClipMs, c.segmentSeconds], [5000, 10_000, 300_000, 2]);
    assert.deepEqual(c.rules, { retainClipDays: 30, retainSegmentDays: 7, freePercent: 10, freeGB: 1 });
    // Logins reach ffmpeg on stdin only.
    for (const cam of c.cameras) assert.ok(!JSON.stringify(cam.input?.args ?? []).match(/pw|node-pw/), cam.cameraId);
    assert.match(c.cameras[0]!.input!.stdin!, /cam:pw%40x@10\.0\.0\.5/);
    assert.match(c.cameras[1]!.input!.stdin!, /u:node-pw@10\.0\.0\.6/);
    assert.deepEqual(c.cameras[2]!.input!.args.slice(-2), ['-i', 'udp://127.0.0.1:8560?overrun_nonfatal=1']);
    assert.ok(c.secrets.includes('node-pw') && c.secrets.includes('pw@x'));
  });

  it('refuses bad values with the property named and no password quoted', () => {
    const cases: Array<[Partial<RecorderDef>, RegExp]> = [
      [{ dir: '' }, /dir \(the recordings folder\) is required/],
      [{ mode: 'always' }, /mode must be one of off, events, continuous/],
      [{ modes: 'yard=sometimes' }, /modes entry 1 \(yard\) must be one of/],
      [{ modes: 'bad id=off' }, /modes entry 1 must be cameraId=/],
      [{ sources: 'gate=http://u:secretpw@h/x' }, /must start with rtsp/],
      [{ sources: 'pi=udp://127.0.0.1' }, /cameraId=udp:\/\/host:port/],
      [{ sources: 'a=udp://127.0.0.1:1,a=rtsp://h/x' }, /names camera a twice/],
      [{ preRollSeconds: '-1' }, /preRollSeconds must be at least 0/],
      [{ freePercent: '95' }, /freePercent must be at most 90/],
      [{ uploadUrl: 'ftp://cloud/x' }, /upload URL must be the cloud's http\(s\):\/\/host:port/],
      [{ uploadUrl: 'https://pi:secretpw@cloud:1880' }, /without a login/],
      [{ uploadUrl: 'not a url' }, /upload URL must be/],
      [{ serve: 'maybe' }, /serve/],
    ];
    for (const [p, reason] of cases) {
      assert.throws(
        () => recorderConfig(def(p)),
        (err: Error) => reason.test(err.message) && !err.message.includes('secretpw'),
        JSON.stringify(p),
      );
    }
  });

  it("a Pi's recorder: the cloud URL and token it sends clips with, and no API of its own", () => {
    const c = recorderConfig(def({ uploadUrl: ' https://cloud.example.com:1880 ', serve: false }), { uploadToken: 'tok-123' });
    assert.deepEqual(c.upload, { url: 'https://cloud.example.com:1880/', token: 'tok-123' });
    assert.equal(c.serve, false);
    assert.ok(c.secrets.includes('tok-123'), 'the token is scrubbed from logs and the status');
    const cloud = recorderConfig(def({}));
    assert.equal(cloud.upload, undefined);
    assert.equal(cloud.serve, true);
  });
});
