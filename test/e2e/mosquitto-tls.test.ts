/**
 * The shipped production broker config (cloud/mosquitto/) in a real Mosquitto,
 * with certificates made by `npm run certs`: a camera with the camera
 * certificate connects over TLS and publishes; one without a certificate or
 * with a foreign CA's is refused; the ACL drops a device publishing under
 * another device's id. And the shipped cloud flow on this broker, switched to
 * it by the environment alone: a TLS camera's traffic is stored and a mode
 * command from the API reaches it through the ACL.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { makeCertificates } from '../../cli/commands/certs';
import { API_AUTH, cloudRoleEnv, startCli, type CliProcess } from '../support/cli';
import { CAMERA, connected, topics } from '../support/fixtures';
import { skipWithoutMosquitto, startMosquitto } from '../support/mosquitto';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const root = join(__dirname, '..', '..');
const dir = tempDir('picam-mosquitto-tls-');
const CLOUD = { username: 'picam-cloud', password: 'cloud-secret-for-tests' };
let broker: ChildProcess | undefined;
let ports: { local: number; tls: number; ws: number };
let certs: Awaited<ReturnType<typeof makeCertificates>>['files'];
let foreign: Awaited<ReturnType<typeof makeCertificates>>['files'];
let cloud: MqttClient | undefined;
const heard: string[] = [];

/** The shipped config with this test's paths and ports; nothing else changed. */
function config(passwords: string): string {
  return readFileSync(join(root, 'cloud', 'mosquitto', 'mosquitto.conf'), 'utf8')
    .replace(/\/etc\/mosquitto\/picam\/certs\/ca\.crt/g, certs.caCert)
    .replace(/\/etc\/mosquitto\/picam\/certs\/broker\.crt/g, certs.brokerCert)
    .replace(/\/etc\/mosquitto\/picam\/certs\/broker\.key/g, certs.brokerKey)
    .replace(/\/etc\/mosquitto\/picam\/passwords/g, passwords)
    .replace(/\/etc\/mosquitto\/picam\/acl-cameras/g, join(root, 'cloud', 'mosquitto', 'acl-cameras'))
    .replace(/\/etc\/mosquitto\/picam\/acl$/gm, join(root, 'cloud', 'mosquitto', 'acl'))
    .replace(/^listener 1883 127\.0\.0\.1$/m, `listener ${ports.local} 127.0.0.1`)
    .replace(/^listener 8883$/m, `listener ${ports.tls} 127.0.0.1`)
    .replace(/^listener 9001$/m, `listener ${ports.ws} 127.0.0.1`);
}

const camera = (clientId: string, tls: { key?: string; cert?: string; ca: string; username?: string }) =>
  mqtt.connectAsync(`mqtts://127.0.0.1:${ports.tls}`, {
    clientId,
    ...(tls.username ? { username: tls.username } : {}),
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ca: readFileSync(tls.ca),
    ...(tls.key ? { key: readFileSync(tls.key), cert: readFileSync(tls.cert!) } : {}),
    rejectUnauthorized: true,
  });

