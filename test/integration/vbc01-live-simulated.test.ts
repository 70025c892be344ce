/**
 * The live path end to end without MQTT: the simulated VBC01 streamer (cli/commands/
 * simulator-stream.ts, real libx264 over RTP) is given the SDP vbc01-live sends a camera
 * (vbc01-signalling.ts) for a real bridge stream (nodes/lib/live/), and Debian's Chromium
 * watches it over WHEP. The camera receives the bridge's REMB (count and values), lowers
 * its bitrate when loss is injected between it and the bridge, and raises it again once
 * the loss is gone; the browser decodes throughout, and again after the loss.
 * (The same camera asked over MQTT by the vbc01-live node, in the demo's dashboard, is
 * test/e2e/demo.test.ts.)
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SimulatedVbcStreamer } from '../../cli/commands/simulator-stream';
import type { LiveStream } from '../../nodes/lib/live/bridge-types';
import { LiveBridge } from '../../nodes/lib/live/rtp-bridge';
import { cameraSdp, newCname } from '../../nodes/vbc01-live/vbc01-signalling';
import { launchChromium, skipWithoutChromium } from '../support/browser';
import { skipWithoutFfmpeg } from '../support/ffmpeg';
import { isAlive } from '../support/processes';
import { udpPortRange, VBC01_AUDIO_SSRC, VBC01_VIDEO_SSRC } from '../support/rtp-camera';
import { waitFor } from '../support/wait';
import { serveWhepPage, whepViewer } from '../support/whep-page';

const skip = skipWithoutChromium || skipWithoutFfmpeg;
const START_BPS = 5_000_000;
const FLOOR_BPS = 500_000;
/** The simulated camera's start and ceiling. */
const CAMERA_MAX_BPS = 2_000_000;

describe('a simulated VBC01 camera through the live bridge to Chromium', { skip }, () => {
  let bridge: LiveBridge;
  let stream: LiveStream;
  let camera: SimulatedVbcStreamer;
  let server: Server;
  let browser: Browser;
  let page: Page;
  const encoders: number[] = [];

  before(async () => {
    bridge = new LiveBridge(udpPortRange(2));
    stream = await bridge.open({
      cameraId: 'sim-cam',
      videoSsrc: VBC01_VIDEO_SSRC,
      audioSsrc: VBC01_AUDIO_SSRC,
      rembStartBps: START_BPS,
      rembFloorBps: FLOOR_BPS,
      stallAfterMs: 5000,
      sendRtcp: true,
      rtcpIntervalMs: 250, // four reports a second (the node: one), so the REMB walks down and up in seconds
    });
    camera = new SimulatedVbcStreamer({ name: 'Sim Cam', encoder: { size: '320x240', fps: 25, gop: 25 } });
    camera.on('encoder', (pid: number) => encoders.push(pid));
    let url: string;
    ({ server, url } = await serveWhepPage(() => stream));
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(url);
  });

  after(async () => {
    await browser?.close();
    await camera?.close();
    await bridge?.close();
    await new Promise((r) => server?.close(r));
    assert.deepEqual(encoders.filter(isAlive), [], 'no encoder left');
  });

  it('streams to the SDP vbc01-live gives it, and the browser decodes the video', async () => {
    const sdp = cameraSdp({ cameraId: 'sim-cam', streamId: 'stream-1', address: '127.0.0.1', ports: stream.ports, cname: newCname() });
    assert.equal(camera.play('stream-1', sdp), true, `refused: ${camera.stats().rejectedReason}`);
    await waitFor('packets at the bridge', async () => (stream.stats().packets > 0 ? true : undefined), 30_000);
    await whepViewer(page).watch('one');
    await waitFor('frames decoded', async () => ((await whepViewer(page).framesDecoded('one')) >= 25 ? true : undefined), 30_000);
    assert.equal(stream.stats().spoofed, 0, "the camera's packets come from the address and SSRC the bridge learned");
  });

  it("receives the bridge's REMB at the start value, which keeps it at its own ceiling", async () => {
    await waitFor('three REMB at the camera', async () => (camera.stats().rembCount >= 3 ? true : undefined));
    const { rembValuesBps, bitrateBps } = camera.stats();
    for (const v of rembValuesBps) assert.ok(Math.abs(v - START_BPS) <= START_BPS * 0.001, `REMB ${v} at the start value`);
    assert.equal(bitrateBps, CAMERA_MAX_BPS);
    assert.ok(stream.stats().rembSent >= camera.stats().rembCount, 'every REMB the camera read was sent by the bridge');
  });

  it('lowers its bitrate under injected loss, and raises it again after', async () => {
    const rembsBefore = camera.stats().rembValuesBps.length;
    camera.setLoss(0.2);
    // At 20 % loss the REMB falls by a tenth a report, to the floor: the camera follows it down.
    const lowered = await waitFor(
      'the camera re-encoding at 1,000 kbit/s or less',
      async () => {
        const s = camera.stats();
        return s.bitrateBps <= 1_000_000 ? s.bitrateBps : undefined;
      },
      30_000,
    );
    assert.ok(stream.stats().lost > 0, 'the bridge saw the loss');
    assert.ok(lowered >= FLOOR_BPS, `never below the floor (${lowered})`);
    const underLoss = camera.stats().rembValuesBps.slice(rembsBefore);
    // The camera went down to the REMB rounded down to whole kbit/s: a REMB of 1,000,392 leaves it at 1,000,000.
    assert.ok(Math.min(...underLoss) < lowered + 1000, `the REMB fell to where the camera went (${lowered}): ${underLoss.join(', ')}`);
    assert.ok(
      underLoss.every((v) => v >= FLOOR_BPS * 0.999),
      `no REMB below the floor: ${underLoss.join(', ')}`,
    );

    // Without loss the REMB climbs back to the start; the camera re-encodes upward in steps of
    // over 20 % (simulator-stream-session.ts), so it ends between 1,667 and 2,000 kbit/s.
    camera.setLoss(0);
    await waitFor(
      'the camera re-encoding at 1,500 kbit/s or more',
      async () => (camera.stats().bitrateBps >= 1_500_000 ? true : undefined),
      60_000,
    );
    // The camera re-encodes at the REMB rounded down to whole kbit/s: a REMB of 1,520,000 may
    // leave it at exactly 1,520,000, so the REMB is at least, not above, its bitrate.
    const { lastRembBps, bitrateBps } = camera.stats();
    assert.ok(lastRembBps! >= bitrateBps, `the REMB rose again (${lastRembBps}, camera at ${bitrateBps})`);
    const decoded = await whepViewer(page).framesDecoded('one');
    await waitFor(
      'frames decoded after the loss',
      async () => ((await whepViewer(page).framesDecoded('one')) >= decoded + 25 ? true : undefined),
      30_000,
    );
  });
});
