/**
 * The demo's stand-in for MediaMTX (real ffmpeg on both ends): what the Pi flow pushes over RTSP
 * is kept as HLS and passed on, copied, as RTP that an SDP file beside the playlist describes, so
 * the live node can serve the Pi camera over WebRTC without MediaMTX. The RTP goes out whether or
 * not anyone reads it; a reader of the SDP gets the H.264 with the SPS/PPS it needs to start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sinkFiles, sinkIsLocal, startRtspSink, type RtspSink } from '../../../cli/runtime/rtsp-sink';
import { spawnChild, type Child } from '../../../nodes/lib/child-process';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

describe("the demo's RTSP sink", () => {
  it('names its files after the stream path and runs only for a local URL', () => {
    assert.deepEqual(sinkFiles('rtsp://127.0.0.1:8554/picam-1', '/data/hls'), {
      playlist: '/data/hls/picam-1.m3u8',
      sdp: '/data/hls/picam-1.sdp',
    });
    assert.ok(sinkIsLocal('rtsp://localhost:8554/x') && sinkIsLocal('rtsp://127.0.0.1:1/x'));
    assert.ok(!sinkIsLocal('rtsp://cams.example.org:8554/x') && !sinkIsLocal('not a url'));
  });

  describe('with a publisher', { skip: skipWithoutFfmpeg }, () => {
    const dir = tempDir('picam-sink-');
    let sink: RtspSink | undefined;
    let publisher: Child | undefined;
    after(async () => {
      await publisher?.stop(2000);
      await sink?.stop();
    });

    it('keeps HLS and passes the video on as RTP that its SDP file describes', async () => {
      const url = `rtsp://127.0.0.1:${await freePort()}/picam-1`;
      sink = startRtspSink(url, dir, () => undefined);
      const pattern = ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-c:v', 'libx264', '-g', '10', '-bf', '0'];
      // The sink listens once its port pair is chosen: publish until it takes the stream.
      await waitFor(
        'the sink taking the stream',
        async () => {
          if (!publisher || publisher.process.exitCode !== null) {
            await publisher?.stop(0);
            publisher = spawnChild('ffmpeg', ['-v', 'error', '-nostdin', ...pattern, '-f', 'rtsp', '-rtsp_transport', 'tcp', url], {
              stdio: ['ignore', 'ignore', 'pipe'],
            });
            await new Promise((r) => setTimeout(r, 500));
          }
          return existsSync(join(dir, 'picam-1.sdp')) ? true : undefined;
        },
        30_000,
      );
      await waitFor('the HLS playlist', async () => (existsSync(join(dir, 'picam-1.m3u8')) ? true : undefined), 30_000);
      const sdp = readFileSync(join(dir, 'picam-1.sdp'), 'utf8');
      assert.match(sdp, /^m=video \d+ RTP\/AVP 96$/m);
      assert.match(sdp, /^c=IN IP4 127\.0\.0\.1$/m);
      assert.match(sdp, /sprop-parameter-sets=/, 'the SPS/PPS travel in the SDP');

      // A reader of the SDP (as the live node's copy reads it) gets decodable video.
      const frames = await new Promise<number>((resolve) => {
        const probe = spawn(
          'ffmpeg',
          ['-v', 'error', '-nostdin', '-protocol_whitelist', 'file,udp,rtp', '-i', join(dir, 'picam-1.sdp')].concat([
            '-frames:v',
            '10',
            '-f',
            'framemd5',
            '-',
          ]),
        );
        let out = '';
        probe.stdout.on('data', (d: Buffer) => (out += d.toString()));
        probe.on('exit', () => resolve(out.split('\n').filter((l) => /^0,/.test(l)).length));
        setTimeout(() => probe.kill('SIGKILL'), 20_000);
      });
      assert.equal(frames, 10, 'ten frames decoded from the RTP');
    });
  });
});
