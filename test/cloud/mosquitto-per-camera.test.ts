/**
 * Per-camera certificates (PICAM_CERT_MODE=per-camera) in a real Mosquitto with the shipped
 * config switched as its comment says, certificates issued by our CA the way the gateway issues
 * them at enrolment (nodes/lib/camera-certs): a camera with its own certificate publishes its
 * events; one publishing under another camera's id is dropped even when it connects with that
 * camera's client id (and does not knock that camera off); a revoked certificate is refused at
 * the handshake, also one revoked while Mosquitto runs (after the reload the CRL sync does).
 * The shared mode on the same shipped file: test/e2e/mosquitto-tls.test.ts.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { makeCertificates } from '../../cli/commands/certs';
import { CameraCertificateAuthority, type CameraCertificateBundle } from '../../nodes/lib/camera-certs/authority';
import { perCameraMosquittoConf, skipWithoutMosquitto, startMosquitto } from '../support/mosquitto';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const root = join(__dirname, '..', '..');
const dir = tempDir('picam-mosquitto-per-camera-');
const CLOUD = { username: 'picam-cloud', password: 'cloud-secret-for-tests' };
const A = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
const B = '67E48798E70345179A86980A7CAAAE73';
const REMOVED = '0123456789ABCDEF0123456789ABCDEF';
const LATER = 'FEDCBA9876543210FEDCBA9876543210';
const status = (id: string) => `prod/device/status/hive-cam/${id}`;

let broker: ChildProcess | undefined;
let ports: { local: number; tls: number; ws: number };
let authority: CameraCertificateAuthority;
let caPem = '';
/** where Mosquitto reads the CRL: a copy, as cloud/install.sh and the CRL sync unit make */
let crlCopy = '';
const bundles = new Map<string, CameraCertificateBundle>();
const heard: string[] = [];
const clients: MqttClient[] = [];

function config(passwords: string, certDir: string): string {
  const shipped = readFileSync(join(root, 'cloud', 'mosquitto', 'mosquitto.conf'), 'utf8');
  return perCameraMosquittoConf(shipped)
    .replace(/\/etc\/mosquitto\/picam\/certs\/ca\.crt/g, join(certDir, 'ca.crt'))
    .replace(/\/etc\/mosquitto\/picam\/certs\/broker\.crt/g, join(certDir, 'broker.crt'))
    .replace(/\/etc\/mosquitto\/picam\/certs\/broker\.key/g, join(certDir, 'broker.key'))
    .replace(/\/etc\/mosquitto\/picam\/certs\/cameras\.crl/g, crlCopy)
    .replace(/\/etc\/mosquitto\/picam\/passwords/g, passwords)
    .replace(/\/etc\/mosquitto\/picam\/acl-cameras-per-camera/g, join(root, 'cloud', 'mosquitto', 'acl-cameras-per-camera'))
    .replace(/\/etc\/mosquitto\/picam\/acl$/gm, join(root, 'cloud', 'mosquitto', 'acl'))
    .replace(/^listener 1883 127\.0\.0\.1$/m, `listener ${ports.local} 127.0.0.1`)
    .replace(/^listener 8883$/m, `listener ${ports.tls} 127.0.0.1`)
    .replace(/^listener 9001$/m, `listener ${ports.ws} 127.0.0.1`);
}

/** A camera as the firmware connects, with the certificate and key the endpoint handed it. */
async function camera(clientId: string, bundle: { certificatePem: string; privateKey: string }): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${ports.tls}`, {
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ca: caPem,
    cert: bundle.certificatePem,
    key: bundle.privateKey,
    rejectUnauthorized: true,
    maxVersion: 'TLSv1.2',
  } as IClientOptions);
  clients.push(c);
  return c;
}

/** Copies the CRL where Mosquitto reads it and makes it reload (what picam-guardian-crl.service does). */
function syncCrl(): void {
  copyFileSync(authority.crlFile, crlCopy);
  chmodSync(crlCopy, 0o644);
  broker!.kill('SIGHUP');
}

before(async () => {
  if (skipWithoutMosquitto) return;
  ports = { local: await freePort(), tls: await freePort(), ws: await freePort() };
  const certDir = join(dir, 'certs');
  await makeCertificates({ dir: certDir, brokerHosts: ['127.0.0.1', 'localhost'], bits: 2048 });
  caPem = readFileSync(join(certDir, 'ca.crt'), 'utf8');
  authority = new CameraCertificateAuthority(certDir);
  for (const id of [A, B, REMOVED, LATER]) bundles.set(id, await authority.bundle(id));
  assert.deepEqual((await authority.revoke(REMOVED)).length, 1);
  crlCopy = join(dir, 'cameras.crl');
  // Mosquitto, started as root, reads as the "mosquitto" user.
  chmodSync(certDir, 0o755);
  chmodSync(join(certDir, 'broker.key'), 0o644);
  copyFileSync(authority.crlFile, crlCopy);
  chmodSync(crlCopy, 0o644);
  broker = startMosquitto(dir, ports.local, CLOUD, (passwords) => config(passwords, certDir));
  const cloud = await waitFor('Mosquitto', () =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${ports.local}`, { ...CLOUD, clientId: 'cloud', reconnectPeriod: 0 }).catch(() => undefined),
  );
  clients.push(cloud);
  await cloud.subscribeAsync('prod/device/#', { qos: 1 });
  cloud.on('message', (topic) => heard.push(topic));
});

