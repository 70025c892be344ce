/**
 * A live stream between a camera on the wire (test/support/rtp-camera.ts)
 * and WebRTC viewers. The viewer here is werift's own RTCPeerConnection as a
 * WHEP client, because it lets the test see every RTP packet a viewer gets
 * and send the RTCP a browser sends (the Chromium test, whep-viewer.test.ts,
 * proves real decoding). Each viewer's first packet starts a keyframe; a
 * viewer's PLI and a NACK for a packet the bridge never got reach the camera;
 * a NACK for a packet the bridge has does not (answered from werift's
 * history); the camera's audio is passed on; closing the stream closes its
 * viewers.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  GenericNack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpTransportLayerFeedback,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import type { LiveBridgeOptions, LiveStream, LiveStreamOptions } from '../../../../nodes/lib/live/bridge-types';
import { LiveBridge } from '../../../../nodes/lib/live/rtp-bridge';
import { RtpTestCamera, udpPortRange, VBC01_AUDIO_SSRC, VBC01_VIDEO_SSRC } from '../../../support/rtp-camera';
import { waitFor } from '../../../support/wait';

const STREAM: LiveStreamOptions = {
  cameraId: 'cam-1',
  videoSsrc: VBC01_VIDEO_SSRC,
  rembStartBps: 2_000_000,
  rembFloorBps: 500_000,
  stallAfterMs: 2000,
  sendRtcp: true,
};

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const until = (what: string, ok: () => boolean, timeoutMs?: number): Promise<true> =>
  waitFor(what, async () => (ok() ? true : undefined), timeoutMs);

/** A WHEP client: offers recvonly H.264 (and Opus), records the packets it gets. */
class TestViewer {
  readonly pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    // werift as an offerer otherwise opens a transport per m-line and never closes the one BUNDLE drops
    bundlePolicy: 'max-bundle',
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/H264',
          clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
          parameters: 'packetization-mode=1;profile-level-id=42e01f',
        }),
      ],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
    },
  });
  readonly video: RTCRtpTransceiver = this.pc.addTransceiver('video', { direction: 'recvonly' });
  readonly audio: RTCRtpTransceiver = this.pc.addTransceiver('audio', { direction: 'recvonly' });
  readonly videoPackets: RtpPacket[] = [];
  readonly audioPackets: RtpPacket[] = [];
  answerSdp = '';

  constructor() {
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => (track.kind === 'video' ? this.videoPackets : this.audioPackets).push(rtp));
    });
  }

  async join(stream: LiveStream): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const answer = await stream.addViewer(this.pc.localDescription!.sdp);
    this.answerSdp = answer.sdp;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    return answer.viewerId;
  }

  get videoSsrc(): number {
    return this.videoPackets[0]!.header.ssrc;
  }

  nack(lost: number[]): Promise<unknown> {
    const feedback = new GenericNack({ senderSsrc: 1, mediaSourceSsrc: this.videoSsrc, lost });
    return this.video.receiver.dtlsTransport.sendRtcp([new RtcpTransportLayerFeedback({ feedback })]);
  }
}

async function setup(
  opts: Partial<LiveStreamOptions> = {},
  bridgeOpts: Partial<LiveBridgeOptions> = {},
): Promise<{ stream: LiveStream; camera: RtpTestCamera }> {
  const bridge = new LiveBridge({ ...udpPortRange(2), ...bridgeOpts });
  cleanup.push(() => bridge.close());
  const stream = await bridge.open({ ...STREAM, rtcpIntervalMs: 200, ...opts } as LiveStreamOptions);
  const camera = new RtpTestCamera({ rtpPort: stream.ports.videoRtp });
  cleanup.push(() => camera.close());
  await camera.start();
  await until('camera packets', () => stream.stats().packets > 0);
  // our RTCP goes to the camera's RTCP source once it has sent one; wait until that path is in use
  if (stream.stats().packets > 0 && (opts.sendRtcp ?? true)) await until('RTCP at the camera', () => camera.received.length > 0);
  return { stream, camera };
}

