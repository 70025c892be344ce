/**
 * End to end: a real Node-RED runtime running flows/cloud.json in the cloud
 * role (logins on), real mqtt.js devices through the embedded broker (picam-broker),
 * rows read back from the SQLite file and through the HTTP API.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import mqtt, { type MqttClient } from 'mqtt';
import { adminLogin, API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess, RUNTIME_START_MS } from '../support/cli';
import { rows } from '../support/records';
import { activity, CAMERA, connected, disconnected, environment, heartbeat, PI, topics } from '../support/fixtures';
import { listeningAddresses } from '../support/listening';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';
import { hasFfmpeg, testRecording } from '../support/ffmpeg';
import { uploadToGateway } from '../support/zip';
import { freePort, takeFreePorts } from '../support/ports';
import { JPEG } from '../support/pictures';

/** Device times a few minutes old: the runtime only accepts device clocks near its own (issue 13). */
const T0 = Math.floor(Date.now() / 1000) - 600;

/** Free ports, taken in the first hook: fixed ones collided with other tests run at the same time. */
const PORTS = { http: 0, mqtt: 0, ws: 0, gateway: 0 };
let GATEWAY = '';
let MQTT_URL = '';
const DEVICE_LOGIN = LOGINS.devices;
const dir = tempDir('picam-e2e-');
const dbFile = join(dir, 'picam-guardian.db');

let runtime: CliProcess;
/** the runtime's 127.0.0.1-only listener, where MediaMTX asks /mediamtx/auth */
let INTERNAL = '';
let BASE = '';
let camera: MqttClient;
let commands: Array<{ topic: string; payload: Record<string, unknown> }> = [];

const query = <T>(sql: string, params: (string | number)[] = []) => rows<T>(dbFile, sql, params);

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${BASE}${path}`, { ...init, headers: { authorization: API_AUTH, ...init.headers } });
const publish = (c: MqttClient, topic: string, payload: unknown) =>
  c.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });

before(async () => {
  await takeFreePorts(PORTS);
  GATEWAY = `http://127.0.0.1:${PORTS.gateway}`;
  MQTT_URL = `mqtt://127.0.0.1:${PORTS.mqtt}`;
  BASE = `http://127.0.0.1:${PORTS.http}`;
  const internal = await freePort();
  INTERNAL = `http://127.0.0.1:${internal}`;
  runtime = startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(
      dir,
      { ...PORTS, internal },
      {
        PICAM_DEBOUNCE_SECONDS: '1',
        PICAM_CAMERAS: CAMERA,
        PICAM_MEDIAMTX_DEVICES: `picam-1:${bcrypt.hashSync('pi-stream-secret', 4)}`,
      },
    ),
  );
  camera = await waitFor(
    'the broker',
    () => mqtt.connectAsync(MQTT_URL, { ...DEVICE_LOGIN, clientId: CAMERA, reconnectPeriod: 0 }).catch(() => undefined),
    RUNTIME_START_MS,
  );
  await camera.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
  camera.on('message', (topic, payload) => commands.push({ topic, payload: JSON.parse(payload.toString()) }));
  await waitFor('the API', async () => ((await api('/api/status').catch(() => undefined))?.ok ? true : undefined), 60_000);
});

after(async () => {
  await camera?.endAsync();
  const code = await runtime.stop();
  assert.equal(code, 0, `the runtime stops cleanly on SIGTERM; its output:\n${runtime.output()}`);
});

