/**
 * An RTSP camera served to browsers by the vbc01-live node where no MediaMTX runs (issue 17
 * item 4): a real Node-RED runtime, the real bridge, a real RTSP camera (GStreamer's RTSP
 * server with Digest auth), the node's ffmpeg copy and Chromium as the viewer. What a user
 * and an operator would notice: the video decodes in the page through POST
 * /api/live/:cameraId/whep; the copy runs only while someone watches and is gone (with its
 * ports) after the last viewer leaves and on redeploy; a camera that restarts comes back on
 * its own; a wrong login, path or address is a one-line reason in the answer and the live
 * state, never the password.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import vbc01Live from '../../../nodes/vbc01-live/vbc01-live';
import { issueStreamToken } from '../../../nodes/lib/access/stream-tokens';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { httpNodeServer } from '../../support/http-node';
import { Collector, helper, useNodeRed } from '../../support/node-helper';
import { freePort } from '../../support/ports';
import { RtspCamera, skipWithoutGstRtsp } from '../../support/rtsp-camera';
import { udpPortRange } from '../../support/rtp-camera';
import { waitFor } from '../../support/wait';

const skip = skipWithoutChromium || skipWithoutFfmpeg || skipWithoutGstRtsp;
useNodeRed();

const SECRET = 'rtsp-source-test-secret';
const CAMERA = 'picam-1';
const PASSWORD = 'cam-s3cret-live';
const http = httpNodeServer('');

/** The page's WHEP client: recvonly video, non-trickle; framesDecoded from getStats. */
const CLIENT = `
window.watch = async (url, token) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.ontrack = () => undefined;
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 2000); });
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: 'Bearer ' + token }, body: pc.localDescription.sdp });
  if (res.status !== 201) return { status: res.status, body: await res.text() };
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.pc = pc;
  return { status: 201, location: res.headers.get('location') };
};
window.framesDecoded = async () => {
  let n = 0; (await window.pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') n = s.framesDecoded || 0; });
  return n;
};`;

/** Running processes (pid: command line) whose command line mentions `text` (not this test process). */
function processesWith(text: string): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .map((d) => {
      try {
        return `${d}: ${readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ')}`;
      } catch {
        return '';
      }
    })
    .filter((c) => c.includes(text));
}

/** Whether this host can bind the UDP port now (nothing of the node holds it any more). */
function udpPortFree(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(port, () => s.close(() => resolve(true)));
  });
}

