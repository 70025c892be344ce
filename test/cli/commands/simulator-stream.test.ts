/**
 * The simulated VBC01's livestream against a UDP "media server" in the test,
 * with real ffmpeg: it streams H.264 with the SSRC and payload type of the
 * answer, adapts to REMB, answers a PLI with a keyframe, stops without RTCP,
 * and refuses an answer a real camera would not be given.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { SimulatedVbcStreamer, type StreamerOptions } from '../../../cli/commands/simulator-stream';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { FakeMediaServer, pli, receiverReport, remb, vbc01Answer, VIDEO_SSRC } from '../../support/vbc01-rtp';
import { isAlive } from '../../support/processes';
import { waitFor } from '../../support/wait';

const running: Array<{ streamer: SimulatedVbcStreamer; server: FakeMediaServer; pids: number[]; rr?: NodeJS.Timeout }> = [];

/** A streamer with a small, cheap picture and a media server; `rtcp`: the server sends a receiver report every 200 ms. */
async function setUp(options: Partial<StreamerOptions> = {}, rtcp = true) {
  const server = await FakeMediaServer.start();
  const logs: string[] = [];
  const streamer = new SimulatedVbcStreamer({
    name: 'Test Cam',
    log: (l) => logs.push(l),
    ...options,
    encoder: { size: '320x240', fps: 25, ...options.encoder },
  });
  const t = { streamer, server, logs, pids: [] as number[], rr: undefined as NodeJS.Timeout | undefined };
  streamer.on('encoder', (pid: number) => t.pids.push(pid));
  if (rtcp) t.rr = setInterval(() => server.camera && server.sendRtcp(receiverReport(server.packets.at(-1)?.sequence ?? 0)), 200);
  running.push(t);
  return t;
}

afterEach(async () => {
  for (const t of running.splice(0)) {
    clearInterval(t.rr);
    await t.streamer.close();
    await t.server.close();
    assert.deepEqual(t.pids.filter(isAlive), [], 'no ffmpeg left');
  }
});

