/**
 * A corpus of VBC01 camera messages in the shapes the real firmware sends
 * (shared/reference/vbc01-protocol.md §5.1-5.4) and the commands the real
 * platform sends it (§6), through the shipped cloud flow: a real Node-RED
 * runtime, its embedded broker, real mqtt.js cameras, the SQLite file and the
 * HTTP API. Each message is checked where a user would see it: /api/cameras,
 * /api/events, the rows, the dead letters; each command as the camera receives it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess, RUNTIME_START_MS } from '../support/cli';
import { CAMERA, CAMERA_2 } from '../support/fixtures';
import { freePort } from '../support/ports';
import { rows } from '../support/records';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const dir = tempDir('picam-vbc01-');
const dbFile = `${dir}/picam-guardian.db`;
/** Device times a few minutes old: inside the runtime's clock window. */
const T0 = Math.floor(Date.now() / 1000) - 600;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** `2026-01-10T21:16:58.123456Z`, or without the fraction when it is zero (Python's isoformat + Z) */
const CREATION_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$/;

let runtime: CliProcess;
let base = '';
let mqttUrl = '';
let camera: MqttClient;
let received: Array<{ topic: string; payload: Record<string, unknown> }> = [];

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { authorization: API_AUTH, ...init.headers } });
const post = (path: string, body?: unknown) =>
  api(
    path,
    body === undefined
      ? { method: 'POST' }
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
const query = <T = Record<string, unknown>>(sql: string, params: (string | number)[] = []) => rows<T>(dbFile, sql, params);
const device = (id: string, will?: object) =>
  waitFor(
    'the broker',
    () =>
      mqtt
        .connectAsync(mqttUrl, {
          ...LOGINS.devices,
          clientId: id,
          reconnectPeriod: 0,
          will: will
            ? { topic: `prod/device/connection/hive-cam/${id}`, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: false }
            : undefined,
        })
        .catch(() => undefined),
    RUNTIME_START_MS,
  );
/** QoS 1: the embedded broker acknowledges once the message is stored. */
const publish = (c: MqttClient, tail: string, payload: unknown, id = CAMERA) =>
  c.publishAsync(tail.replace('{id}', id), typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });

const cameraRow = async (id = CAMERA) => {
  const { cameras } = (await (await api('/api/cameras')).json()) as { cameras: Array<Record<string, unknown>> };
  return cameras.find((c) => c.camera_id === id);
};
const event = async (eventId: string) => (await query('SELECT * FROM activity_events WHERE event_id = ?', [eventId]))[0];
const until = <T>(what: string, probe: () => Promise<T | undefined | false>) =>
  waitFor(what, async () => (await probe()) || undefined) as Promise<T>;

const CONNECTION = 'prod/device/connection/hive-cam/{id}';
const STATUS = 'prod/device/status/hive-cam/{id}';
const ACTIVITY = (level: string) => `prod/device/message/hive-cam/{id}/activity/${level}`;
const STATE = 'prod/device/message/hive-cam/{id}/camera/state';

before(async () => {
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  base = `http://127.0.0.1:${ports.http}`;
  mqttUrl = `mqtt://127.0.0.1:${ports.mqtt}`;
  runtime = startCli(['start', '--role', 'cloud'], cloudRoleEnv(dir, ports, { PICAM_DEBOUNCE_SECONDS: '1' }));
  await waitFor('the API', async () => ((await api('/api/status').catch(() => undefined))?.ok ? true : undefined), 60_000);
  camera = await device(CAMERA);
  await camera.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
  camera.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString()) }));
  // The runtime's broker node subscribes the processor as it starts: repeat the hello until it is stored.
  await waitFor('the camera known to the runtime', async () => {
    await publish(camera, CONNECTION, {
      status: 'CONNECTED',
      timestamp: T0,
      clientId: CAMERA,
      ipAddress: '192.168.1.50',
      device: { softwareVersion: 'V0_0_00_117RC_svn1356', hardwareVersion: 'VBC01', serialNumber: 'SN1', deviceType: 'hive-cam' },
    });
    return (await cameraRow())?.connection_status === 'connected' ? true : undefined;
  });
});

after(async () => {
  await camera?.endAsync();
  if (runtime) assert.equal(await runtime.stop(), 0, runtime.output());
});

