/**
 * The live bridge against a camera on the wire (test/support/rtp-camera.ts:
 * RTP from one socket, sender reports from another, and what the bridge
 * sends back recorded as the camera receives it): receiver reports and REMB
 * arrive at the camera's RTCP port at the start value, the REMB falls under
 * injected loss down to the floor and rises back to the start after, a
 * spoofed packet (another source port, another SSRC) is dropped and
 * counted, stall/resume, the ffmpeg-copy mode sends no RTCP, ports are free
 * again after close, and an exhausted range is a clear error.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { afterEach, describe, it } from 'node:test';
import type { LiveStream, LiveStreamOptions } from '../../../../nodes/lib/live/bridge-types';
import { LiveBridge } from '../../../../nodes/lib/live/rtp-bridge';
import { RtpTestCamera, udpPortRange, VBC01_VIDEO_SSRC } from '../../../support/rtp-camera';
import { waitFor } from '../../../support/wait';

const STREAM: LiveStreamOptions = {
  cameraId: 'cam-1',
  videoSsrc: VBC01_VIDEO_SSRC,
  rembStartBps: 2_000_000,
  rembFloorBps: 500_000,
  stallAfterMs: 400,
  sendRtcp: true,
};

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function started(opts: Partial<LiveStreamOptions> = {}): Promise<{ bridge: LiveBridge; stream: LiveStream; camera: RtpTestCamera }> {
  const bridge = new LiveBridge(udpPortRange(4));
  cleanup.push(() => bridge.close());
  const stream = await bridge.open({ ...STREAM, rtcpIntervalMs: 100, ...opts } as LiveStreamOptions);
  const camera = new RtpTestCamera({ rtpPort: stream.ports.videoRtp });
  cleanup.push(() => camera.close());
  await camera.start();
  return { bridge, stream, camera };
}

const until = (what: string, ok: () => boolean, timeoutMs?: number): Promise<true> =>
  waitFor(what, async () => (ok() ? true : undefined), timeoutMs);

describe('the live bridge towards the camera', () => {
  it('sends receiver reports and REMB at the start value to where the camera sends RTCP from', async () => {
    const { stream, camera } = await started();
    await until('five REMBs at the camera', () => camera.rembs.length >= 5);
    assert.ok(
      camera.rembs.every((bps) => bps === 2_000_000),
      `REMB values ${camera.rembs.join(',')}`,
    );
    const rr = camera.receiverReports.at(-1)!;
    assert.equal(rr.reports[0]?.ssrc, VBC01_VIDEO_SSRC);
    assert.ok(rr.reports[0]!.lsr !== 0, 'the RR echoes the camera sender report (LSR)');
    const stats = stream.stats();
    assert.equal(stats.state, 'playing');
    assert.ok(stats.rembSent >= 5 && stats.lastRembBps === 2_000_000);
    assert.ok(stats.packets > 0 && stats.bytes > 0 && stats.bitrateBps > 0);
    assert.equal(stats.lost, 0);
  });

  it('lowers the REMB under loss, never below the floor, and raises it back to the start after', async () => {
    const { stream, camera } = await started();
    await until('REMB at the start value', () => camera.rembs.at(-1) === 2_000_000);
    camera.dropShare = 0.2;
    await until('REMB down to the floor', () => camera.rembs.at(-1) === 500_000, 30_000);
    assert.ok(
      camera.receiverReports.some((rr) => (rr.reports[0]?.fractionLost ?? 0) > 0),
      'the RR reports the loss',
    );
    assert.ok(stream.stats().lost > 0);
    const duringLoss = camera.rembs.length;
    await until('a few more REMBs under loss', () => camera.rembs.length >= duringLoss + 5);
    assert.ok(Math.min(...camera.rembs) >= 500_000, 'never below the floor');
    camera.dropShare = 0;
    await until('REMB back at the start value', () => camera.rembs.at(-1) === 2_000_000, 30_000);
    assert.ok(Math.max(...camera.rembs) <= 2_000_000, 'never above the start');
  });

  it('drops and counts packets from another source port or address, with another SSRC, or on the audio port of a stream without audio', async () => {
    const { stream, camera } = await started();
    await until('camera packets', () => stream.stats().packets > 10);
    camera.pause();
    // Packets the camera sent just before the pause may still be on their way: let them land first.
    let last = -1;
    await until('no more camera packets', () => {
      const settled = stream.stats().packets === last;
      last = stream.stats().packets;
      return settled;
    });
    const before = stream.stats();
    const intruder = createSocket('udp4');
    cleanup.push(() => intruder.close());
    await new Promise<void>((r) => intruder.bind(0, '127.0.0.1', r));
    intruder.send(camera.packet(), stream.ports.videoRtp, '127.0.0.1'); // right SSRC, wrong source port
    camera.rtp.send(camera.packet(12345), stream.ports.videoRtp, '127.0.0.1'); // right source, wrong SSRC
    camera.rtp.send(camera.packet(), stream.ports.audioRtp, '127.0.0.1'); // audio to a stream without audio
    // right SSRC and source port, another address (127.0.0.2 is loopback too on Linux)
    const elsewhere = createSocket('udp4');
    cleanup.push(() => elsewhere.close());
    await new Promise<void>((r) => elsewhere.bind(camera.rtp.address().port, '127.0.0.2', r));
    elsewhere.send(camera.packet(), stream.ports.videoRtp, '127.0.0.1');
    await until('four spoofed packets counted', () => stream.stats().spoofed === before.spoofed + 4);
    assert.equal(stream.stats().packets, before.packets, 'neither was accepted');
  });

  it('emits stall when the video stops and resume when it comes back', async () => {
    const { stream, camera } = await started();
    const events: string[] = [];
    stream.on('stall', () => events.push('stall'));
    stream.on('resume', () => events.push('resume'));
    await until('playing', () => stream.stats().state === 'playing');
    camera.pause();
    await until('stalled', () => events.includes('stall'));
    assert.equal(stream.stats().state, 'stalled');
    camera.resume();
    await until('resumed', () => events.includes('resume'));
    assert.deepEqual(events, ['stall', 'resume']);
    assert.equal(stream.stats().state, 'playing');
  });

  it('sends no RTCP at all in the ffmpeg-copy mode (sendRtcp false)', async () => {
    const { stream, camera } = await started({ sendRtcp: false });
    await until('20 RTCP intervals of packets', () => stream.stats().packets > 400);
    assert.equal(camera.received.length, 0);
    assert.equal(stream.stats().rembSent, 0);
  });

  it('learns the camera from its first packet and tells the driver', async () => {
    const bridge = new LiveBridge(udpPortRange(2));
    cleanup.push(() => bridge.close());
    const stream = await bridge.open(STREAM);
    const first = new Promise<{ address: string; port: number }>((r) => stream.once('first-packet', r));
    const camera = new RtpTestCamera({ rtpPort: stream.ports.videoRtp });
    cleanup.push(() => camera.close());
    await camera.start();
    const learned = await first;
    assert.equal(learned.address, '127.0.0.1');
    assert.equal(learned.port, (camera.rtp.address() as { port: number }).port);
  });

  it('takes a restarted local sender (new port, same SSRC) only after forgetSource', async () => {
    const { stream, camera } = await started({ sendRtcp: false });
    await until('camera packets', () => stream.stats().packets > 10);
    camera.pause(); // the copy's ffmpeg ended
    const restarted = new RtpTestCamera({ rtpPort: stream.ports.videoRtp });
    cleanup.push(() => restarted.close());
    await restarted.start();
    await until('its packets dropped as spoofed (another source port)', () => stream.stats().spoofed > 5);
    stream.forgetSource();
    const accepted = stream.stats().packets;
    await until('its packets accepted after forgetSource', () => stream.stats().packets > accepted + 10);
  });
});

describe('the live bridge ports', () => {
  it('takes RTP on even ports with RTCP on the next, and frees all of them on close', async () => {
    const bridge = new LiveBridge(udpPortRange(2));
    const stream = await bridge.open(STREAM);
    const { videoRtp, videoRtcp, audioRtp, audioRtcp } = stream.ports;
    assert.equal(videoRtp % 2, 0);
    assert.equal(audioRtp % 2, 0);
    assert.deepEqual([videoRtcp, audioRtcp], [videoRtp + 1, audioRtp + 1]);
    assert.equal(bridge.streams().length, 1);
    await bridge.close();
    assert.equal(bridge.streams().length, 0);
    for (const port of [videoRtp, videoRtcp, audioRtp, audioRtcp]) {
      const s = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(port, '0.0.0.0', resolve);
      });
      s.close();
    }
  });

  it('says clearly when the range is used up, and has room again once a stream closes', async () => {
    const range = udpPortRange(2); // one stream: a video and an audio pair
    const bridge = new LiveBridge(range);
    cleanup.push(() => bridge.close());
    const first = await bridge.open(STREAM);
    await assert.rejects(
      bridge.open({ ...STREAM, cameraId: 'cam-2' }),
      new RegExp(`no free UDP port pair left in ${range.portMin}-${range.portMax}`),
    );
    assert.equal(bridge.streams().length, 1, 'the failed open left nothing behind');
    await first.close();
    const again = await bridge.open({ ...STREAM, cameraId: 'cam-2' });
    assert.equal(again.ports.videoRtp, first.ports.videoRtp);
  });

  it('refuses a bad range or bad stream options with the reason', async () => {
    assert.throws(() => new LiveBridge({ portMin: 5000, portMax: 5000 }), /bad UDP port range 5000-5000/);
    const bridge = new LiveBridge(udpPortRange(2));
    cleanup.push(() => bridge.close());
    await assert.rejects(bridge.open({ ...STREAM, videoSsrc: -1 }), /videoSsrc must be a 32-bit unsigned integer/);
    await assert.rejects(bridge.open({ ...STREAM, rembStartBps: 100, rembFloorBps: 500 }), /bad REMB limits/);
    assert.equal(bridge.streams().length, 0);
  });
});
