/**
 * End to end: the Pi role (flows/pi.json) with a simulated Sense HAT, publishing
 * to a real Mosquitto as a Pi does to the cloud: a retained online message,
 * environment readings every 2 s, heartbeats, the mode confirmed when the cloud
 * sets it, and "disconnected" on a clean stop (close message) and on a crash
 * (Last Will).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { cloudRoleEnv, LOGINS, RUNTIME_START_MS, startCli, type CliProcess } from '../support/cli';
import { skipWithoutMosquitto, startMosquitto } from '../support/mosquitto';
import { RtspReceiver } from '../support/rtsp-receiver';
import { freePort, takeFreePorts } from '../support/ports';
import { crash as crashRuntime } from '../support/processes';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';
import { hasFfmpeg, skipWithoutFfmpeg } from '../support/ffmpeg';

/** Free ports, taken in the first hook: fixed ones collided with other tests run at the same time. */
const PORTS = { http: 0, mqtt: 0, ws: 0 };
const ID = 'picam-e2e';
let URL = '';
const T = {
  connection: `prod/device/connection/picam/${ID}`,
  environment: `prod/device/message/picam/${ID}/sensors/environment`,
  status: `prod/device/status/picam/${ID}`,
  state: `prod/device/message/picam/${ID}/camera/state`,
  activityStart: `prod/device/message/picam/${ID}/activity/start`,
};
let RTSP_PORT = 0;
const dir = tempDir('picam-pi-e2e-');

let broker: ChildProcess | undefined;
let receiver: RtspReceiver | undefined;
let cloud: MqttClient | undefined;
const heard: Array<{ topic: string; payload: any; retain: boolean; atMs: number }> = [];

const startPi = (dataDir: string): CliProcess =>
  startCli(
    ['start', '--role', 'pi'],
    cloudRoleEnv(dataDir, PORTS, {
      PICAM_MQTT_HOST: '127.0.0.1',
      PICAM_DEVICE_ID: ID,
      PICAM_DEVICE_NAME: 'Kitchen Pi',
      PICAM_SENSEHAT_BACKEND: 'simulated',
      PICAM_SENSEHAT_LED: 'simulated',
      // The camera: ffmpeg's moving test pattern, published to a real RTSP receiver.
      PICAM_CAMERA_SOURCE: 'testsrc',
      PICAM_RTSP_URL: `rtsp://127.0.0.1:${RTSP_PORT}/${ID}`,
      PICAM_RTSP_USER: '',
      PICAM_RTSP_PASSWORD: '',
    }),
  );
const on = (topic: string) => heard.filter((h) => h.topic === topic);
const last = (topic: string) => on(topic).at(-1);

before(async () => {
  await takeFreePorts(PORTS);
  URL = `mqtt://127.0.0.1:${PORTS.mqtt}`;
  RTSP_PORT = await freePort();
  if (skipWithoutMosquitto) return;
  broker = startMosquitto(dir, PORTS.mqtt, LOGINS.devices);
  cloud = await waitFor('Mosquitto', () =>
    mqtt.connectAsync(URL, { ...LOGINS.devices, clientId: 'cloud-listener', reconnectPeriod: 0 }).catch(() => undefined),
  );
  await cloud.subscribeAsync('prod/device/#', { qos: 1 });
  cloud.on('message', (topic, payload, packet) =>
    heard.push({
      topic,
      // Thumbnails are JPEG bytes; everything else is JSON.
      payload: topic.includes('/activity/thumbnail/') ? payload : JSON.parse(payload.toString()),
      retain: packet.retain,
      atMs: Date.now(),
    }),
  );
  if (hasFfmpeg) {
    receiver = new RtspReceiver({ port: RTSP_PORT, path: ID, dir });
    receiver.start();
  }
});

after(async () => {
  await receiver?.stop();
  await cloud?.endAsync();
  broker?.kill('SIGTERM');
});

