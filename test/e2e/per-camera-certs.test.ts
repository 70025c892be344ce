/**
 * The shipped cloud flow, switched to per-camera certificates by the environment alone
 * (PICAM_CERT_MODE=per-camera), with its embedded broker: a registered camera fetches its own
 * certificate from the gateway as the firmware does, connects with it over mutual TLS and is
 * stored as connected; another camera's certificate cannot connect under its id; removing the
 * camera through the API revokes its certificate, ends its connection and refuses the next.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { makeCertificates } from '../../cli/commands/certs';
import { API_AUTH, cloudRoleEnv, RUNTIME_START_MS, startCli, type CliProcess } from '../support/cli';
import { CAMERA, CAMERA_2, connected, topics } from '../support/fixtures';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const dir = tempDir('picam-e2e-per-camera-');
let runtime: CliProcess | undefined;
let base = '';
let gateway = '';
let tlsPort = 0;

interface Bundle {
  certificatePem: string;
  privateKey: string;
  caCertificate: string;
}

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { authorization: API_AUTH, 'content-type': 'application/json', ...init.headers } });

/** A VBC01 camera's MQTT login: TLS 1.2 with the certificate the gateway handed it, its id as client id. */
const camera = (clientId: string, b: Bundle) =>
  mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, {
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ca: b.caCertificate,
    cert: b.certificatePem,
    key: b.privateKey,
    rejectUnauthorized: true,
    maxVersion: 'TLSv1.2',
  } as IClientOptions);

const refusedWith = (attempt: Promise<MqttClient>) =>
  attempt.then(
    async (c) => {
      await c.endAsync();
      return 'connected';
    },
    (err: { code?: number }) => `connack ${err.code}`,
  );

before(async () => {
  const data = join(dir, 'data');
  await makeCertificates({ dir: join(data, 'certs'), brokerHosts: ['127.0.0.1'], bits: 2048 });
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort(), gateway: await freePort() };
  tlsPort = await freePort();
  base = `http://127.0.0.1:${ports.http}`;
  gateway = `http://127.0.0.1:${ports.gateway}`;
  runtime = startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(data, ports, {
      PICAM_MQTT_BROKER: 'embedded',
      PICAM_MQTT_TLS_PORT: String(tlsPort),
      PICAM_CERT_MODE: 'per-camera',
      PICAM_DEBOUNCE_SECONDS: '1',
    }),
  );
  await waitFor('the API', async () => ((await api('/api/status').catch(() => undefined))?.ok ? true : undefined), RUNTIME_START_MS);
  await waitFor('the gateway', async () => ((await fetch(`${gateway}/health`).catch(() => undefined))?.ok ? true : undefined));
});

after(async () => {
  if (runtime) assert.equal(await runtime.stop(), 0, runtime.output());
});

describe('cloud runtime with a certificate per camera', () => {
  it('issues a registered camera its own certificate, lets it in with it, and keeps others from its id; removing it revokes it', async () => {
    for (const id of [CAMERA, CAMERA_2])
      assert.equal((await api('/api/gateway/register', { method: 'POST', body: JSON.stringify({ cameraId: id }) })).status, 200);
    const fetchBundle = async (id: string) => {
      const res = await fetch(`${gateway}/hivecam/cert/${id}`);
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as Bundle;
    };
    const own = await fetchBundle(CAMERA);
    assert.match(new X509Certificate(own.certificatePem).subject, new RegExp(`CN=${CAMERA}`));
    const other = await fetchBundle(CAMERA_2);

    const cam = await camera(CAMERA, own);
    const listed = await waitFor('the camera connected in the API', async () => {
      await cam.publishAsync(topics.connection(), JSON.stringify(connected(Math.floor(Date.now() / 1000))), { qos: 1 });
      const body = (await (await api('/api/cameras')).json()) as { cameras: Array<{ camera_id: string; connection_status: string }> };
      return body.cameras.find((c) => c.camera_id === CAMERA && c.connection_status === 'connected');
    });
    assert.ok(listed);
    assert.equal(await refusedWith(camera(CAMERA, other)), 'connack 2', "another camera's certificate under this id");
    assert.equal(cam.connected, true);

    const closed = new Promise<void>((resolve) => cam.once('close', () => resolve()));
    const removed = await api('/api/gateway/unregister', { method: 'POST', body: JSON.stringify({ cameraId: CAMERA }) });
    assert.equal(removed.status, 200);
    assert.equal(((await removed.json()) as { revokedCertificates: string[] }).revokedCertificates.length, 1);
    await closed;
    assert.equal(await refusedWith(camera(CAMERA, own)), 'connack 5', 'the revoked certificate');
    assert.equal((await fetch(`${gateway}/hivecam/cert/${CAMERA}`)).status, 403);
  });
});
