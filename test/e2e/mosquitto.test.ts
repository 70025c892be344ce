/**
 * The shipped cloud flow with an external broker, switched by the environment
 * only (PICAM_MQTT_BROKER=external, host, port, login): a real Mosquitto (the
 * broker seed 001 deploys) with a password file in between.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { API_AUTH, cloudRoleEnv, RUNTIME_START_MS, startCli, type CliProcess } from '../support/cli';
import { activity, CAMERA, connected, environment, PI, topics } from '../support/fixtures';
import { skipWithoutMosquitto, startMosquitto } from '../support/mosquitto';
import { rows } from '../support/records';
import { takeFreePorts } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

/** Device times a few minutes old: the runtime only accepts device clocks near its own (issue 13). */
const T0 = Math.floor(Date.now() / 1000) - 600;

/** Free ports, taken in the first hook: fixed ones collided with other tests run at the same time. */
const PORTS = { http: 0, mqtt: 0, ws: 0 };
const LOGIN = { username: 'devices', password: 'mosquitto-secret-for-tests' };
let BASE = '';
const dir = tempDir('picam-mosquitto-');

const skip = skipWithoutMosquitto;

let broker: ChildProcess | undefined;
let runtime: CliProcess | undefined;
let camera: MqttClient | undefined;

before(async () => {
  await takeFreePorts(PORTS);
  BASE = `http://127.0.0.1:${PORTS.http}`;
  if (skip) return;
  broker = startMosquitto(dir, PORTS.mqtt, LOGIN);

  // The shipped flow, switched to the external broker by the environment alone.
  runtime = startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(dir, PORTS, {
      PICAM_MQTT_BROKER: 'external',
      MQTT_USERNAME: LOGIN.username,
      MQTT_PASSWORD: LOGIN.password,
      PICAM_LOG_LEVEL: 'info',
    }),
  );
  camera = await waitFor('Mosquitto', () =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${PORTS.mqtt}`, { ...LOGIN, clientId: CAMERA, reconnectPeriod: 0 }).catch(() => undefined),
  );
  await waitFor(
    'the API',
    async () =>
      (await fetch(`${BASE}/api/status`, { headers: { authorization: API_AUTH } }).catch(() => undefined))?.ok ? true : undefined,
    RUNTIME_START_MS,
  );
});

after(async () => {
  await camera?.endAsync();
  if (runtime) assert.equal(await runtime.stop(), 0, runtime.output());
  broker?.kill('SIGTERM');
});

it('stores camera and Pi traffic that arrives through Mosquitto, and sends commands back through it', { skip }, async () => {
  const commands: Array<{ topic: string; mode?: string }> = [];
  await camera!.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
  camera!.on('message', (topic, payload) => commands.push({ topic, ...(JSON.parse(payload.toString()) as { mode?: string }) }));

  // mqtt in subscribes once it is connected: repeat the first message until it lands
  await waitFor('the runtime subscribed', async () => {
    await camera!.publishAsync(topics.connection(), JSON.stringify(connected(T0)), { qos: 1 });
    const [r] = await rows<{ n: number }>(join(dir, 'picam-guardian.db'), 'SELECT count(*) AS n FROM camera_registry').catch(() => [
      { n: 0 },
    ]);
    return r!.n > 0 ? true : undefined;
  });
  await camera!.publishAsync(topics.start(), JSON.stringify(activity('evt_mosq_1', T0 + 25)), { qos: 1 });
  await camera!.publishAsync(topics.stop(), JSON.stringify(activity('evt_mosq_1', T0 + 30)), { qos: 1 });
  await camera!.publishAsync(topics.environment(), JSON.stringify(environment(Date.now())), { qos: 1 });

  const events = await waitFor('the event through the API', async () => {
    const body = (await (await fetch(`${BASE}/api/events`, { headers: { authorization: API_AUTH } })).json()) as {
      events: Array<{ event_id: string; duration_seconds: number | null }>;
    };
    return body.events.find((e) => e.event_id === 'evt_mosq_1' && e.duration_seconds !== null);
  });
  assert.equal(events.duration_seconds, 5);
  // Readings take their own path to the store: the event being there says nothing about the reading.
  const sensor = await waitFor('the reading in the store', async () => {
    const [r] = await rows<{ device_id: string }>(join(dir, 'picam-guardian.db'), 'SELECT device_id FROM sensor_readings');
    return r;
  });
  assert.equal(sensor.device_id, PI);

  const res = await fetch(`${BASE}/api/control/mode/${CAMERA}/LIVESTREAMONLY`, { method: 'POST', headers: { authorization: API_AUTH } });
  assert.equal(res.status, 202);
  const cmd = await waitFor('the command through Mosquitto', async () => commands.find((c) => c.topic.endsWith('/system/setmode')));
  assert.equal(cmd.mode, 'LIVESTREAMONLY');
});