describe('VBC01 messages (§5) stored as the real processor stores them', () => {
  it('§5.1 connection: "CONNECTED" in any case, clientId, ipAddress in the status row, firmware from device.softwareVersion', async () => {
    const cam = await cameraRow();
    assert.equal(cam!.connection_status, 'connected');
    assert.equal(cam!.firmware_version, 'V0_0_00_117RC_svn1356');
    const [row] = await query(`SELECT client_id, ip_address, status FROM status_events WHERE camera_id = ? AND event_type = 'connection'`, [
      CAMERA,
    ]);
    assert.deepEqual(row, { client_id: CAMERA, ip_address: '192.168.1.50', status: 'connected' });
  });

  it('§5.2 heartbeat: nested battery, radio and ethernet; the IP in /api/cameras, the rest in the status row', async () => {
    await publish(camera, STATUS, {
      timestamp: T0 + 10,
      status: 'online',
      battery: { level: 87, voltage: 4.1, chargingStatus: 'CHARGING', temperature: 30 },
      radio: { signalStrength: -58, networkType: 'WIFI', carrier: 'home' },
      ethernet: { ipAddress: '10.0.0.42', macAddress: '00:11:22:33:44:55', linkStatus: 'UP' },
      temperature: 41.5,
      uptime: 86400,
    });
    const cam = await until('the heartbeat in the registry', async () =>
      (await cameraRow())?.ip_address === '10.0.0.42' ? cameraRow() : undefined,
    );
    assert.equal(cam!.battery_level, 87);
    assert.equal(cam!.signal_strength, -58);
    const [row] = await query(
      `SELECT temperature, uptime, battery_level, ip_address FROM status_events WHERE camera_id = ? AND timestamp = ?`,
      [CAMERA, T0 + 10],
    );
    assert.deepEqual(row, { temperature: 41.5, uptime: 86400, battery_level: 87, ip_address: '10.0.0.42' });
  });

  it('§5.2 heartbeat: battery, radio and ethernet that are not objects are ignored, not an error', async () => {
    await publish(camera, STATUS, { timestamp: T0 + 20, battery: 'mains', radio: 5, ethernet: null, uptime: 90 });
    const [row] = await until('the heartbeat', () =>
      query(`SELECT uptime, battery_level FROM status_events WHERE camera_id = ? AND timestamp = ?`, [CAMERA, T0 + 20]).then(
        (r) => r.length > 0 && r,
      ),
    );
    assert.deepEqual(row, { uptime: 90, battery_level: null });
    assert.equal((await cameraRow())!.ip_address, '10.0.0.42', 'the IP it had');
  });

  it('§5.3 activity: integer confidence stored as sent, a stop on activity/end closes it', async () => {
    const id = '379ec4f5-46a8-492b-b3b4-d390553f8a70';
    await publish(camera, ACTIVITY('start'), {
      eventId: id,
      activityType: 'MOTION_SMART',
      timestamp: T0 + 30,
      confidence: 72,
      region: { x: 1, y: 2 },
    });
    await publish(camera, ACTIVITY('end'), { eventId: id, timestamp: T0 + 42 });
    const row = await until('the closed event', async () => ((await event(id))?.end_timestamp ? event(id) : undefined));
    assert.equal(row!.confidence, 72);
    assert.equal(row!.activity_type, 'MOTION_SMART');
    assert.equal(row!.start_timestamp, T0 + 30);
    assert.equal(row!.end_timestamp, T0 + 42);
    assert.equal(row!.duration_seconds, 12);
    const { events } = (await (await api(`/api/events?camera=${CAMERA}`)).json()) as { events: Array<Record<string, unknown>> };
    assert.equal(events.find((e) => e.event_id === id)!.confidence, 72);
  });

  it('§5.3 activity without an eventId: the event is activity_{cameraId}_{timestamp}, type MOTION by default', async () => {
    await publish(camera, ACTIVITY('start'), { timestamp: T0 + 50, confidence: 90 });
    const row = await until('the generated event', () => event(`activity_${CAMERA}_${T0 + 50}`));
    assert.equal(row!.activity_type, 'MOTION');
    assert.equal(row!.confidence, 90);
  });

  it('§5.3 eventType start, stop and end win over the topic level', async () => {
    const id = '0b8e8f4c-2a4e-4d7b-9f0e-3c1a2b3c4d5e';
    await publish(camera, ACTIVITY('event'), { eventId: id, eventType: 'start', timestamp: T0 + 60, confidence: 55 });
    await publish(camera, ACTIVITY('event'), { eventId: id, eventType: 'stop', timestamp: T0 + 65 });
    const row = await until('the event closed by eventType', async () => ((await event(id))?.end_timestamp ? event(id) : undefined));
    assert.deepEqual([row!.start_timestamp, row!.end_timestamp, row!.duration_seconds], [T0 + 60, T0 + 65, 5]);
    const other = 'a1b2c3d4-0000-4000-8000-000000000001';
    await publish(camera, ACTIVITY('event'), { eventId: other, eventType: 'END', timestamp: T0 + 66 });
    assert.equal((await until('the end', () => event(other)))!.end_timestamp, T0 + 66);
  });

  it('§5.3 another topic level is stored as a start', async () => {
    const id = 'a1b2c3d4-0000-4000-8000-000000000002';
    await publish(camera, ACTIVITY('detected'), { eventId: id, activityType: 'audio_all', timestamp: T0 + 70, confidence: 30 });
    const row = await until('the event', () => event(id));
    assert.deepEqual([row!.start_timestamp, row!.end_timestamp, row!.activity_type], [T0 + 70, null, 'AUDIO_ALL']);
  });

  it('§5 timestamps: an ISO string with T is read; a numeric string or 0 means the time it arrived (the value kept)', async () => {
    const iso = 'a1b2c3d4-0000-4000-8000-000000000003';
    const isoTime = new Date((T0 + 80) * 1000).toISOString().replace('.000Z', 'Z');
    await publish(camera, ACTIVITY('start'), { eventId: iso, timestamp: isoTime });
    assert.equal((await until('the ISO event', () => event(iso)))!.start_timestamp, T0 + 80);

    const numeric = 'a1b2c3d4-0000-4000-8000-000000000004';
    const before = Math.floor(Date.now() / 1000);
    await publish(camera, ACTIVITY('start'), { eventId: numeric, timestamp: String(T0 + 90) });
    const row = await until('the numeric-string event', () => event(numeric));
    assert.ok((row!.start_timestamp as number) >= before, 'the receive time');
    assert.equal(row!.start_time_raw, String(T0 + 90));

    const zero = 'a1b2c3d4-0000-4000-8000-000000000005';
    await publish(camera, ACTIVITY('start'), { eventId: zero, timestamp: 0 });
    assert.ok(((await until('the event at 0', () => event(zero)))!.start_timestamp as number) >= before);
  });

  it('§5.3 a stop before its start is kept, and the start completes it (better than the real one, which loses it)', async () => {
    const id = 'a1b2c3d4-0000-4000-8000-000000000006';
    await publish(camera, ACTIVITY('stop'), { eventId: id, timestamp: T0 + 110 });
    await publish(camera, ACTIVITY('start'), { eventId: id, timestamp: T0 + 100, confidence: 61 });
    const row = await until('the event', async () => ((await event(id))?.duration_seconds != null ? event(id) : undefined));
    assert.deepEqual([row!.start_timestamp, row!.end_timestamp, row!.duration_seconds, row!.confidence], [T0 + 100, T0 + 110, 10, 61]);
  });

  it('§5.4 camera/state is a heartbeat: a known mode is recorded as reported, another mode is not an error', async () => {
    await publish(camera, STATE, { mode: 'armed', timestamp: T0 + 120 });
    await until('the reported mode', async () => (await cameraRow())?.status === 'ARMED');
    await publish(camera, STATE, { mode: 'NIGHT_WATCH', timestamp: T0 + 121, ethernet: { ipAddress: '10.0.0.43' } });
    await publish(camera, STATE, { timestamp: T0 + 122 });
    const states = await until('the state rows', () =>
      query(`SELECT timestamp FROM status_events WHERE camera_id = ? AND event_type = 'status' ORDER BY timestamp`, [CAMERA]).then(
        (r) => r.length === 3 && r,
      ),
    );
    assert.deepEqual(
      states.map((r) => r.timestamp),
      [T0 + 120, T0 + 121, T0 + 122],
    );
    const cam = await cameraRow();
    assert.equal(cam!.status, 'ARMED', 'the unknown mode changed nothing');
    assert.equal(cam!.ip_address, '10.0.0.43');
    assert.equal((await query('SELECT count(*) AS n FROM dead_letters'))[0]!.n, 0, 'nothing of the above is a dead letter');
  });

  it('§1 keeps what is really invalid as a dead letter with its reason: an id that is not 32 upper-case hex, a confidence that is not a number', async () => {
    const lower = CAMERA_2.toLowerCase();
    const other = await device(lower);
    await publish(other, STATUS, { uptime: 1 }, lower);
    await other.endAsync();
    await publish(camera, ACTIVITY('start'), { eventId: 'a1b2c3d4-0000-4000-8000-000000000007', confidence: 'high' });
    const dead = await until('two dead letters', () =>
      query<{ reason: string; source: string }>('SELECT reason, source FROM dead_letters ORDER BY id').then((r) => r.length === 2 && r),
    );
    assert.match(dead[0]!.reason, /invalid VBC01 camera id .* 32 upper-case hex digits/);
    assert.equal(dead[0]!.source, `prod/device/status/hive-cam/${lower}`);
    assert.match(dead[1]!.reason, /field "confidence" must be a number/);
  });

  it('§5.1 a Last Will without status marks the camera offline', async () => {
    const c = await device(CAMERA_2, { eventType: 'DISCONNECT' });
    await publish(c, CONNECTION, { status: 'connected', timestamp: T0 + 130 }, CAMERA_2);
    await until('camera 2 online', async () => (await cameraRow(CAMERA_2))?.connection_status === 'connected');
    c.stream.destroy(); // gone without a DISCONNECT packet: the broker publishes the Will
    await until('camera 2 offline', async () => (await cameraRow(CAMERA_2))?.connection_status === 'disconnected');
    c.end(true);
  });
});