describe('an RTSP source served over WHEP by vbc01-live', { skip }, () => {
  const camera = new RtspCamera({ password: PASSWORD });
  let browser: Browser;
  let page: Page;
  let base = '';
  let range = udpPortRange(4);

  before(async () => {
    await camera.start();
    browser = await launchChromium();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
    await camera.stop();
  });

  async function load(source: string, props: Record<string, unknown> = {}, login = { rtspUser: 'admin', rtspPassword: PASSWORD }) {
    range = udpPortRange(4);
    helper.settings({ credentialSecret: SECRET });
    await helper.load(
      [vbc01Live, http.expose],
      [
        {
          id: 'live',
          type: 'vbc01-live',
          cameraAddress: '127.0.0.1',
          portMin: range.portMin,
          portMax: range.portMax,
          graceSeconds: 0.3,
          answerSeconds: 20,
          idleSeconds: 20,
          rtspSources: `${CAMERA}=${source}`,
          ...props,
          wires: [['mqtt'], []],
        },
        { id: 'mqtt', type: 'helper' },
      ],
      { live: login },
    );
    base = new URL((await http.fetch('/api/live/')).url).origin;
    await page.goto(`${base}/api/live/`);
    await page.evaluate(CLIENT);
    return { mqtt: new Collector('mqtt') };
  }

  const watch = (): Promise<{ status: number; body?: string; location?: string }> =>
    page.evaluate(
      ([url, token]) => (window as any).watch(url, token),
      [`${base}/api/live/${CAMERA}/whep`, issueStreamToken(SECRET, 'alice')],
    );
  const framesDecoded = (): Promise<number> => page.evaluate(() => (window as any).framesDecoded());
  const liveState = async () => (await (await fetch(`${base}/api/live/${CAMERA}`)).json()) as { state: string; reason?: string };
  const leave = (location: string) =>
    fetch(`${base}${location}`, { method: 'DELETE', headers: { authorization: `Bearer ${issueStreamToken(SECRET, 'alice')}` } });
  const copies = () => processesWith(`rtp://127.0.0.1:${range.portMin}`);

  it('plays the camera in Chromium, copied on demand and stopped with its ports after the last viewer leaves', async () => {
    const { mqtt } = await load(camera.url('main'));
    assert.deepEqual(copies(), [], 'nothing is copied while nobody watches');
    const joined = await watch();
    assert.equal(joined.status, 201, joined.body);
    await waitFor('frames decoded in the page', async () => ((await framesDecoded()) >= 25 ? true : undefined), 30_000);
    assert.equal((await liveState()).state, 'playing');
    // Not a VBC01: nothing over MQTT, no RTCP/REMB back to the copy, its own SSRC accepted, nothing dropped.
    assert.deepEqual(mqtt.msgs, [], 'no stream/play or keepalive');
    const { streams } = (await (await fetch(`${base}/api/live/`)).json()) as { streams: Array<{ stats: Record<string, number> }> };
    const stats = streams[0]!.stats;
    assert.deepEqual([stats.rembSent, stats.keyframeRequests, stats.spoofed], [0, 0, 0]);
    assert.ok((stats.packets ?? 0) > 0);
    // The copy runs, its login kept off the command line (read from stdin).
    const running = copies();
    assert.equal(running.length, 1, 'one ffmpeg copy');
    assert.ok(!running[0]!.includes(PASSWORD) && !running[0]!.includes(encodeURIComponent(PASSWORD)), running[0]);
    assert.ok(!running[0]!.includes(`${camera.port}`), 'not even the camera URL is on the command line');

    assert.equal((await leave(joined.location!)).status, 204);
    await waitFor('the copy gone after the grace time', async () => (copies().length === 0 ? true : undefined));
    assert.equal((await liveState()).state, 'stopped');
    // The state says stopped at once; the stream's sockets close right after.
    await waitFor('the stream ports released', async () => {
      for (let p = range.portMin; p <= range.portMax; p++) if (!(await udpPortFree(p))) return undefined;
      return true;
    });
  });

  it('restarts the copy when the camera drops, and the page decodes again', async () => {
    await load(camera.url('main'));
    assert.equal((await watch()).status, 201);
    await waitFor('frames decoded', async () => ((await framesDecoded()) >= 10 ? true : undefined), 30_000);
    const [first] = copies();
    assert.ok(first, 'the copy runs');
    await camera.kill();
    await waitFor('the copy ended with the camera', async () => (copies().includes(first) ? undefined : true), 30_000);
    await camera.start();
    await waitFor('a new copy', async () => (copies().length === 1 ? true : undefined), 30_000);
    await waitFor('video again', async () => ((await liveState()).state === 'playing' ? true : undefined), 30_000);
    const decoded = await framesDecoded();
    await waitFor('frames decoded after the restart', async () => ((await framesDecoded()) > decoded + 10 ? true : undefined), 30_000);
  });

  it('stops the copy and frees its ports on redeploy', async () => {
    await load(camera.url('main'));
    assert.equal((await watch()).status, 201);
    await waitFor('the copy running', async () => (copies().length === 1 ? true : undefined), 30_000);
    await helper.unload();
    assert.deepEqual(copies(), [], 'no ffmpeg left once the node has closed');
    for (let p = range.portMin; p <= range.portMax; p++) assert.ok(await udpPortFree(p), `UDP port ${p} is released`);
  });

  for (const [what, source, login, reason] of [
    [
      'a wrong password',
      () => camera.url('main'),
      { rtspUser: 'admin', rtspPassword: 'not-the-password' },
      /^wrong user or password for 127\.0\.0\.1:\d+\/main/,
    ],
    ['a wrong path', () => camera.url('nope'), { rtspUser: 'admin', rtspPassword: PASSWORD }, /no such stream at 127\.0\.0\.1:\d+\/nope/],
    [
      'nothing listening',
      async () => `rtsp://127.0.0.1:${await freePort()}/main`,
      { rtspUser: 'admin', rtspPassword: PASSWORD },
      /^nothing listens at 127\.0\.0\.1:\d+\/main/,
    ],
  ] as const) {
    it(`says why in one line for ${what}, without the password`, async () => {
      await load(await source(), {}, login);
      const refused = await watch();
      assert.equal(refused.status, 503);
      const error = (JSON.parse(refused.body!) as { error: string }).error;
      assert.match(error, reason);
      const state = await liveState();
      assert.equal(state.state, 'failed');
      assert.equal(state.reason, error);
      for (const text of [error, JSON.stringify(state)]) {
        assert.ok(!text.includes('\n'), 'one line');
        assert.ok(!text.includes(login.rtspPassword) && !text.includes(encodeURIComponent(login.rtspPassword)), text);
      }
      assert.deepEqual(copies(), [], 'the failed copy is not left running');
    });
  }

  it('says so for a source URL with the login in it, and keeps that login out of the reason', async () => {
    const port = camera.port;
    await load(`rtsp://admin:${encodeURIComponent('wrong/pass@x')}@127.0.0.1:${port}/main`, {}, { rtspUser: '', rtspPassword: '' });
    const refused = await watch();
    assert.equal(refused.status, 503);
    assert.match(refused.body!, /wrong user or password/);
    assert.ok(!refused.body!.includes('wrong/pass') && !refused.body!.includes(encodeURIComponent('wrong/pass@x')), refused.body);
  });
});
