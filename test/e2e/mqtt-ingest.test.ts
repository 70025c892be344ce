/**
 * Nothing acknowledged is lost with an external broker: the shipped cloud flow
 * on a real Mosquitto with the shipped queue limits, its runtime killed with
 * SIGKILL while a Pi publishes QoS 1 readings, and started again. Every reading
 * Mosquitto acknowledged to the Pi must be a row afterwards: the runtime
 * acknowledges only what it committed, its persistent session keeps what
 * arrives while it is down (more than Mosquitto's default queue of 1,000), and
 * Mosquitto redelivers what was never acknowledged.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { AckedReadings } from '../support/acked-readings';
import { API_AUTH, cloudRoleEnv, RUNTIME_START_MS, startCli, type CliProcess } from '../support/cli';
import { PI } from '../support/fixtures';
import { skipWithoutMosquitto, startMosquitto, shippedMosquittoConfig } from '../support/mosquitto';
import { freePort } from '../support/ports';
import { rows } from '../support/records';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const LOGIN = { username: 'picam-cloud', password: 'ingest-secret-for-tests' };
const dir = tempDir('picam-ingest-');
const db = join(dir, 'runtime', 'picam-guardian.db');

let broker: ChildProcess | undefined;
let runtime: CliProcess | undefined;
let pi: MqttClient | undefined;
let ports: { http: number; mqtt: number; ws: number };

const startRuntime = () =>
  startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(join(dir, 'runtime'), ports, {
      PICAM_MQTT_BROKER: 'external',
      MQTT_USERNAME: LOGIN.username,
      MQTT_PASSWORD: LOGIN.password,
    }),
  );

const storedReadings = async () =>
  (await rows<{ n: number }>(db, 'SELECT count(*) AS n FROM sensor_readings WHERE device_id = ?', [PI]).catch(() => [{ n: 0 }]))[0]!.n;

const healthy = async () => ((await fetch(`http://127.0.0.1:${ports.http}/healthz`).catch(() => undefined))?.ok ? true : undefined);

describe('mqtt-ingest on Mosquitto', { skip: skipWithoutMosquitto }, () => {
  before(async () => {
    ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    broker = startMosquitto(dir, ports.mqtt, LOGIN, shippedMosquittoConfig(ports.mqtt));
    pi = await waitFor('Mosquitto', () =>
      mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { ...LOGIN, clientId: PI, reconnectPeriod: 0 }).catch(() => undefined),
    );
    runtime = startRuntime();
    await waitFor(
      'the API',
      async () =>
        (await fetch(`http://127.0.0.1:${ports.http}/api/status`, { headers: { authorization: API_AUTH } }).catch(() => undefined))?.ok
          ? true
          : undefined,
      RUNTIME_START_MS,
    );
  });

  after(async () => {
    await pi?.endAsync();
    if (runtime) await runtime.stop();
    broker?.kill('SIGTERM');
  });

  it('loses no acknowledged reading across a kill -9 and a restart, with more queued meanwhile than Mosquitto’s default limit', async () => {
    const readings = new AckedReadings(() => pi!);
    const { acked } = readings;
    const publish = (count: number) => readings.publish(count);
    // The runtime subscribes once it is connected: its session exists from then on.
    await waitFor('the runtime subscribed', async () => {
      await publish(1);
      return (await storedReadings()) > 0 ? true : undefined;
    });
    // Readings before the runtime's session existed had no subscriber to be queued for.
    acked.clear();

    // Publish in bursts until the runtime is mid-stream, then kill it without warning.
    let stored = 0;
    while (stored < 1500) {
      await publish(500);
      stored = await storedReadings();
    }
    await publish(500);
    runtime!.child.kill('SIGKILL');
    await runtime!.stop();
    // While it is down: more than Mosquitto's default max_queued_messages (1,000).
    await publish(3000);

    runtime = startRuntime();
    await waitFor('the runtime back', healthy, 30_000);
    const storedTimes = async () =>
      new Set(
        (await rows<{ t: number }>(db, 'SELECT time_ms AS t FROM sensor_readings WHERE device_id = ?', [PI]).catch(() => [])).map(
          (r) => r.t,
        ),
      );
    const lost = await readings.missingAfter(storedTimes, 90_000);
    assert.equal(lost.length, 0, `${lost.length} of ${acked.size} acknowledged readings lost`);
  });
});