describe('cloud runtime: security on by default', () => {
  it('refuses MQTT clients without the device login', async () => {
    await assert.rejects(
      mqtt.connectAsync(MQTT_URL, { clientId: 'intruder', reconnectPeriod: 0 }),
      /Not authorized|Bad username or password/,
    );
    await assert.rejects(
      mqtt.connectAsync(MQTT_URL, { clientId: 'intruder', username: 'devices', password: 'wrong', reconnectPeriod: 0 }),
      /Not authorized|Bad username or password/,
    );
  });

  it('listens for MQTT and MQTT over WebSocket only on the address the role binds (PICAM_HOST)', () => {
    assert.deepEqual(listeningAddresses(PORTS.mqtt), ['127.0.0.1']);
    assert.deepEqual(listeningAddresses(PORTS.ws), ['127.0.0.1']);
  });

  it('keeps a device to its own topics: no commands of another device, nothing published under its id', async () => {
    await assert.rejects(camera.subscribeAsync(`prod/honeycomb/${PI}/#`, { qos: 1 }), /Subscribe error/);
    await assert.rejects(
      mqtt.connectAsync(`ws://127.0.0.1:${PORTS.ws}/mqtt`, { ...DEVICE_LOGIN, clientId: 'picam-guardian-cloud', reconnectPeriod: 0 }),
      /Identifier rejected/,
    );
  });

  it('refuses the API without a login', async () => {
    assert.equal((await fetch(`${BASE}/api/cameras`)).status, 401);
  });

  it('serves the editor under /admin, behind its own login', async () => {
    assert.equal((await fetch(`${BASE}/admin/flows`)).status, 401);
    const token = await adminLogin(`${BASE}/admin`);
    assert.equal(token.status, 200);
    const { access_token } = (await token.json()) as { access_token: string };
    const flows = await fetch(`${BASE}/admin/flows`, { headers: { authorization: `Bearer ${access_token}` } });
    const ids = ((await flows.json()) as Array<{ id: string }>).map((n) => n.id);
    assert.ok(ids.includes('cloud.processor') && ids.includes('cloud.store'), 'the cloud flow is deployed');
  });

  it('keeps secrets out of the flow file; the credentials file is encrypted', () => {
    const flowText = readFileSync(join(dir, 'flows.json'), 'utf8');
    assert.ok(!flowText.includes(DEVICE_LOGIN.password));
    const creds = readFileSync(join(dir, 'flows_cred.json'), 'utf8');
    assert.ok(!creds.includes(DEVICE_LOGIN.password) && !creds.includes('MQTT_PASSWORD'), 'encrypted');
  });
});