describe('commands (§6) as the camera receives them', () => {
  const next = async (tail: string) => {
    const got = await until(`a command on ${tail}`, async () => received.find((m) => m.topic === `prod/honeycomb/${CAMERA}/${tail}`));
    received = received.filter((m) => m !== got);
    return got.payload;
  };
  const envelope = (payload: Record<string, unknown>) => {
    const { requestId, creationTimestamp, ...rest } = payload;
    assert.match(String(requestId), UUID_V4);
    assert.match(String(creationTimestamp), CREATION_TIME);
    return rest;
  };

  it('system/setmode: the mode and the three "NA" strings', async () => {
    const res = await post(`/api/control/mode/${CAMERA}/privacy`);
    assert.equal(res.status, 202);
    const payload = await next('system/setmode');
    assert.equal(payload.requestId, ((await res.json()) as { data: { requestId: string } }).data.requestId);
    assert.deepEqual(envelope(payload), {
      sourceId: CAMERA,
      sourceType: 'hive-cam',
      mode: 'PRIVACY',
      type: 'NA',
      durationMinutes: 'NA',
      intervalSeconds: 'NA',
    });
  });

  it('system/reboot: the envelope alone', async () => {
    assert.equal((await post(`/api/control/reboot/${CAMERA}`)).status, 202);
    assert.deepEqual(envelope(await next('system/reboot')), { sourceId: CAMERA, sourceType: 'hive-cam' });
  });

  it('settings/update: all 20 settings flat, the ones not asked for at their defaults, booleans from strings', async () => {
    const res = await post(`/api/control/settings/${CAMERA}`, {
      resolution: 'R_1080P',
      frameRate: '_15FPS',
      nightVision: 'on',
      ledRing: 'false',
      volume: 'HIGH',
    });
    assert.equal(res.status, 202, await res.clone().text());
    assert.deepEqual(envelope(await next('settings/update')), {
      sourceId: CAMERA,
      sourceType: 'hive-cam',
      resolution: 'R_1080P',
      frameRate: '_15FPS',
      scheduleEnabled: false,
      schedule: [],
      motionDetection: 'SMART',
      audioDetection: 'ALL',
      storage: 'CLOUD',
      activityZone: 'ALL',
      ledDot: true,
      ledRing: false,
      soundAlert: true,
      nightVision: 'ON',
      invertImage: false,
      cameraAudio: false,
      cameraZoom: '1X',
      motionSensitivity: 'MEDIUM',
      audioSensitivity: 'MEDIUM',
      timeZone: 'GMT',
      wdr: false,
      volume: 'HIGH',
    });
  });

  it('sound/play with the soundType, and sound/stop with the envelope alone', async () => {
    assert.equal((await post(`/api/control/sound/${CAMERA}/dog_bark`)).status, 202);
    assert.deepEqual(envelope(await next('sound/play')), { sourceId: CAMERA, sourceType: 'hive-cam', soundType: 'DOG_BARK' });
    assert.equal((await post(`/api/control/sound/${CAMERA}/stop`)).status, 202);
    assert.deepEqual(envelope(await next('sound/stop')), { sourceId: CAMERA, sourceType: 'hive-cam' });
  });

  const refused: Array<[string, string, unknown, RegExp]> = [
    ['a setting that does not exist', `/api/control/settings/${CAMERA}`, { brightness: 'HIGH' }, /unknown setting "brightness"/],
    [
      'a value a setting cannot take',
      `/api/control/settings/${CAMERA}`,
      { motionSensitivity: 'EXTREME' },
      /setting "motionSensitivity" must be one of LOW, MEDIUM, HIGH/,
    ],
    ['a switch that is not a boolean', `/api/control/settings/${CAMERA}`, { wdr: 3 }, /setting "wdr" must be true or false/],
    ['settings that are not an object', `/api/control/settings/${CAMERA}`, ['R_720P'], /settings must be a JSON object/],
    [
      'a sound the camera does not have',
      `/api/control/sound/${CAMERA}/AIR_HORN`,
      undefined,
      /POLICE_SIREN, DOG_BARK, HOUSE_ALARM, LULLABY/,
    ],
  ];
  for (const [what, path, body, reason] of refused) {
    it(`refuses ${what} with 400 and sends nothing`, async () => {
      const res = await post(path, body);
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, reason);
    });
  }

  it('sent nothing for the refused requests', async () => {
    // A reboot after them is the next command the camera gets.
    assert.equal((await post(`/api/control/reboot/${CAMERA}`)).status, 202);
    await next('system/reboot');
    assert.deepEqual(received, []);
  });
});