before(async () => {
  if (skipWithoutMosquitto) return;
  ports = { local: await freePort(), tls: await freePort(), ws: await freePort() };
  certs = (await makeCertificates({ dir: join(dir, 'certs'), brokerHosts: ['127.0.0.1', 'localhost'], bits: 2048 })).files;
  foreign = (await makeCertificates({ dir: join(dir, 'foreign'), brokerHosts: ['127.0.0.1'], bits: 2048 })).files;
  // Mosquitto runs as its own user: the broker's key and certificates must be readable to it.
  chmodSync(join(dir, 'certs'), 0o755);
  for (const f of [certs.brokerKey, certs.caCert, certs.brokerCert]) chmodSync(f, 0o644);
  broker = startMosquitto(dir, ports.local, CLOUD, config);
  cloud = await waitFor('Mosquitto', () =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${ports.local}`, { ...CLOUD, clientId: 'cloud', reconnectPeriod: 0 }).catch(() => undefined),
  );
  await cloud.subscribeAsync('prod/device/#', { qos: 1 });
  cloud.on('message', (topic) => heard.push(topic));
});

after(async () => {
  await cloud?.endAsync();
  broker?.kill('SIGTERM');
});

describe('production broker config', { skip: skipWithoutMosquitto }, () => {
  it('lets a camera with the camera certificate in, and keeps it to its own topics', async () => {
    const cam = await camera('CAM0001', { key: certs.clientKey, cert: certs.clientCert, ca: certs.caCert });
    await cam.publishAsync('prod/device/status/hive-cam/CAM0001', JSON.stringify({ battery: 90 }), { qos: 1 });
    await cam.publishAsync('prod/device/status/hive-cam/CAM0002', JSON.stringify({ battery: 1 }), { qos: 1 });
    await waitFor('its own heartbeat', async () => (heard.includes('prod/device/status/hive-cam/CAM0001') ? true : undefined), 5000);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!heard.includes('prod/device/status/hive-cam/CAM0002'), 'the ACL drops a message under another id');
    await cam.endAsync();
  });

  it('refuses a camera without a certificate, or with a foreign CA’s', async () => {
    await assert.rejects(camera('CAM0003', { ca: certs.caCert }));
    await assert.rejects(camera('CAM0004', { key: foreign.clientKey, cert: foreign.clientCert, ca: certs.caCert }));
  });

  it("gives a certificate holder who claims the runtime's user name no runtime rights", async () => {
    // No password file on 8883: Mosquitto takes the user name as given. acl-cameras grants users nothing.
    const cam = await camera('CAM0005', { key: certs.clientKey, cert: certs.clientCert, ca: certs.caCert, username: CLOUD.username });
    const got: string[] = [];
    cam.on('message', (topic) => got.push(topic));
    // Mosquitto grants a subscription the ACL denies and then delivers nothing through it.
    await cam.subscribeAsync('prod/device/#', { qos: 1 });
    const victim = await camera('CAM0001', { key: certs.clientKey, cert: certs.clientCert, ca: certs.caCert });
    const commands: string[] = [];
    victim.on('message', (topic) => commands.push(topic));
    await victim.subscribeAsync('prod/honeycomb/CAM0001/#', { qos: 1 });
    await cam.publishAsync('prod/honeycomb/CAM0001/system/reboot', '{}', { qos: 1 });
    await victim.publishAsync('prod/device/status/hive-cam/CAM0001', '{"status":"online"}', { qos: 1 });
    await cloud!.publishAsync('prod/honeycomb/CAM0001/system/setmode', '{}', { qos: 1 });
    await waitFor(
      "the runtime's command",
      async () => (commands.includes('prod/honeycomb/CAM0001/system/setmode') ? true : undefined),
      5000,
    );
    await waitFor(
      'the heartbeat at the runtime',
      async () => (heard.includes('prod/device/status/hive-cam/CAM0001') ? true : undefined),
      5000,
    );
    assert.ok(!commands.includes('prod/honeycomb/CAM0001/system/reboot'), 'no command from a camera');
    assert.deepEqual(got, [], "no other device's traffic");
    await cam.endAsync();
    await victim.endAsync();
  });

  it('refuses password listeners without the password', async () => {
    await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${ports.local}`, { clientId: 'x', reconnectPeriod: 0 }));
  });
});

describe('the cloud flow on the production broker', { skip: skipWithoutMosquitto }, () => {
  let runtime: CliProcess | undefined;
  let cam: MqttClient | undefined;
  let base = '';
  const commands: Array<{ topic: string; mode?: string }> = [];

  before(async () => {
    const http = await freePort();
    base = `http://127.0.0.1:${http}`;
    runtime = startCli(
      ['start', '--role', 'cloud'],
      cloudRoleEnv(
        join(dir, 'runtime'),
        { http, mqtt: ports.local, ws: await freePort() },
        {
          PICAM_MQTT_BROKER: 'external',
          MQTT_USERNAME: CLOUD.username,
          MQTT_PASSWORD: CLOUD.password,
          PICAM_DEBOUNCE_SECONDS: '1',
        },
      ),
    );
    await waitFor(
      'the API',
      async () =>
        (await fetch(`${base}/api/status`, { headers: { authorization: API_AUTH } }).catch(() => undefined))?.ok ? true : undefined,
      60_000, // a bound, not a speed: a runtime starts slowly on a loaded machine
    );
    cam = await camera(CAMERA, { key: certs.clientKey, cert: certs.clientCert, ca: certs.caCert });
    await cam.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
    cam.on('message', (topic, payload) => commands.push({ topic, ...(JSON.parse(payload.toString()) as { mode?: string }) }));
  });

  after(async () => {
    await cam?.endAsync();
    if (runtime) assert.equal(await runtime.stop(), 0, runtime.output());
  });

  it('stores a TLS camera that the runtime hears through Mosquitto, and commands it back', async () => {
    const api = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { ...init, headers: { authorization: API_AUTH } });
    // The runtime subscribes once it is connected: repeat until it hears the camera.
    const listed = await waitFor(
      'the camera in the API',
      async () => {
        await cam!.publishAsync(topics.connection(), JSON.stringify(connected(Math.floor(Date.now() / 1000))), { qos: 1 });
        const body = (await (await api('/api/cameras')).json()) as { cameras: Array<{ camera_id: string; connection_status: string }> };
        return body.cameras.find((c) => c.camera_id === CAMERA);
      },
      20_000,
    );
    assert.equal(listed.connection_status, 'connected');
    assert.equal((await api(`/api/control/mode/${CAMERA}/PRIVACY`, { method: 'POST' })).status, 202);
    const command = await waitFor('the setmode command', async () => commands.find((c) => c.topic.endsWith('/system/setmode')));
    assert.equal(command.mode, 'PRIVACY');
  });
});
