/**
 * The vbc01-live node in a real Node-RED runtime with its real HTTP routes, the bridge an
 * in-memory one that follows nodes/lib/live/bridge-types.ts (test/support/fake-live-bridge.ts;
 * the test plays the camera's packets). What a viewer and the camera would notice: one
 * stream/play however many watch, keepalives from 0 at once and then at the interval, a stop
 * when the last viewer has gone, "the camera did not answer" as a 503 with that reason, WHEP
 * refused without a valid stream token, and everything released on redeploy.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import vbc01Live from '../../../nodes/vbc01-live/vbc01-live';
import { liveConfig } from '../../../nodes/vbc01-live/settings';
import { Ops } from '../../../cli/runtime/ops';
import { issueStreamToken } from '../../../nodes/lib/access/stream-tokens';
import { fakeBridges, type FakeLiveBridge } from '../../support/fake-live-bridge';
import { httpNodeServer } from '../../support/http-node';
import { freePort } from '../../support/ports';
import { waitFor } from '../../support/wait';
import { Collector, helper, node, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const SECRET = 'vbc01-live-test-secret';
const CAMERA = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n';
const http = httpNodeServer('');
const token = () => issueStreamToken(SECRET, 'alice');

interface Answer {
  status: number;
  body: string;
  location: string | null;
  json?: any;
}

async function call(path: string, init: RequestInit = {}): Promise<Answer> {
  await http.fetch('/api/live/'); // starts the server on first use
  const res = await fetchThrough(path, init);
  const body = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: res.status, body, location: res.headers.get('location'), json };
}

/** A request through the runtime's httpNode (httpNodeServer's fetch only GETs). */
let base: string | undefined;
async function fetchThrough(path: string, init: RequestInit): Promise<Response> {
  base ??= new URL((await http.fetch('/api/live/')).url).origin;
  return fetch(`${base}${path}`, init);
}

const whep = (camera = CAMERA, offer = OFFER, auth: string | null = `Bearer ${token()}`) =>
  call(`/api/live/${camera}/whep`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', ...(auth !== null && { authorization: auth }) },
    body: offer,
  });

async function load(props: Record<string, unknown> = {}) {
  const bridges = fakeBridges();
  helper.settings({ credentialSecret: SECRET, picamLiveBridge: bridges.factory });
  await helper.load(
    [vbc01Live, http.expose],
    [
      {
        id: 'live',
        type: 'vbc01-live',
        cameraAddress: '198.51.100.20',
        keepaliveSeconds: 60,
        graceSeconds: 60,
        answerSeconds: 60,
        ...props,
        wires: [['mqtt'], ['states']],
      },
      { id: 'mqtt', type: 'helper' },
      { id: 'states', type: 'helper' },
    ],
  );
  return { bridge: bridges.made[0]!, mqtt: new Collector('mqtt'), states: new Collector('states') };
}

const ofKind = (mqtt: Collector, kind: string) => mqtt.msgs.filter((m) => m.topic.endsWith(`/stream/${kind}`));

/** One viewer joined, the camera streaming: the bridge's stream and the WHEP answer. */
async function watching(bridge: FakeLiveBridge) {
  const answer = whep();
  const stream = await bridge.stream();
  stream.packet();
  return { stream, answer: await answer };
}

