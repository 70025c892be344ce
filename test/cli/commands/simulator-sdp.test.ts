/**
 * The simulated VBC01 reads the platform's edited answer as vbc01-protocol.md §7
 * says a real camera is given it, and refuses one that lacks what the camera
 * needs, naming what is wrong.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCameraAnswer } from '../../../cli/commands/simulator-sdp';
import { CNAME, vbc01Answer } from '../../support/vbc01-rtp';

const good = vbc01Answer({ address: '192.168.1.20', videoPort: 5000, videoRtcpPort: 5001, videoPayloadType: 103 });

const reasonFor = (sdp: unknown) => {
  const r = checkCameraAnswer(sdp);
  assert.equal(r.ok, false, 'refused');
  return (r as { reason: string }).reason;
};

describe('the answer a simulated VBC01 accepts', () => {
  it('gives the address, video port, RTCP port, payload type and cname of the platform answer', () => {
    assert.deepEqual(checkCameraAnswer(good), {
      ok: true,
      target: { address: '192.168.1.20', videoPort: 5000, videoRtcpPort: 5001, videoPayloadType: 103, cname: CNAME },
    });
  });

  it('takes the payload type the m=video line offers as H264/90000, whatever its number', () => {
    const r = checkCameraAnswer(vbc01Answer({ videoPort: 5010, videoRtcpPort: 5011, videoPayloadType: 96 }));
    assert.ok(r.ok);
    assert.equal(r.target.videoPayloadType, 96);
  });

  it('reads LF line ends and a trailing line end as well as CRLF', () => {
    assert.ok(checkCameraAnswer(`${good.replace(/\r\n/g, '\n')}\n`).ok);
  });
});

describe('an answer a simulated VBC01 refuses, with the reason', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'no a=direction:passive after a=recvonly',
      good.replace('a=recvonly\r\na=direction:passive', 'a=recvonly'),
      /a=recvonly is not followed by a=direction:passive/,
    ],
    [
      'direction:passive before recvonly',
      good.replace('a=recvonly\r\na=direction:passive', 'a=direction:passive\r\na=recvonly'),
      /not followed by a=direction:passive/,
    ],
    ['no a=recvonly in the video section', good.replace('a=recvonly\r\n', 'a=sendrecv\r\n'), /video section has no a=recvonly/],
    [
      "the media server's own video SSRC left in",
      good.replace(`a=ssrc:1607797317 cname`, 'a=ssrc:3735928559 cname'),
      /video section's first a=ssrc is 3735928559, not 1607797317/,
    ],
    [
      'the wrong audio SSRC',
      good.replace(`a=ssrc:229236353 cname`, 'a=ssrc:42 cname'),
      /audio section's first a=ssrc is 42, not 229236353/,
    ],
    ['no x-skl lines', good.split('\r\n').slice(0, -3).join('\r\n'), /third-last line is not a=x-skl-ssrca:229236353/],
    [
      'a wrong a=x-skl-ssrcv',
      good.replace('a=x-skl-ssrcv:1607797317', 'a=x-skl-ssrcv:1'),
      /second-last line is not a=x-skl-ssrcv:1607797317/,
    ],
    ['x-skl lines not at the end', `${good}\r\na=sendrecv`, /is not a=x-skl/],
    ['no cname on the last line', good.replace(`a=x-skl-cname:${CNAME}`, 'a=x-skl-cname:'), /last line is not a=x-skl-cname/],
    ['no c= line', good.replace(/c=IN IP4 [^\r]*\r\n/, ''), /no c=IN IP4 address/],
    ["c= 0.0.0.0, the offer's placeholder", good.replace(/c=IN IP4 [^\r]*/, 'c=IN IP4 0.0.0.0'), /0\.0\.0\.0 is not an IPv4 destination/],
    ['an IPv6 c= address', good.replace(/c=IN IP4 [^\r]*/, 'c=IN IP6 ::1'), /::1 is not an IPv4 destination/],
    ['no m=video', good.replace(/m=video [^\r]*/, 'm=application 5000 UDP/DTLS/SCTP webrtc-datachannel'), /no m=video section/],
    ['m=video port 0 (refused media)', good.replace(/m=video \d+/, 'm=video 0'), /m=video port 0 is not a port/],
    ['no H264 payload type', good.replace(/a=rtpmap:103 H264\/90000/, 'a=rtpmap:103 VP8/90000'), /no H264\/90000 payload type/],
    ['no a=rtcp in the video section', good.replace('a=rtcp:5001\r\n', ''), /video section has no a=rtcp:PORT/],
    ['not SDP', 'hello', /not SDP/],
    ['empty', '', /missing or empty/],
    ['not a string', { sdp: good }, /missing or empty/],
  ];
  for (const [what, sdp, reason] of cases) it(what, () => assert.match(reasonFor(sdp), reason));
});