after(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  broker?.kill('SIGTERM');
});

describe('Mosquitto with per-camera certificates (the shipped config, switched)', { skip: skipWithoutMosquitto }, () => {
  it('takes a camera with its own certificate and delivers its own commands', async () => {
    const cam = await camera(A, bundles.get(A)!);
    const commands: string[] = [];
    cam.on('message', (topic) => commands.push(topic));
    await cam.subscribeAsync(`prod/honeycomb/${A}/#`, { qos: 1 });
    await cam.publishAsync(`prod/device/message/hive-cam/${A}/activity/start`, '{"eventId":"e-1"}', { qos: 1 });
    await waitFor('its activity at the runtime', async () =>
      heard.includes(`prod/device/message/hive-cam/${A}/activity/start`) ? true : undefined,
    );
    const cloud = clients[0]!;
    await cloud.publishAsync(`prod/honeycomb/${A}/system/setmode`, '{"mode":"ARMED"}', { qos: 1 });
    await waitFor('its command', async () => (commands.length ? true : undefined));
    assert.deepEqual(commands, [`prod/honeycomb/${A}/system/setmode`]);
  });

  it("drops a camera's publish under another camera's id, even with that camera's client id, and leaves that camera connected", async () => {
    const victim = await camera(B, bundles.get(B)!);
    // A's certificate, B's client id: Mosquitto replaces the client id with the certificate's name.
    const impostor = await camera(B, bundles.get(A)!);
    await impostor.publishAsync(status(B), '{"status":"online","battery":1}', { qos: 1 });
    await impostor.publishAsync(`prod/device/message/hive-cam/${B}/activity/start`, '{"eventId":"forged"}', { qos: 1 });
    // Its own topic last: once that is in, a forged one let through would be ahead of it.
    await impostor.publishAsync(status(A), '{"status":"online"}', { qos: 1 });
    await waitFor("the impostor's own heartbeat", async () => (heard.includes(status(A)) ? true : undefined));
    assert.ok(!heard.includes(status(B)), "no heartbeat under B's id from A's certificate");
    assert.ok(!heard.some((t) => t.includes(`/${B}/activity`)), "no activity under B's id");
    assert.equal(victim.connected, true, 'B was not knocked off by a client claiming its id');
    await victim.publishAsync(status(B), '{"status":"online"}', { qos: 1 });
    await waitFor("B's own heartbeat", async () => (heard.includes(status(B)) ? true : undefined));
  });

  it('gives the shared certificate no camera topics', async () => {
    const certDir = join(dir, 'certs');
    const shared = {
      certificatePem: readFileSync(join(certDir, 'camera.crt'), 'utf8'),
      privateKey: readFileSync(join(certDir, 'camera.key'), 'utf8'),
    };
    const cam = await camera(LATER, shared);
    await cam.publishAsync(status(LATER), '{"status":"online"}', { qos: 1 });
    const own = await camera(A, bundles.get(A)!);
    await own.publishAsync(`prod/device/connection/hive-cam/${A}`, '{"status":"connected"}', { qos: 1 });
    await waitFor("A's connection message", async () => (heard.includes(`prod/device/connection/hive-cam/${A}`) ? true : undefined));
    assert.ok(!heard.includes(status(LATER)), 'nothing published with the shared certificate');
  });

  it('refuses a revoked certificate, also one revoked while Mosquitto runs', async () => {
    await assert.rejects(camera(REMOVED, bundles.get(REMOVED)!), 'revoked before the start');
    // LATER connects, is removed (the gateway revokes), the CRL goes to Mosquitto, which reloads.
    const before = await camera(LATER, bundles.get(LATER)!);
    await before.endAsync();
    await authority.revoke(LATER);
    syncCrl();
    await waitFor(
      'the revoked certificate refused',
      async () =>
        await camera(LATER, bundles.get(LATER)!).then(
          () => undefined,
          () => true,
        ),
    );
    // The others still come in after the reload.
    const still = await camera(B, bundles.get(B)!);
    assert.equal(still.connected, true);
  });
});
