/**
 * What goes to a VBC01 camera, checked against vbc01-protocol.md §6 and §7: the envelope of
 * `stream/play|keepalive|stop`, and the SDP the camera gets as `sdpOffer`, parsed line by line.
 */
import { checkCameraAnswer } from '../../../cli/commands/simulator-sdp';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cameraSdp,
  keepaliveCommand,
  newCname,
  playCommand,
  stopCommand,
  VBC01_AUDIO_SSRC,
  VBC01_VIDEO_SSRC,
} from '../../../nodes/vbc01-live/vbc01-signalling';

const CAMERA = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
const PORTS = { videoRtp: 5004, videoRtcp: 5005, audioRtp: 5006, audioRtcp: 5007 };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const CNAME = /^user\d{10}@host-[0-9a-f]{8}$/;

const description = { cameraId: CAMERA, streamId: 'stream-1', address: '203.0.113.7', ports: PORTS, cname: 'user0123456789@host-0a1b2c3d' };

/** An SDP's sections: the session lines, then one list per m= line. */
function sections(sdp: string): string[][] {
  const out: string[][] = [[]];
  for (const line of sdp.split('\r\n')) {
    if (line.startsWith('m=')) out.push([]);
    out[out.length - 1]!.push(line);
  }
  return out;
}

describe('stream/play', () => {
  it('carries the envelope, the stream id and the SDP, on the camera topic', () => {
    const msg = playCommand('prod', description, Date.UTC(2026, 0, 10, 21, 16, 58, 123));
    assert.equal(msg.topic, `prod/honeycomb/${CAMERA}/stream/play`);
    assert.deepEqual(
      { qos: msg.qos, retain: msg.retain, deviceId: msg.deviceId, action: msg.action },
      {
        qos: 1,
        retain: false,
        deviceId: CAMERA,
        action: 'stream-play',
      },
    );
    const p = JSON.parse(JSON.stringify(msg.payload)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(p).sort(), [
      'creationTimestamp',
      'messageType',
      'requestId',
      'sdpOffer',
      'sourceId',
      'sourceType',
      'streamId',
    ]);
    assert.match(p.requestId as string, UUID_V4);
    assert.equal(p.creationTimestamp, '2026-01-10T21:16:58.123000Z', 'microseconds and Z, as Python isoformat writes them');
    assert.equal(p.sourceId, CAMERA);
    assert.equal(p.sourceType, 'hive-cam');
    assert.equal(p.streamId, 'stream-1');
    assert.equal(p.messageType, 'play');
    // Real CRLF line ends, JSON-escaped once (§6).
    assert.match(JSON.stringify(msg.payload), /"sdpOffer":"v=0\\r\\no=/);
  });

  it('sends an SDP the simulated camera accepts, with the address, ports and cname it was given', () => {
    const check = checkCameraAnswer(cameraSdp(description, 42));
    assert.ok(check.ok, check.ok ? '' : check.reason);
    assert.equal(check.target.address, description.address);
    assert.equal(check.target.videoPort, description.ports.videoRtp);
    assert.equal(check.target.videoRtcpPort, description.ports.videoRtcp);
    assert.equal(check.target.cname, description.cname);
  });

  it('gives the camera the SDP the real platform sends: our address and ports, recvonly + passive video, fixed SSRCs, x-skl lines last', () => {
    const sdp = cameraSdp(description, 42);
    assert.ok(!sdp.endsWith('\r\n'), 'the last line has no CRLF');
    assert.ok(!/[^\r]\n/.test(sdp), 'every line ends with CRLF');
    const [session, audio, video] = sections(sdp);
    assert.equal(sections(sdp).length, 3, 'session, audio, video');

    // Every IPv4 address is the one the camera sends to (edit 4).
    const ipv4 = sdp.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g);
    assert.deepEqual([...new Set(ipv4)], ['203.0.113.7']);
    assert.deepEqual(session, ['v=0', 'o=- 42 42 IN IP4 203.0.113.7', 's=Kurento Media Server', 'c=IN IP4 203.0.113.7', 't=0 0']);

    assert.equal(audio![0], 'm=audio 5006 RTP/AVPF 96 0');
    assert.ok(audio!.includes('a=rtcp:5007'));
    assert.ok(audio!.includes('a=rtpmap:96 opus/48000/2') && audio!.includes('a=rtpmap:0 PCMU/8000'));
    assert.equal(
      audio!.find((l) => l.startsWith('a=ssrc:')),
      `a=ssrc:${VBC01_AUDIO_SSRC} cname:user0123456789@host-0a1b2c3d`,
    );

    assert.equal(video![0], 'm=video 5004 RTP/AVPF 103');
    assert.ok(video!.includes('a=rtcp:5005'));
    assert.ok(video!.includes('a=rtpmap:103 H264/90000'));
    for (const fb of ['nack', 'nack pli', 'goog-remb', 'ccm fir']) assert.ok(video!.includes(`a=rtcp-fb:103 ${fb}`), fb);
    const recvonly = video!.indexOf('a=recvonly');
    assert.ok(recvonly > 0, 'video is recvonly');
    assert.equal(video![recvonly + 1], 'a=direction:passive', 'direction:passive right after recvonly (edit 5)');
    assert.equal(
      video!.find((l) => l.startsWith('a=ssrc:')),
      `a=ssrc:${VBC01_VIDEO_SSRC} cname:user0123456789@host-0a1b2c3d`,
    );
    assert.equal(VBC01_AUDIO_SSRC, 229236353);
    assert.equal(VBC01_VIDEO_SSRC, 1607797317);

    // Edit 2: every cname is the generated one; edit 3: the three x-skl lines at the very end.
    assert.deepEqual([...new Set(sdp.match(/cname:\S+/g))], ['cname:user0123456789@host-0a1b2c3d']);
    assert.deepEqual(video!.slice(-3), [
      'a=x-skl-ssrca:229236353',
      'a=x-skl-ssrcv:1607797317',
      'a=x-skl-cname:user0123456789@host-0a1b2c3d',
    ]);
  });

  it('generates cnames of the real platform form', () => {
    for (let i = 0; i < 50; i++) assert.match(newCname(), CNAME);
  });
});

describe('stream/keepalive and stream/stop', () => {
  it('count keepalives from the number given and carry the stream id', () => {
    const k = keepaliveCommand('prod', CAMERA, 'stream-1', 0, Date.UTC(2026, 0, 1));
    assert.equal(k.topic, `prod/honeycomb/${CAMERA}/stream/keepalive`);
    assert.equal(k.action, 'stream-keepalive');
    const { requestId, ...rest } = k.payload;
    assert.match(requestId, UUID_V4);
    assert.deepEqual(rest, {
      creationTimestamp: '2026-01-01T00:00:00Z',
      sourceId: CAMERA,
      sourceType: 'hive-cam',
      streamId: 'stream-1',
      keepaliveCount: 0,
      messageType: 'keepalive',
    });
    const s = stopCommand('site', CAMERA, 'stream-1');
    assert.equal(s.topic, `site/honeycomb/${CAMERA}/stream/stop`);
    assert.deepEqual([s.payload.messageType, s.payload.streamId, s.action], ['stop', 'stream-1', 'stream-stop']);
  });
});
