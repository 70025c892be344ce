/**
 * The VBC01 live view in the shipped cloud flow, in a real cloud runtime (its login guard,
 * embedded broker, command-sender and SQLite), the bridge an in-memory one that follows
 * nodes/lib/live/bridge-types.ts (handed in through the settings, as the real one is built
 * beside this node). A logged-in user's stream token opens WHEP and nothing else; the camera
 * gets stream/play and keepalives over MQTT through command-sender; command-sender's report
 * moves the camera from "asking" to "waiting for video"; an unknown camera is a 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { settingsFor } from '../../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../../cli/runtime/runtime';
import { cloudRoleEnv, LOGINS } from '../../support/cli';
import { fakeBridges } from '../../support/fake-live-bridge';
import { connected, disconnected, topics } from '../../support/fixtures';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const CAMERA = '0123456789ABCDEF0123456789ABCDEF';
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n';
const dataDir = tempDir('picam-live-cloud-');

describe('the VBC01 live view in the cloud flow', () => {
  let runtime: RunningRuntime;
  let camera: MqttClient;
  const bridges = fakeBridges();
  const received: Array<{ topic: string; payload: Record<string, any> }> = [];
  let cookie = '';
  let mqttUrl = '';
  let csrf = '';

  before(async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    const role = settingsFor(cloudRoleEnv(dataDir, ports, { PICAM_ROLE: 'cloud', PICAM_LIVE_CAMERA_ADDRESS: '192.0.2.10' }));
    role.node.picamLiveBridge = bridges.factory;
    runtime = await startRuntime(role);
    // The camera: its id as client id, subscribed to its command topics, connected (so the store knows it).
    // The embedded broker listens once the flow has started it.
    mqttUrl = `mqtt://127.0.0.1:${ports.mqtt}`;
    camera = await waitFor('the embedded broker', () =>
      mqtt.connectAsync(mqttUrl, { ...LOGINS.devices, clientId: CAMERA, reconnectPeriod: 0 }).catch(() => undefined),
    );
    camera.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString()) }));
    await camera.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
    await camera.publishAsync(topics.connection(CAMERA), JSON.stringify(connected(Math.floor(Date.now() / 1000))), { qos: 1 });
    // A dashboard user logs in.
    const login = await fetch(`${runtime.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: LOGINS.api.username, password: LOGINS.api.password, remember: false }),
    });
    assert.equal(login.status, 200);
    cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
    await waitFor('the camera in the registry', async () => {
      const r = await fetch(`${runtime.url}/api/cameras`, { headers: { cookie } });
      const rows = ((await r.json()) as { cameras: Array<{ camera_id: string }> }).cameras;
      return rows.some((c) => c.camera_id === CAMERA) || undefined;
    });
  });
  after(async () => {
    await camera?.endAsync();
    await runtime?.stop();
  });

  const streamToken = async () => {
    const r = await fetch(`${runtime.url}/api/stream-token`, { headers: { cookie } });
    return ((await r.json()) as { token: string }).token;
  };
  const whep = (id: string, headers: Record<string, string>) =>
    fetch(`${runtime.url}/api/live/${id}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...headers },
      body: OFFER,
    });
  const state = async () =>
    ((await (await fetch(`${runtime.url}/api/live/${CAMERA}`, { headers: { cookie } })).json()) as { state: string }).state;

  it("gives the bridge the browsers' ICE ports the firewall files open (PICAM_LIVE_ICE_PORTS)", () => {
    assert.deepEqual(bridges.made[0]!.options.icePortRange, [5100, 5199]);
  });

  it('lets a stream token open WHEP and nothing else; a session alone does not open WHEP', async () => {
    const token = await streamToken();
    // The API guard lets a stream token through to WHEP only.
    const cameras = await fetch(`${runtime.url}/api/cameras`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(cameras.status, 401);
    const liveState = await fetch(`${runtime.url}/api/live/${CAMERA}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(liveState.status, 401);
    // A session (with its CSRF token) passes the guard, but the WHEP route wants the stream token.
    const sessionOnly = await whep(CAMERA, { cookie, 'x-csrf-token': csrf });
    assert.equal(sessionOnly.status, 401);
    assert.match(((await sessionOnly.json()) as { error: string }).error, /stream token is required/);
    // One character changed well inside the signature: its last two carry padding bits too, and
    // "…AA" could decode to the very same bytes (it did in about one run in a thousand).
    const at = token.length - 10;
    const forgedToken = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    const forged = await whep(CAMERA, { authorization: `Bearer ${forgedToken}` });
    assert.equal(forged.status, 401);
    // An unknown camera: the guard let the token through, the node knows no such VBC01.
    const unknown = await whep('FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', { authorization: `Bearer ${token}` });
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: string }).error, /no VBC01 camera "F{32}"/);
    assert.equal(bridges.made[0]!.opened.length, 0, 'no stream opened');
  });

  it('refuses an offline camera with 503 and the reason, without asking it', async () => {
    const offline = '00000000000000000000000000000001';
    const client = await mqtt.connectAsync(mqttUrl, { ...LOGINS.devices, clientId: offline, reconnectPeriod: 0 });
    const now = Math.floor(Date.now() / 1000);
    await client.publishAsync(topics.connection(offline), JSON.stringify(connected(now)), { qos: 1 });
    await client.publishAsync(topics.connection(offline), JSON.stringify(disconnected(now + 1)), { qos: 1 });
    await client.endAsync();
    await waitFor('the camera offline in the registry', async () => {
      const r = await fetch(`${runtime.url}/api/cameras`, { headers: { cookie } });
      const rows = ((await r.json()) as { cameras: Array<{ camera_id: string; connection_status: string }> }).cameras;
      return rows.some((c) => c.camera_id === offline && c.connection_status === 'disconnected') || undefined;
    });
    const res = await whep(offline, { authorization: `Bearer ${await streamToken()}` });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: string }).error, `camera "${offline}" is offline`);
    assert.equal(bridges.made[0]!.opened.length, 0, 'no stream opened');
  });

  it('asks the camera over MQTT through command-sender, waits for video, and stops it after the viewer leaves', async () => {
    const bridge = bridges.made[0]!;
    const answer = whep(CAMERA, { authorization: `Bearer ${await streamToken()}` });
    const stream = await bridge.stream();
    const play = await waitFor('stream/play at the camera', async () => received.find((m) => m.topic.endsWith('/stream/play')));
    assert.equal(play.payload.sourceId, CAMERA);
    assert.match(play.payload.sdpOffer, new RegExp(`\r\nm=video ${stream.ports.videoRtp} RTP/AVPF 103\r\n`));
    assert.match(play.payload.sdpOffer, /\r\nc=IN IP4 192\.0\.2\.10\r\n/);
    const keepalive = await waitFor('keepalive 0', async () => received.find((m) => m.topic.endsWith('/stream/keepalive')));
    assert.equal(keepalive.payload.keepaliveCount, 0);
    // command-sender reported the play sent: the camera is asked, the page waits for video.
    await waitFor('waiting for video', async () => ((await state()) === 'waiting' ? true : undefined));

    stream.packet();
    const res = await answer;
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), 'application/sdp');
    const location = res.headers.get('location')!;
    const gone = await fetch(`${runtime.url}${location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await streamToken()}` },
    });
    assert.equal(gone.status, 204);
    // After the grace time (10 s, the shipped default).
    const stop = await waitFor('stream/stop at the camera', async () => received.find((m) => m.topic.endsWith('/stream/stop')), 30_000);
    assert.equal(stop.payload.streamId, play.payload.streamId);
    assert.equal(await state(), 'stopped');
  });
});