function viewer(): TestViewer {
  const v = new TestViewer();
  cleanup.push(() => v.pc.close());
  return v;
}

const isKeyframeStart = (rtp: RtpPacket): boolean => (rtp.payload[0]! & 0x1f) === 7;

describe('a live stream and its viewers', () => {
  it('starts every viewer at a keyframe, and asks the camera for one when a viewer joins', async () => {
    const { stream, camera } = await setup();
    const plisBefore = camera.keyframeRequests(1);
    const first = viewer();
    await first.join(stream);
    await until('video at the first viewer', () => first.videoPackets.length > 60);
    assert.ok(isKeyframeStart(first.videoPackets[0]!), 'the first packet a viewer gets starts a keyframe');
    await until('a PLI at the camera', () => camera.keyframeRequests(1) > plisBefore);
    assert.ok(camera.keyframeRequests(4) > 0, 'FIR too, for a camera that only knows FIR');
    const second = viewer();
    await second.join(stream);
    await until('video at the second viewer', () => second.videoPackets.length > 10);
    assert.ok(isKeyframeStart(second.videoPackets[0]!));
    assert.equal(stream.stats().viewers, 2);
    assert.ok(stream.stats().keyframeRequests >= 1);
  });

  it("passes a viewer's keyframe request on to the camera", async () => {
    const { stream, camera } = await setup();
    const v = viewer();
    await v.join(stream);
    await until('video at the viewer', () => v.videoPackets.length > 0);
    const requests = stream.stats().keyframeRequests;
    const plis = camera.keyframeRequests(1);
    // the bridge sends at most one request per 300 ms; the viewer asks until one goes through
    const timer = setInterval(() => void v.video.receiver.sendRtcpPLI(v.videoSsrc), 100);
    cleanup.push(() => clearInterval(timer));
    await until('the viewer PLI at the camera', () => camera.keyframeRequests(1) > plis);
    assert.ok(stream.stats().keyframeRequests > requests);
  });

  it('forwards a NACK for a packet the bridge never got, and answers one it has itself', async () => {
    const { stream, camera } = await setup();
    const v = viewer();
    await v.join(stream);
    await until('video at the viewer', () => v.videoPackets.length > 20);
    const got = v.videoPackets[5]!.header.sequenceNumber;
    await v.nack([got]);
    camera.dropShare = 0.2; // sequence numbers divisible by 5 never leave the camera
    await until('a camera-side gap', () => stream.stats().lost > 2);
    const newest = v.videoPackets.at(-1)!.header.sequenceNumber;
    const missing = newest - (newest % 5);
    await v.nack([missing]);
    await until('the NACK at the camera', () => camera.nacks.some((n) => n.lost.includes(missing)), 10_000);
    assert.ok(!camera.nacks.some((n) => n.lost.includes(got)), 'a packet the bridge has is not asked of the camera again');
  });

  it("passes the camera's audio on to viewers", async () => {
    const { stream } = await setup({ audioSsrc: VBC01_AUDIO_SSRC });
    const mic = new RtpTestCamera({ rtpPort: stream.ports.audioRtp, ssrc: VBC01_AUDIO_SSRC, payloadType: 96, burst: 1 });
    cleanup.push(() => mic.close());
    await mic.start();
    const v = viewer();
    await v.join(stream);
    await until('audio at the viewer', () => v.audioPackets.length > 10);
    assert.deepEqual(
      [...v.audioPackets[0]!.payload.subarray(1, 8)],
      [...mic.packet().subarray(13, 20)],
      'the payload is passed on as it came',
    );
  });

  it('closes its viewers when it closes', async () => {
    const { stream } = await setup();
    const v = viewer();
    await v.join(stream);
    await until('video at the viewer', () => v.videoPackets.length > 0);
    await stream.close();
    await stream.close(); // safe twice
    assert.equal(stream.stats().viewers, 0);
    assert.equal(stream.stats().state, 'closed');
    await assert.rejects(stream.addViewer('v=0'), /closed/);
  });

  it('offers browsers the public address (iceAddress) on the ICE port range, and still connects on the private one', async () => {
    const { portMin } = udpPortRange(1);
    const icePortRange: [number, number] = [portMin + 1000, portMin + 1100];
    const { stream } = await setup({}, { iceAddress: '203.0.113.7', icePortRange });
    const v = viewer();
    await v.join(stream);
    const pub = /^a=candidate:\S+ 1 udp \d+ 203\.0\.113\.7 (\d+) typ host/m.exec(v.answerSdp);
    assert.ok(pub, `a candidate with the public address in:\n${v.answerSdp}`);
    const port = Number(pub[1]);
    assert.ok(port >= icePortRange[0] && port <= icePortRange[1], `port ${port} in the ICE range`);
    assert.match(
      v.answerSdp,
      new RegExp(`^a=candidate:\\S+ 1 udp \\d+ (?!203\\.0\\.113\\.7)\\S+ ${port} typ host`, 'm'),
      'the same port on a private address',
    );
    await until('video at the viewer', () => v.videoPackets.length > 0);
  });

  it('gives viewers joining at once each its own port of the ICE range, and video to all of them', async () => {
    // werift finds a port by binding and closing each one of the range, then binds the one it found:
    // viewers gathering at about the same time (a millisecond apart here) must not pick the same one.
    const { portMin } = udpPortRange(1);
    const icePortRange: [number, number] = [portMin + 1000, portMin + 1019];
    const { stream } = await setup({}, { icePortRange });
    const viewers = Array.from({ length: 12 }, () => viewer());
    await Promise.all(viewers.map((v, i) => new Promise((r) => setTimeout(r, i)).then(() => v.join(stream))));
    const ports = viewers.map((v) => Number(/^a=candidate:\S+ 1 udp \d+ \S+ (\d+) typ host/m.exec(v.answerSdp)?.[1]));
    for (const port of ports) assert.ok(port >= icePortRange[0] && port <= icePortRange[1], `port ${port} in the ICE range`);
    assert.equal(new Set(ports).size, ports.length, `one port each: ${ports.join(', ')}`);
    await until('video at every viewer', () => viewers.every((v) => v.videoPackets.length > 0), 30_000);
  });

  it('uses a local iceAddress as a host address of its own', async () => {
    const { stream } = await setup({}, { iceAddress: '127.0.0.1' });
    const v = viewer();
    await v.join(stream);
    assert.match(v.answerSdp, /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/m);
    await until('video at the viewer', () => v.videoPackets.length > 0);
  });

  it('removes a viewer whose browser took its answer but never connected', async () => {
    const { stream } = await setup({ viewerConnectTimeoutMs: 300 } as Partial<LiveStreamOptions>);
    const counts: number[] = [];
    stream.on('viewers', (n: number) => counts.push(n));
    const gone = viewer();
    await gone.pc.setLocalDescription(await gone.pc.createOffer());
    await stream.addViewer(gone.pc.localDescription!.sdp); // the answer is never applied
    assert.equal(stream.stats().viewers, 1);
    await until('the viewer removed', () => stream.stats().viewers === 0);
    assert.deepEqual(counts, [1, 0]);
  });

  it('removes a viewer whose browser went away without a WHEP DELETE', async () => {
    const { stream } = await setup({ viewerConnectTimeoutMs: 500 } as Partial<LiveStreamOptions>);
    const v = viewer();
    await v.join(stream);
    await until('video at the viewer', () => v.videoPackets.length > 0);
    await v.pc.close();
    // werift notices through ICE consent freshness (RFC 7675: about 30 s without answers)
    await until('the viewer removed', () => stream.stats().viewers === 0, 60_000);
  });
});