describe('Pi runtime against a real broker', { skip: skipWithoutMosquitto }, () => {
  it('comes online, publishes readings every 2 s and heartbeats, confirms a mode, and says goodbye', async () => {
    const pi = startPi(tempDir('picam-pi-data-'));
    try {
      const online = await waitFor('online message', async () => last(T.connection), RUNTIME_START_MS);
      assert.equal(online.payload.status, 'connected');
      assert.equal(online.payload.name, 'Kitchen Pi');

      await waitFor('three readings', async () => (on(T.environment).length >= 3 ? true : undefined), 15_000);
      const readings = on(T.environment);
      for (const r of readings) {
        for (const field of ['temperature', 'humidity', 'pressure', 'timestamp']) assert.equal(typeof r.payload[field], 'number', field);
      }
      // Every 2 s, not a flood: on average no closer than that allows. Only a lower bound: a loaded
      // machine delays a tick (one gap of 2.6 s, the next 1.3 s), and three readings within the
      // 15 s wait above bound it from the other side.
      const times = readings.map((r) => r.payload.timestamp as number);
      assert.deepEqual(
        [...times].sort((a, b) => a - b),
        times,
        'in order',
      );
      const meanGap = (times.at(-1)! - times[0]!) / (times.length - 1);
      assert.ok(meanGap >= 1500, `about 2 s apart on average: ${meanGap} ms`);

      const heartbeat = await waitFor('heartbeat', async () => last(T.status), 10_000);
      assert.equal(typeof heartbeat.payload.uptime, 'number');

      // It says which mode it starts in, before any command.
      const initial = await waitFor('the starting mode', async () => last(T.state), 10_000);
      assert.equal(initial.payload.mode, 'ARMED');

      await cloud!.publishAsync(
        `prod/honeycomb/${ID}/system/setmode`,
        JSON.stringify({
          requestId: 'req_e2e',
          creationTimestamp: new Date().toISOString(),
          sourceId: ID,
          sourceType: 'picam',
          mode: 'PRIVACY',
        }),
        { qos: 1 },
      );
      const state = await waitFor(
        'mode confirmed',
        async () => (last(T.state)?.payload.mode === 'PRIVACY' ? last(T.state) : undefined),
        10_000,
      );
      assert.equal(state.payload.mode, 'PRIVACY');

      // A cloud that connects later still learns the Pi is online: the message is retained.
      const late = await mqtt.connectAsync(URL, { ...LOGINS.devices, clientId: 'late', reconnectPeriod: 0 });
      const retained = new Promise<any>((resolve) =>
        late.once('message', (_t, p, packet) => resolve({ ...JSON.parse(p.toString()), retain: packet.retain })),
      );
      await late.subscribeAsync(T.connection, { qos: 1 });
      assert.deepEqual(await retained, { ...online.payload, retain: true });
      await late.endAsync();
    } finally {
      assert.equal(await pi.stop(), 0, `the Pi runtime stops cleanly:\n${pi.output()}`);
    }
    const bye = await waitFor('offline after a clean stop', async () =>
      last(T.connection)?.payload.status === 'disconnected' ? last(T.connection) : undefined,
    );
    assert.deepEqual(bye.payload, { status: 'disconnected' });
  });

  it('streams the camera and sends its motion to the cloud with a thumbnail, like a VBC01', { skip: skipWithoutFfmpeg }, async () => {
    const pi = startPi(tempDir('picam-pi-data-'));
    try {
      const start = await waitFor('activity start', async () => last(T.activityStart), 30_000);
      assert.equal(start.payload.activityType, 'MOTION');
      const thumbnail = await waitFor(
        'thumbnail',
        async () => last(`prod/device/message/picam/${ID}/activity/thumbnail/${start.payload.eventId}`),
        10_000,
      );
      assert.deepEqual([...(thumbnail.payload as Buffer).subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
      await receiver!.waitForFrames(15, 20_000);
      const heartbeat = await waitFor(
        'a heartbeat with the stream streaming',
        async () => on(T.status).find((h) => h.payload.streamState === 'streaming'),
        40_000,
      );
      assert.ok(heartbeat);
    } finally {
      assert.equal(await pi.stop(), 0, `the Pi runtime stops cleanly:\n${pi.output()}`);
    }
  });

  it('has the broker announce it offline when the Pi dies (Last Will)', async () => {
    const pi = startPi(tempDir('picam-pi-data-'));
    try {
      await waitFor('online', async () => (last(T.connection)?.payload.status === 'connected' ? true : undefined), RUNTIME_START_MS);
    } finally {
      // also when it never came online: a runtime left running would outlive the test run
      await crashRuntime(pi.child);
    }
    const will = await waitFor('the will', async () =>
      last(T.connection)?.payload.status === 'disconnected' ? last(T.connection) : undefined,
    );
    assert.deepEqual(will.payload, { status: 'disconnected' });
  });
});