/** ffprobe's view of an Annex-B H.264 stream: its first stream's fields, and what it complained about. */
function ffprobe(annexB: Buffer) {
  const entries = 'stream=codec_name,profile,width,height,nb_read_frames';
  const args = ['-v', 'error', '-f', 'h264', '-count_frames', '-show_entries', entries, '-of', 'json', '-'];
  return spawnSync('ffprobe', args, { input: annexB });
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

describe('simulated VBC01 streamer', { skip: skipWithoutFfmpeg }, () => {
  it('streams H.264 to the answer: its SSRC, the payload type of m=video, SPS/PPS/IDR first, decodable, with sender reports', async () => {
    const { streamer, server } = await setUp();
    assert.equal(streamer.play('stream-1', vbc01Answer({ ...server.ports, videoPayloadType: 96 })), true);
    await waitFor('50 pictures', async () => (server.packets.filter((p) => p.marker).length >= 50 ? true : undefined));
    assert.ok(server.packets.every((p) => p.ssrc === VIDEO_SSRC && p.payloadType === 96));
    assert.deepEqual(server.nalTypes.slice(0, 2), [7, 8], 'SPS, PPS');
    assert.ok(server.nalTypes.slice(2, 5).includes(5), 'then an IDR slice');
    // One timestamp per picture: a new one only after a packet with the marker bit.
    for (let i = 1; i < server.packets.length; i++) {
      const [a, b] = [server.packets[i - 1]!, server.packets[i]!];
      assert.equal(b.sequence, (a.sequence + 1) & 0xffff, 'no gap in sequence numbers');
      if (!a.marker) assert.equal(b.timestamp, a.timestamp, 'packets of one picture share its timestamp');
    }
    const probe = ffprobe(server.annexB());
    const [stream] = (JSON.parse(probe.stdout.toString()) as { streams: Array<Record<string, string | number>> }).streams;
    assert.equal(stream?.codec_name, 'h264');
    assert.match(String(stream?.profile), /Baseline/);
    assert.deepEqual([stream?.width, stream?.height], [320, 240]);
    assert.ok(Number(stream?.nb_read_frames) >= 40, `decoded ${stream?.nb_read_frames} frames`);
    await waitFor('a sender report on the a=rtcp port', async () => (server.senderReports > 0 ? true : undefined));
    const stats = streamer.stats();
    assert.equal(stats.state, 'streaming');
    assert.equal(stats.bitrateBps, 2_000_000, 'starts at 2,000 kbit/s');
    assert.ok(stats.rtcpReceived > 0, 'reads the RTCP sent back to where its packets come from');
  });

  it('re-encodes under a REMB below its bitrate, and goes back up when the REMB rises', async () => {
    const { streamer, server } = await setUp();
    const rembs: number[] = [];
    streamer.on('remb', (bps: number) => rembs.push(bps));
    streamer.play('stream-2', vbc01Answer(server.ports));
    await waitFor('video', async () => (server.camera ? true : undefined));

    server.sendRtcp(remb(400_000));
    await waitFor('the 400 kbit/s encoder sending', async () => (streamer.stats().bitrateBps === 400_000 ? true : undefined));
    await waitFor('the old encoder gone', async () => (streamer.stats().encoderPids.length === 1 ? true : undefined));
    const [low] = streamer.stats().encoderPids;
    assert.deepEqual(cmdline(low!).slice(cmdline(low!).indexOf('-b:v'), cmdline(low!).indexOf('-b:v') + 2), ['-b:v', '400k']);

    // Kurento's REMB starts at 5 Mbit/s: the camera goes back to its own 2,000 kbit/s, no higher.
    server.sendRtcp(remb(5_000_000));
    await waitFor('back at 2,000 kbit/s', async () => (streamer.stats().bitrateBps === 2_000_000 ? true : undefined));
    const stats = streamer.stats();
    assert.equal(stats.rembCount, 2);
    assert.equal(rembs.length, 2);
    assert.ok(Math.abs(rembs[0]! - 400_000) < 400_000 * 0.001 && Math.abs(rembs[1]! - 5_000_000) < 5_000_000 * 0.001, `${rembs}`);
    assert.deepEqual(stats.rembValuesBps, rembs);
    assert.equal(stats.encoderRestarts, 2);
    assert.ok(stats.keyframesSent >= 3, 'each new encoder starts with a keyframe');
    await waitFor('pictures from the last encoder', async () =>
      server.packets.length > 0 && streamer.stats().framesSent > stats.framesSent + 10 ? true : undefined,
    );
    const probe = ffprobe(server.annexB());
    assert.equal(probe.stderr.toString(), '', 'the stream decodes across both switches without an error');
    assert.ok(server.nalTypes.filter((t) => t === 7).length >= 3, 'an SPS at each switch');
  });

  it('a small REMB change upward does not restart the encoder', async () => {
    const { streamer, server } = await setUp();
    streamer.play('stream-3', vbc01Answer(server.ports));
    await waitFor('video', async () => (server.camera ? true : undefined));
    server.sendRtcp(remb(1_000_000));
    await waitFor('1,000 kbit/s', async () => (streamer.stats().bitrateBps === 1_000_000 ? true : undefined));
    server.sendRtcp(remb(1_150_000)); // +15 %: under the 20 % that is worth a restart
    await waitFor('the REMB read', async () => (streamer.stats().rembCount === 2 ? true : undefined));
    assert.equal(streamer.stats().encoderRestarts, 1);
    assert.equal(streamer.stats().bitrateBps, 1_000_000);
  });

  it('answers a PLI with a keyframe at once, not at the next one of its GOP', async () => {
    const { streamer, server } = await setUp({ encoder: { gop: 100_000 } });
    streamer.play('stream-4', vbc01Answer(server.ports));
    await waitFor('video', async () => (server.nalTypes.length > 5 ? true : undefined));
    assert.equal(server.nalTypes.filter((t) => t === 7).length, 1, 'one SPS so far');
    server.sendRtcp(pli());
    await waitFor('a second SPS and IDR', async () => (server.nalTypes.filter((t) => t === 7).length === 2 ? true : undefined));
    assert.equal(streamer.stats().keyframeRequests, 1);
    assert.equal(streamer.stats().bitrateBps, 2_000_000, 'same bitrate');
  });

  it('drops the share of packets it is told to, as a lossy network would, and stops dropping when told', async () => {
    const { streamer, server } = await setUp({ loss: 0.3 });
    assert.throws(() => streamer.setLoss(1.5), /loss is a share from 0 to 1/);
    streamer.play('stream-loss', vbc01Answer(server.ports));
    await waitFor('20 packets dropped', async () => (streamer.stats().packetsDropped >= 20 ? true : undefined));
    streamer.setLoss(0);
    const dropped = streamer.stats().packetsDropped;
    const seen = server.packets.length;
    await waitFor('50 more packets', async () => (server.packets.length >= seen + 50 ? true : undefined));
    assert.equal(streamer.stats().packetsDropped, dropped, 'no more drops');
    const gaps = server.packets.slice(1).filter((p, i) => p.sequence !== ((server.packets[i]!.sequence + 1) & 0xffff));
    assert.ok(gaps.length > 0, 'the server sees sequence gaps');
  });

  it('stops by itself when no RTCP comes back, leaving no ffmpeg', async () => {
    const { streamer, server, pids, logs } = await setUp({ rtcpTimeoutMs: 1500 }, false);
    const stopped = new Promise<{ reason: string }>((resolve) => streamer.once('stopped', resolve));
    streamer.play('stream-5', vbc01Answer(server.ports));
    assert.equal((await stopped).reason, 'rtcp-timeout');
    assert.ok(server.packets.length > 0, 'it had been streaming');
    assert.deepEqual(pids.filter(isAlive), []);
    assert.equal(streamer.stats().state, 'idle');
    assert.equal(streamer.stats().stopReason, 'rtcp-timeout');
    assert.ok(logs.some((l) => /no RTCP from the server for 1\.5 s/.test(l)));
  });

  it('keeps streaming past the time-out while RTCP comes back', async () => {
    const { streamer, server } = await setUp({ rtcpTimeoutMs: 2000 });
    streamer.play('stream-6', vbc01Answer(server.ports));
    // 30 receiver reports 200 ms apart span three time-outs.
    await waitFor('30 receiver reports read', async () => (streamer.stats().rtcpReceived >= 30 ? true : undefined));
    assert.equal(streamer.stats().state, 'streaming');
  });

  for (const [what, edit, reason] of [
    ['without a=direction:passive', (s: string) => s.replace('a=recvonly\r\na=direction:passive', 'a=recvonly'), /direction:passive/],
    [
      'with the wrong x-skl-ssrcv line',
      (s: string) => s.replace('a=x-skl-ssrcv:1607797317', 'a=x-skl-ssrcv:12345'),
      /x-skl-ssrcv:1607797317/,
    ],
  ] as const)
    it(`refuses an answer ${what} with a clear reason, and sends nothing`, async () => {
      const { streamer, server, pids, logs } = await setUp();
      const rejected = new Promise<string>((resolve) => streamer.once('rejected', resolve));
      assert.equal(streamer.play('stream-7', edit(vbc01Answer(server.ports))), false);
      assert.match(await rejected, reason);
      assert.match(streamer.stats().rejectedReason ?? '', reason);
      assert.equal(streamer.stats().state, 'idle');
      assert.deepEqual(pids, [], 'no encoder started');
      assert.ok(logs.some((l) => /stream\/play stream-7 rejected, not streaming: /.test(l)));
    });

  it('stream/stop ends the stream and its ffmpeg; a new streamId replaces the old stream', async () => {
    const { streamer, server, pids } = await setUp();
    streamer.command('play', { streamId: 'a', sdpOffer: vbc01Answer(server.ports), messageType: 'play' });
    await waitFor('video', async () => (server.camera ? true : undefined));
    streamer.command('keepalive', { streamId: 'a', keepaliveCount: 0, messageType: 'keepalive' });
    streamer.command('keepalive', { streamId: 'other', keepaliveCount: 0, messageType: 'keepalive' });
    assert.equal(streamer.stats().keepalives, 1, "only its own stream's keepalives count");

    const replaced = new Promise<{ streamId: string; reason: string }>((resolve) => streamer.once('stopped', resolve));
    streamer.command('play', { streamId: 'b', sdpOffer: vbc01Answer(server.ports), messageType: 'play' });
    assert.deepEqual(await replaced, { streamId: 'a', reason: 'replaced' });
    await waitFor('stream b sending', async () =>
      streamer.stats().streamId === 'b' && streamer.stats().packetsSent > 0 ? true : undefined,
    );

    streamer.command('stop', { streamId: 'a', messageType: 'stop' });
    assert.equal(streamer.stats().state, 'streaming', 'a stop for the old stream leaves the new one');
    const stopped = new Promise<{ streamId: string; reason: string }>((resolve) => streamer.once('stopped', resolve));
    streamer.command('stop', { streamId: 'b', messageType: 'stop' });
    assert.deepEqual(await stopped, { streamId: 'b', reason: 'stream/stop' });
    assert.equal(pids.length, 2);
    assert.deepEqual(pids.filter(isAlive), []);
  });

  it('counts sends the network refuses and logs them once, not once a packet', async () => {
    const { streamer, server, logs } = await setUp();
    // The broadcast address: the socket refuses (EACCES) every send without SO_BROADCAST.
    streamer.play('stream-8', vbc01Answer({ ...server.ports, address: '255.255.255.255' }));
    await waitFor('20 refused sends', async () => (streamer.stats().sendErrors >= 20 ? true : undefined));
    assert.equal(logs.filter((l) => /sending to 255\.255\.255\.255: .*EACCES/.test(l)).length, 1, logs.join('\n'));
  });

  it('stops and says why when its encoder cannot start', async () => {
    const { streamer, server, logs } = await setUp({ encoder: { ffmpeg: '/nonexistent/ffmpeg' } });
    const stopped = new Promise<{ reason: string }>((resolve) => streamer.once('stopped', resolve));
    streamer.play('stream-9', vbc01Answer(server.ports));
    assert.equal((await stopped).reason, 'encoder-failed');
    assert.ok(
      logs.some((l) => /ffmpeg could not start \(spawn \/nonexistent\/ffmpeg ENOENT\)/.test(l)),
      logs.join('\n'),
    );
  });

  it('a stream/play without a streamId is rejected', async () => {
    const { streamer, server } = await setUp();
    streamer.command('play', { sdpOffer: vbc01Answer(server.ports) });
    assert.equal(streamer.stats().rejectedReason, 'stream/play has no streamId');
  });
});
