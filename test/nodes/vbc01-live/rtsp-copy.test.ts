/**
 * The ffmpeg command that copies an RTSP source into the bridge, and the one-line reason when
 * it ends: the login only ever on stdin, video copied (never re-encoded) with the SPS/PPS in
 * front of each keyframe, RTP with the SSRC the bridge checks and no RTCP, and no password in
 * any reason, even where ffmpeg quotes the URL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyCommand, copyFailure } from '../../../nodes/vbc01-live/rtsp-copy';
import { parseRtspSources } from '../../../nodes/lib/rtsp/rtsp-sources';

const spec = parseRtspSources('cam=rtsp://admin:p%40ss-w0rd@10.0.0.9:554/main').get('cam')!;
const sdp = parseRtspSources('cam=/data/hls/picam-1.sdp').get('cam')!;

describe('the RTSP copy command', () => {
  it('reads the source from stdin and copies its video as RTP to the stream port with the given SSRC', () => {
    const cmd = copyCommand(spec, { port: 5000, ssrc: 123456 });
    const line = cmd.args.join(' ');
    assert.ok(!line.includes('p@ss-w0rd') && !line.includes('p%40ss-w0rd') && !line.includes('10.0.0.9'), line);
    assert.match(cmd.stdin!, /^file 'rtsp:\/\/admin:p%40ss-w0rd@10\.0\.0\.9:554\/main'$/m);
    assert.match(cmd.stdin!, /^option rtsp_transport tcp$/m);
    assert.match(
      line,
      /-i pipe:0 .*-map 0:v:0 -c:v copy -bsf:v dump_extra=freq=keyframe -f rtp -ssrc 123456 .*-rtpflags skip_rtcp rtp:\/\/127\.0\.0\.1:5000\?pkt_size=1200$/,
    );
    const fromSdp = copyCommand(sdp, { port: 5004, ssrc: 7 });
    assert.equal(fromSdp.stdin, undefined);
    assert.match(fromSdp.args.join(' '), /-protocol_whitelist file,udp,rtp -i \/data\/hls\/picam-1\.sdp .*rtp:\/\/127\.0\.0\.1:5004/);
  });

  it('says why it ended in one line, without the password', () => {
    const refused = copyFailure(spec, { code: 1, signal: null }, ['[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized']);
    assert.equal(refused, 'wrong user or password for 10.0.0.9:554/main (the camera answered 401)');
    const quoted = copyFailure(spec, { code: 1, signal: null }, [
      "[concat @ 0x2] Impossible to open 'rtsp://admin:p%40ss-w0rd@10.0.0.9:554/main'",
      'pipe:0: Invalid data found when processing input\nalso p@ss-w0rd here',
    ]);
    assert.ok(!quoted.includes('p@ss-w0rd') && !quoted.includes('p%40ss-w0rd') && !quoted.includes('\n'), quoted);
    assert.match(quoted, /^the copy of 10\.0\.0\.9:554\/main: ffmpeg exited with code 1: /);
    const missing = copyFailure(sdp, { code: 1, signal: null }, ['/data/hls/picam-1.sdp: No such file or directory']);
    assert.equal(missing, 'no stream is described at /data/hls/picam-1.sdp yet (the file does not exist: is the source publishing?)');
  });
});