describe('vbc01-live', () => {
  it('defaults to the real platform timings: keepalive 15 s, ports 5000-5050, REMB 5 / 0.5 Mbit/s', () => {
    const c = liveConfig({ id: 'x', type: 'vbc01-live', z: '', name: '', cameraAddress: '10.0.0.2' });
    assert.equal(c.timings.keepaliveMs, 15_000);
    assert.deepEqual([c.bridge.portMin, c.bridge.portMax, c.rembStartBps, c.rembFloorBps], [5000, 5050, 5_000_000, 500_000]);
    assert.throws(() => liveConfig({ id: 'x', type: 'vbc01-live', z: '', name: '', portMin: 6000, portMax: 6001 }), /at least 4 ports/);
    assert.throws(() => liveConfig({ id: 'x', type: 'vbc01-live', z: '', name: '', cameraAddress: 'cam.example' }), /IPv4/);
  });

  it("gives the bridge the browsers' ICE ports, any port without them, and refuses a range it cannot use", () => {
    const config = (icePorts?: string) => liveConfig({ id: 'x', type: 'vbc01-live', z: '', name: '', cameraAddress: '10.0.0.2', icePorts });
    assert.deepEqual(config('5100-5199').bridge.icePortRange, [5100, 5199]);
    assert.deepEqual(config(' 6000 - 6000 ').bridge.icePortRange, [6000, 6000]);
    assert.equal(config('').bridge.icePortRange, undefined);
    assert.equal(config().bridge.icePortRange, undefined);
    for (const bad of ['5100', '5199-5100', '80-90', '60000-70000', 'a-b', '5100-5199,5300-5399'])
      assert.throws(() => config(bad), /^Error: icePorts must be a UDP port range "min-max" within 1024-65535/, bad);
    assert.throws(() => config('5040-5100'), /icePorts 5040-5100 overlaps the camera ports 5000-5050/);
  });

  it('asks the camera once for two viewers, with the SDP of the stream it opened, and keeps it alive from keepalive 0', async () => {
    const { bridge, mqtt } = await load({ keepaliveSeconds: 0.1 });
    const first = await watching(bridge);
    assert.equal(first.answer.status, 201, first.answer.body);
    assert.match(first.answer.body, /^v=0\r\n/);
    assert.match(first.answer.location!, new RegExp(`^/api/live/${CAMERA}/whep/viewer-1$`));

    const second = await whep();
    assert.equal(second.status, 201);
    assert.equal(bridge.opened.length, 1, 'one bridge stream');
    assert.equal(ofKind(mqtt, 'play').length, 1, 'one stream/play for two viewers');
    assert.equal(first.stream.stats().viewers, 2);

    const play = ofKind(mqtt, 'play')[0]!;
    assert.equal(play.topic, `prod/honeycomb/${CAMERA}/stream/play`);
    assert.equal(play.action, 'stream-play');
    const ports = first.stream.ports;
    assert.match(play.payload.sdpOffer, new RegExp(`\r\nm=video ${ports.videoRtp} RTP/AVPF 103\r\na=rtcp:${ports.videoRtcp}\r\n`));
    assert.match(play.payload.sdpOffer, new RegExp(`\r\nm=audio ${ports.audioRtp} RTP/AVPF 96 0\r\na=rtcp:${ports.audioRtcp}\r\n`));
    assert.match(play.payload.sdpOffer, /\r\nc=IN IP4 198\.51\.100\.20\r\n/);
    assert.deepEqual(
      [first.stream.options.videoSsrc, first.stream.options.audioSsrc, first.stream.options.sendRtcp],
      [1607797317, 229236353, true],
    );

    // Keepalives: the first right after the play, then one per interval, counted from 0, same stream id.
    const keepalives = await until(
      '4 keepalives',
      () => (ofKind(mqtt, 'keepalive').length >= 4 ? ofKind(mqtt, 'keepalive') : undefined),
      10_000,
    );
    assert.equal(mqtt.msgs.indexOf(keepalives[0]!), mqtt.msgs.indexOf(play) + 1, 'keepalive 0 at once');
    assert.deepEqual(
      keepalives.slice(0, 4).map((k) => k.payload.keepaliveCount),
      [0, 1, 2, 3],
    );
    assert.ok(keepalives.every((k) => k.payload.streamId === play.payload.streamId && k.payload.messageType === 'keepalive'));
    const times = keepalives.slice(0, 4).map((k) => Date.parse(k.payload.creationTimestamp));
    for (let i = 2; i < 4; i++)
      assert.ok(times[i]! - times[i - 1]! >= 90, `keepalive ${i} came ${times[i]! - times[i - 1]!} ms after the one before`);
  });

  it('stops the camera when the last viewer has left, not while one still watches or one rejoins', async () => {
    const { bridge, mqtt, states } = await load({ graceSeconds: 0.2 });
    const { stream, answer } = await watching(bridge);
    const second = await whep();
    await call(answer.location!, { method: 'DELETE', headers: { authorization: `Bearer ${token()}` } });
    assert.equal(stream.stats().viewers, 1);
    const gone = await call(second.location!, { method: 'DELETE', headers: { authorization: `Bearer ${token()}` } });
    assert.equal(gone.status, 204);
    const stop = await until('stream/stop', () => ofKind(mqtt, 'stop')[0], 10_000);
    assert.equal(stop.payload.streamId, ofKind(mqtt, 'play')[0]!.payload.streamId);
    await until('the bridge stream closed', () => stream.closed || undefined);
    const state = await call(`/api/live/${CAMERA}`);
    assert.deepEqual([state.json.state, state.json.reason], ['stopped', 'nobody is watching']);
    assert.ok(states.msgs.some((m) => m.payload.state === 'playing'));
    const keepalivesAtStop = ofKind(mqtt, 'keepalive').length;
    // The next viewer starts a new stream.
    const again = whep();
    (await bridge.stream(2)).packet();
    assert.equal((await again).status, 201);
    assert.equal(ofKind(mqtt, 'play').length, 2);
    assert.equal(ofKind(mqtt, 'keepalive').slice(keepalivesAtStop)[0]!.payload.keepaliveCount, 0, 'a new stream counts from 0 again');
  });

  it('keeps streaming through a page reload within the grace time', async () => {
    const { bridge, mqtt } = await load({ graceSeconds: 60 });
    const { stream, answer } = await watching(bridge);
    await call(answer.location!, { method: 'DELETE', headers: { authorization: `Bearer ${token()}` } });
    const back = await whep();
    assert.equal(back.status, 201);
    assert.equal(bridge.opened.length, 1);
    assert.equal(ofKind(mqtt, 'play').length, 1);
    assert.equal(ofKind(mqtt, 'stop').length, 0);
    assert.equal(stream.stats().viewers, 1);
  });

  it('reports a camera that never sends video as "did not answer": 503 with the reason, stream/stop, the state', async () => {
    const { bridge, mqtt } = await load({ answerSeconds: 0.2 });
    const warnings = spy('live', 'warn');
    const r = await whep();
    assert.equal(r.status, 503);
    assert.match(r.json.error, /^the camera did not answer: no video 0.2 s after stream\/play$/);
    await until('stream/stop', () => ofKind(mqtt, 'stop')[0]);
    assert.ok((await bridge.stream()).closed);
    const state = await call(`/api/live/${CAMERA}`);
    assert.equal(state.json.state, 'failed');
    assert.match(state.json.reason, /did not answer/);
    await until('a warning', () => warnings.find((c) => /did not answer/.test(text(c))));
  });

  it('moves from asking the camera to waiting for video when command-sender reports the play sent', async () => {
    const { bridge, mqtt } = await load();
    const pending = whep();
    await bridge.stream();
    assert.equal((await call(`/api/live/${CAMERA}`)).json.state, 'asking');
    const play = ofKind(mqtt, 'play')[0]!;
    // A report on another command is not ours: nothing changes.
    node('live').receive({ topic: 'command/sent', payload: { id: 'req_1', deviceId: CAMERA, action: 'setmode' } });
    node('live').receive({ topic: 'command/sent', payload: { id: play.payload.requestId, deviceId: CAMERA, action: 'stream-play' } });
    await stateIs('waiting');
    (await bridge.stream()).packet();
    assert.equal((await pending).status, 201);
    await stateIs('playing');
  });

  it('refuses WHEP without a valid stream token (401) and bad offers or ids (400), asking no camera', async () => {
    const { bridge, mqtt } = await load();
    const none = await whep(CAMERA, OFFER, null);
    assert.equal(none.status, 401);
    assert.match(none.json.error, /stream token is required/);
    const forged = await whep(CAMERA, OFFER, 'Bearer 9999999999999.YWxpY2U.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(forged.status, 401);
    assert.match(forged.json.error, /not valid or has expired/);
    const expired = await whep(CAMERA, OFFER, `Bearer ${issueStreamToken(SECRET, 'alice', Date.now() - 3_600_000)}`);
    assert.equal(expired.status, 401);
    const otherSecret = await whep(CAMERA, OFFER, `Bearer ${issueStreamToken('another-secret', 'alice')}`);
    assert.equal(otherSecret.status, 401);

    const notSdp = await whep(CAMERA, '{"sdp": "v=0"}');
    assert.equal(notSdp.status, 400);
    assert.match(notSdp.json.error, /must start with v=0/);
    const noVideo = await whep(CAMERA, 'v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n');
    assert.equal(noVideo.status, 400);
    assert.match(noVideo.json.error, /no video section/);
    const json = await call(`/api/live/${CAMERA}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token()}` },
      body: JSON.stringify({ sdp: OFFER }),
    });
    assert.equal(json.status, 400);
    assert.match(json.json.error, /Content-Type application\/sdp/);
    const badId = await whep('cam%20one');
    assert.equal(badId.status, 400);
    const tooBig = await whep(CAMERA, OFFER + 'a=x'.repeat(30_000));
    assert.equal(tooBig.status, 413);
    const deleteWithout = await call(`/api/live/${CAMERA}/whep/viewer-1`, { method: 'DELETE' });
    assert.equal(deleteWithout.status, 401);

    assert.equal(bridge.opened.length, 0, 'no stream opened');
    assert.equal(mqtt.msgs.length, 0, 'no camera asked');
  });

  it('answers 400 for an offer the bridge cannot answer, and stops the camera it started for it', async () => {
    const { bridge, mqtt } = await load({ graceSeconds: 0.1 });
    const r = whep(CAMERA, 'v=0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=inactive\r\n');
    (await bridge.stream()).packet();
    const answer = await r;
    assert.equal(answer.status, 400);
    assert.match(answer.json.error, /^the offer cannot be answered: bad WHEP offer: the offer receives no video$/);
    await until('stream/stop', () => ofKind(mqtt, 'stop')[0], 10_000);
  });

  it("shows each stream's counters in GET /api/live and /metrics, labelled with its camera", async () => {
    const { bridge } = await load();
    const { stream } = await watching(bridge);
    stream.packet();
    stream.packet();
    const health = await call('/api/live/');
    assert.equal(health.status, 200);
    assert.equal(health.json.streams.length, 1);
    const [one] = health.json.streams;
    assert.deepEqual([one.cameraId, one.state, one.stats.packets, one.stats.viewers, one.keepalivesSent], [CAMERA, 'playing', 3, 1, 1]);
    const metrics = await new Ops({ role: 'cloud', flowsStarted: () => true }).render();
    assert.match(metrics, /^picam_live_streams 1$/m);
    assert.match(metrics, new RegExp(`^picam_live_packets_total\\{camera="${CAMERA}"\\} 3$`, 'm'));
    assert.match(metrics, new RegExp(`^picam_live_viewers\\{camera="${CAMERA}"\\} 1$`, 'm'));
    assert.match(metrics, new RegExp(`^picam_live_remb_sent_total\\{camera="${CAMERA}"\\} 1$`, 'm'));
    assert.match(metrics, /^# TYPE picam_live_bitrate_bps gauge$/m);
  });

  it('stops a stream whose video stopped for the idle time, saying so', async () => {
    const { bridge, mqtt } = await load({ idleSeconds: 0.2 });
    const { stream } = await watching(bridge);
    stream.stall();
    await stateIs('failed');
    const state = await call(`/api/live/${CAMERA}`);
    assert.equal(state.json.reason, 'the camera stopped sending (no video for 0.2 s)');
    await until('stream/stop', () => ofKind(mqtt, 'stop')[0]);
    assert.ok(stream.closed);
  });

  it('plays on when the video comes back before the idle time', async () => {
    const { bridge, mqtt } = await load({ idleSeconds: 60 });
    const { stream } = await watching(bridge);
    stream.stall();
    await stateIs('stalled');
    stream.packet();
    await stateIs('playing');
    assert.equal(ofKind(mqtt, 'stop').length, 0);
  });

  it('stops a camera on a stop message, and refuses input it does not know with a reason', async () => {
    const { bridge, mqtt } = await load();
    const { stream } = await watching(bridge);
    const errors = spy('live', 'error');
    node('live').receive({ topic: 'stop', deviceId: CAMERA });
    await until('stream/stop', () => ofKind(mqtt, 'stop')[0]);
    await until('closed', () => stream.closed || undefined);
    node('live').receive({ topic: 'stop' });
    node('live').receive({ topic: 'start', payload: 1 });
    await until('two refusals', () => (errors.length >= 2 ? errors : undefined));
    assert.match(text(errors[0]!), /^vbc01-live: stop needs msg.deviceId/);
    assert.match(text(errors[1]!), /^vbc01-live: unknown input topic "start"/);
  });

  it('opens an RTSP-sourced camera without MQTT, RTCP or the VBC01 SSRCs, and says why its copy failed', async () => {
    const port = await freePort(); // nothing listens there
    const { bridge, mqtt } = await load({ rtspSources: `picam-1=rtsp://viewer:pw-123@127.0.0.1:${port}/cam` });
    const answer = await whep('picam-1');
    const stream = await bridge.stream();
    assert.equal(stream.options.sendRtcp, false, 'no RTCP or REMB toward a copy');
    assert.equal(stream.options.audioSsrc, undefined, 'no audio accepted');
    assert.notEqual(stream.options.videoSsrc, 1607797317, 'its own SSRC, not a VBC01 one');
    assert.equal(answer.status, 503);
    assert.equal(answer.json.error, `nothing listens at 127.0.0.1:${port}/cam (connection refused: check the address and RTSP port)`);
    assert.ok(!answer.body.includes('pw-123'));
    assert.deepEqual(mqtt.msgs, [], 'nothing goes over MQTT');
    assert.ok(stream.closed, 'the stream is closed again');
  });

  it('stops the camera and closes the bridge on redeploy, and takes its routes away', async () => {
    const { bridge, mqtt } = await load();
    const { stream } = await watching(bridge);
    // What the node sends while it closes (the helper nodes that would receive it close beside it).
    const sent: Array<{ topic: string; payload: { streamId: string } }> = [];
    const live = node('live') as unknown as { send(msgs: unknown[]): void };
    const send = live.send.bind(live);
    live.send = (msgs) => {
      const m = msgs[0] as (typeof sent)[number] | null;
      if (m) sent.push(m);
      send(msgs);
    };
    await helper.unload();
    assert.ok(stream.closed, 'the bridge stream is closed');
    assert.ok(bridge.closed, 'the bridge is closed');
    const stop = sent.find((m) => m.topic.endsWith('/stream/stop'));
    assert.ok(stop, 'stream/stop sent to the camera');
    assert.equal(stop.payload.streamId, ofKind(mqtt, 'play')[0]!.payload.streamId);
    const after = await call(`/api/live/${CAMERA}`);
    assert.equal(after.status, 404, 'the routes are gone');
  });
});

/** Waits until the camera's GET state says `want`. */
const stateIs = (want: string) =>
  waitFor(`state ${want}`, async () => ((await call(`/api/live/${CAMERA}`)).json.state === want ? true : undefined), 10_000);