describe('cloud runtime: MediaMTX asks it who may publish', () => {
  const ask = (body: object) =>
    fetch(`${INTERNAL}/mediamtx/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const request = { ip: '127.0.0.1', protocol: 'rtsp', id: null, query: '', token: '' };

  it('lets a Pi publish to its own path only, with its own password, without the API login', async () => {
    assert.equal(
      (await ask({ ...request, user: 'picam-1', password: 'pi-stream-secret', action: 'publish', path: 'picam-1' })).status,
      200,
    );
    assert.equal(
      (await ask({ ...request, user: 'picam-1', password: 'pi-stream-secret', action: 'publish', path: 'picam-2' })).status,
      401,
    );
    assert.equal((await ask({ ...request, user: 'picam-1', password: 'wrong', action: 'publish', path: 'picam-1' })).status, 401);
    assert.equal((await ask({ ...request, user: '', password: '', action: 'read', path: 'picam-1' })).status, 401);
  });
});

describe('cloud runtime: device traffic into SQLite and the API', () => {
  it('stores camera and Pi traffic', async () => {
    const pi = await mqtt.connectAsync(MQTT_URL, { ...DEVICE_LOGIN, clientId: PI, reconnectPeriod: 0 });
    await publish(camera, topics.connection(), connected(T0));
    await publish(camera, topics.status(), heartbeat(T0 + 15));
    await publish(camera, topics.start(), activity('evt_e2e_1', T0 + 25));
    await publish(camera, topics.start(), activity('evt_e2e_1', T0 + 25)); // a QoS1 redelivery
    await publish(camera, topics.stop(), activity('evt_e2e_1', T0 + 37));
    await publish(pi, topics.connection(PI, 'picam'), { status: 'connected', name: 'Kitchen Pi' });
    for (let i = 0; i < 3; i++) await publish(pi, topics.environment(), environment(Date.now() - 3000 + i * 1000));
    await publish(pi, topics.environment(), '{"temperature": 21.5,'); // broken JSON
    await pi.endAsync();

    const [event] = await waitFor('the activity event', async () => {
      const rows = await query<Record<string, unknown>>(
        "SELECT * FROM activity_events WHERE event_id = 'evt_e2e_1' AND end_timestamp IS NOT NULL",
      );
      return rows.length ? rows : undefined;
    });
    assert.equal(event!.camera_id, CAMERA);
    assert.equal(event!.camera_name, 'Front Door');
    assert.equal(event!.duration_seconds, 12);
    assert.deepEqual(
      await query("SELECT count(*) AS n FROM activity_events WHERE event_id = 'evt_e2e_1'"),
      [{ n: 1 }],
      'one event, not two',
    );
    const [cam] = await query<Record<string, unknown>>('SELECT * FROM camera_registry WHERE camera_id = ?', [CAMERA]);
    assert.equal(cam!.connection_status, 'connected');
    assert.equal(cam!.ip_address, '192.168.1.101');
    assert.equal(cam!.firmware_version, 'V0_0_00_117RC_svn1356');
    assert.equal(cam!.battery_level, 87);
    await waitFor('sensor readings and the dead letter', async () => {
      const [s] = await query<{ n: number }>('SELECT count(*) AS n FROM sensor_readings WHERE device_id = ?', [PI]);
      const [d] = await query<{ n: number }>('SELECT count(*) AS n FROM dead_letters');
      return s!.n === 3 && d!.n === 1 ? true : undefined;
    });
    const [dead] = await query<{ reason: string; source: string; payload: string }>('SELECT reason, source, payload FROM dead_letters');
    assert.match(dead!.reason, /invalid JSON/);
    assert.equal(dead!.source, topics.environment());
    assert.equal(dead!.payload, '{"temperature": 21.5,');
  });

  it('answers the seed 004 API from the same rows', async () => {
    const cams = (await (await api('/api/cameras')).json()) as { cameras: Array<{ camera_name: string }> };
    assert.deepEqual(cams.cameras.map((c) => c.camera_name).sort(), ['Front Door', 'Kitchen Pi']);
    const events = (await (await api(`/api/events?camera=${CAMERA}`)).json()) as {
      events: Array<{ duration_seconds: number }>;
      total: number;
    };
    assert.equal(events.total, 1);
    assert.equal(events.events[0]!.duration_seconds, 12);
    const sensors = (await (await api(`/api/sensors/${PI}`)).json()) as { readings: Array<{ temperature: number }> };
    assert.equal(sensors.readings.length, 3);
    assert.equal(sensors.readings[0]!.temperature, 21.5);
    const dead = (await (await api('/api/dead-letters')).json()) as { total: number };
    assert.equal(dead.total, 1);
  });

  it('answers bad requests with JSON errors and proper status codes', async () => {
    const bad = await api('/api/events?limit=abc');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /"limit"/);
    assert.equal((await api('/api/sensors/nobody-here')).status, 404);
    const badMode = await api(`/api/control/mode/${CAMERA}/PARTY`, { method: 'POST' });
    assert.equal(badMode.status, 400);
    assert.match(((await badMode.json()) as { error: string }).error, /ARMED, LIVESTREAMONLY, PRIVACY/);
    assert.equal((await api('/api/control/reboot/ghost-camera', { method: 'POST' })).status, 404);
  });

  it('publishes a mode command from the API and republishes the stored mode when the camera reconnects', async () => {
    commands = [];
    const res = await api(`/api/control/mode/${CAMERA}/PRIVACY`, { method: 'POST' });
    assert.equal(res.status, 202);
    const body = (await res.json()) as { status: string; data: { requestId: string } };
    assert.equal(body.status, 'ok');
    const first = await waitFor('the setmode command', async () => commands.find((c) => c.topic.endsWith('/system/setmode')));
    assert.equal(first.topic, `prod/honeycomb/${CAMERA}/system/setmode`);
    assert.equal(first.payload.mode, 'PRIVACY');
    assert.equal(first.payload.requestId, body.data.requestId);
    assert.equal(first.payload.sourceId, CAMERA);

    // the camera drops off and comes back: it gets its mode again (seed 004's restore)
    commands = [];
    await publish(camera, topics.connection(), disconnected(T0 + 455));
    await publish(camera, topics.connection(), connected(T0 + 465));
    const restored = await waitFor('the restored mode', async () => commands.find((c) => c.topic.endsWith('/system/setmode')));
    assert.equal(restored.payload.mode, 'PRIVACY');
    assert.notEqual(restored.payload.requestId, body.data.requestId);
    const [desired] = await query<{ setting_value: string }>(
      "SELECT setting_value FROM camera_state WHERE camera_id = ? AND setting_name = 'mode'",
      [CAMERA],
    );
    assert.equal(desired!.setting_value, 'PRIVACY');
  });
});

describe('cloud runtime: VBC01 gateway and uploaded media', () => {

  it('answers cameras on its own port without a login, and the admin API behind one', async () => {
    const res = await fetch(`${GATEWAY}/hivecam/${CAMERA}`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { mqtt: { port: number } }).mqtt.port, 8883);
    assert.equal((await fetch(`${BASE}/api/gateway/enrolment`, { method: 'POST' })).status, 401, 'enrolment needs the API login');
    const opened = await api('/api/gateway/enrolment', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ minutes: 2 }),
    });
    assert.equal(opened.status, 200);
    assert.equal(((await opened.json()) as { open: boolean }).open, true);
    const bad = await api('/api/gateway/enrolment', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(bad.status, 400);
  });

  it('serves an uploaded thumbnail and the recording as an HLS playlist to logged-in users', async (t) => {
    const eventId = 'evt-media-1';
    const recording = hasFfmpeg ? testRecording(join(dir, 'clip.mp4')) : Buffer.alloc(0);
    const entries = [{ name: 'thumbnail.jpg', data: JPEG }, ...(hasFfmpeg ? [{ name: 'recording.mp4', data: recording }] : [])];
    const up = await uploadToGateway(GATEWAY, CAMERA, eventId, entries);
    assert.equal(up.status, 200, await up.clone().text());

    assert.equal((await fetch(`${BASE}/api/media/thumbnail/${eventId}`)).status, 401, 'media needs the API login');
    const thumb = await api(`/api/media/thumbnail/${eventId}`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await thumb.arrayBuffer()), JPEG);
    assert.equal((await api('/api/media/thumbnail/no-such-event')).status, 404);

    const usage = (await (await api('/api/gateway/usage')).json()) as { files: number };
    assert.equal(usage.files, entries.length);

    if (!hasFfmpeg) return t.skip('ffmpeg is not installed: no recording to play');
    const playlist = await waitFor('the HLS playlist', async () => {
      const r = await api(`/api/media/playlist/${eventId}.m3u8`);
      return r.status === 200 ? r.text() : undefined;
    });
    assert.match(playlist, /#EXTM3U/);
    assert.match(playlist, /#EXT-X-ENDLIST/);
    const segment = playlist.split('\n').find((l) => l.endsWith('.ts'))!;
    assert.equal(segment, `${eventId}/segment000.ts`, 'segments resolve next to the playlist URL');
    const seg = await api(`/api/media/playlist/${segment}`);
    assert.equal(seg.status, 200);
    assert.equal(seg.headers.get('content-type'), 'video/mp2t');
    assert.equal((await seg.arrayBuffer()).byteLength % 188, 0, 'whole MPEG-TS packets');
    const download = await api(`/api/media/recording/${eventId}`);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), recording);
  });

  it("keeps a Pi's motion snapshot from MQTT as its event's thumbnail", async () => {
    const pi = await mqtt.connectAsync(MQTT_URL, { ...DEVICE_LOGIN, clientId: PI, reconnectPeriod: 0 });
    try {
      await pi.publishAsync(`prod/device/message/picam/${PI}/activity/thumbnail/pi-evt-9`, JPEG, { qos: 1 });
      const thumb = await waitFor('the stored snapshot', async () => {
        const r = await api('/api/media/thumbnail/pi-evt-9');
        return r.status === 200 ? Buffer.from(await r.arrayBuffer()) : undefined;
      });
      assert.deepEqual(thumb, JPEG);
    } finally {
      await pi.endAsync();
    }
  });
});

describe('cloud runtime: failures shown by the flow', () => {
  // The flow's catch node takes what a node reports with done(err). Node-RED
  // does not log an error a catch node handled, so the flow logs it itself, at
  // error level (the tests run the runtime with PICAM_LOG_LEVEL=warn), naming the node.
  it('logs a failure a node reported with done(err) as an error, with the node and the reason', async () => {
    const bad = await api('/api/gateway/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(bad.status, 400);
    const reason = ((await bad.json()) as { error: string }).error;
    const line = await waitFor('the failure in the log', async () =>
      runtime
        .output()
        .split('\n')
        .find((l) => l.endsWith(reason)),
    );
    assert.match(line, /\[error\] \[function:log it as an error\] hivecam-gateway "VBC01 gateway" \(cloud\.gateway\): /);
  });
});

describe('cloud runtime: operations endpoints', () => {
  it('answers /healthz without a login and says what is up', async () => {
    const res = await fetch(`${BASE}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.status, 'ok');
    assert.equal(body.role, 'cloud');
    assert.equal(body.flows, 'started');
    assert.equal(body.database, 'ok');
  });

  it('serves Prometheus metrics behind the API login, counting what the pipeline did', async () => {
    assert.equal((await fetch(`${BASE}/metrics`)).status, 401);
    const res = await api('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    assert.ok(value('picam_messages_received_total') > 0, 'the device traffic of the tests above');
    const [dead] = await query<{ n: number }>('SELECT count(*) AS n FROM dead_letters');
    assert.equal(value('picam_dead_letters'), dead!.n);
    assert.ok(value('picam_cameras_connected') >= 1);
    assert.ok(value('process_resident_memory_bytes') > 10_000_000);
    for (const name of ['picam_alerts_pending', 'picam_streams_online', 'picam_messages_rejected_total']) {
      assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'), name);
    }
  });
});
