/**
 * Browsers watching a camera through the live bridge over WHEP: ffmpeg is
 * the camera (real H.264 RTP), Chromium the viewer (a WHEP POST to a tiny
 * HTTP server that calls addViewer). Video is decoded (framesDecoded grows),
 * a second viewer joins mid-stream and decodes too (it starts at a
 * keyframe: the bridge asked the camera for one), a bad offer is refused
 * with a clear error, and the viewers' count follows joins and leaves.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { LiveStream } from '../../../../nodes/lib/live/bridge-types';
import { LiveBridge } from '../../../../nodes/lib/live/rtp-bridge';
import type { Child } from '../../../../nodes/lib/child-process';
import { launchChromium, skipWithoutChromium } from '../../../support/browser';
import { skipWithoutFfmpeg } from '../../../support/ffmpeg';
import { ffmpegRtpCamera, udpPortRange, VBC01_VIDEO_SSRC } from '../../../support/rtp-camera';
import { waitFor } from '../../../support/wait';
import { serveWhepPage } from '../../../support/whep-page';

const skip = skipWithoutChromium || skipWithoutFfmpeg;

describe('WHEP viewers of a live stream', { skip }, () => {
  let bridge: LiveBridge;
  let stream: LiveStream;
  let camera: Child;
  let server: Server;
  let browser: Browser;
  let page: Page;
  const viewerIds: string[] = [];

  before(async () => {
    bridge = new LiveBridge(udpPortRange(4));
    stream = await bridge.open({
      cameraId: 'cam-live',
      videoSsrc: VBC01_VIDEO_SSRC,
      rembStartBps: 5_000_000,
      rembFloorBps: 500_000,
      stallAfterMs: 3000,
      sendRtcp: true,
    });
    let url: string;
    ({ server, url } = await serveWhepPage(() => stream, viewerIds));
    camera = ffmpegRtpCamera(stream.ports.videoRtp);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(url);
  });

  after(async () => {
    await browser?.close();
    await camera?.stop(2000);
    await bridge?.close();
    await new Promise((r) => server?.close(r));
  });

  const framesDecoded = (id: string): Promise<number> =>
    page.evaluate((i) => (window as unknown as { framesDecoded(i: string): Promise<number> }).framesDecoded(i), id);

  it('a browser decodes the camera video, re-served without re-encoding', async () => {
    await waitFor('camera packets', async () => (stream.stats().packets > 0 ? true : undefined));
    await page.evaluate(() => (window as unknown as { watch(id: string): Promise<void> }).watch('one'));
    await waitFor('frames decoded by the first viewer', async () => ((await framesDecoded('one')) >= 25 ? true : undefined), 30_000);
    assert.equal(stream.stats().viewers, 1);
    assert.ok(stream.stats().keyframeRequests >= 1, 'the bridge asked the camera for a keyframe when the viewer joined');
  });

  it('a second viewer joins mid-stream and decodes too, while the first keeps decoding', async () => {
    const before = await framesDecoded('one');
    await page.evaluate(() => (window as unknown as { watch(id: string): Promise<void> }).watch('two'));
    await waitFor('frames decoded by the second viewer', async () => ((await framesDecoded('two')) >= 25 ? true : undefined), 30_000);
    assert.ok((await framesDecoded('one')) > before);
    assert.equal(stream.stats().viewers, 2);
  });

  it('a viewer that leaves is counted out', async () => {
    const counts: number[] = [];
    stream.on('viewers', (n: number) => counts.push(n));
    stream.removeViewer(viewerIds[1]!);
    stream.removeViewer(viewerIds[0]!);
    assert.deepEqual(counts, [1, 0]);
    assert.equal(stream.stats().viewers, 0);
  });

  it('an offer that is not SDP, or offers no H.264, is refused with the reason', async () => {
    await assert.rejects(stream.addViewer('hello'), /bad WHEP offer: an SDP offer with a video section is required/);
    const vp8Only = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n';
    await assert.rejects(stream.addViewer(vp8Only), /offers no H\.264/);
    assert.equal(stream.stats().viewers, 0);
  });
});
