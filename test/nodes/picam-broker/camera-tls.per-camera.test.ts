/**
 * picam-broker's camera listener with a certificate per camera (PICAM_CERT_MODE=per-camera):
 * real aedes in a real Node-RED runtime, real mqtt.js clients over real TLS, certificates our
 * CA issued per camera the way the gateway does at enrolment (nodes/lib/camera-certs). The
 * certificate, not the client id, says which camera connects: a client id other than the
 * certificate's camera is refused, a publish under another camera's id is dropped, a revoked
 * certificate (also one revoked while the broker runs) and the shared one are refused.
 * The shared mode: camera-tls.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { makeCertificates, type MakeCertificatesResult } from '../../../cli/commands/certs';
import { CameraCertificateAuthority, type CameraCertificateBundle } from '../../../nodes/lib/camera-certs/authority';
import { localBroker } from '../../../nodes/lib/mqtt/local-broker';
import brokerNode from '../../../nodes/picam-broker/picam-broker';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { Collector, helper, runtimeLog, spy, text, until, useNodeRed } from '../../support/node-helper';
import { connectOutcome } from '../../support/connect-outcome';

useNodeRed();

const dir = tempDir('picam-broker-per-camera-');
const A = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
const B = '67E48798E70345179A86980A7CAAAE73';
const REMOVED = '0123456789ABCDEF0123456789ABCDEF';
const LATER = 'FEDCBA9876543210FEDCBA9876543210';
const CONNECTED = 'AAAABBBBCCCCDDDDEEEEFFFF00001111';
const LOGIN = { username: 'devices', password: 'broker-secret-for-tests' };
const certDir = join(dir, 'certs');
let files: MakeCertificatesResult['files'];
let authority: CameraCertificateAuthority;
const bundles = new Map<string, CameraCertificateBundle>();

before(async () => {
  files = (await makeCertificates({ dir: certDir, brokerHosts: ['127.0.0.1', 'localhost'], bits: 2048 })).files;
  authority = new CameraCertificateAuthority(certDir);
  for (const id of [A, B, REMOVED, LATER, CONNECTED]) bundles.set(id, await authority.bundle(id));
  await authority.revoke(REMOVED);
});

async function loadBroker(certMode: string): Promise<number> {
  const tlsPort = await freePort();
  await helper.load(
    [brokerNode] as never,
    [
      {
        id: 'b',
        type: 'picam-broker',
        bind: '127.0.0.1',
        port: await freePort(),
        wsPort: '',
        tlsPort: String(tlsPort),
        certDir,
        certMode,
        // Registered (the settings list); the certificate decides which of them connects.
        cameras: [A, B, REMOVED, LATER, CONNECTED].join(','),
        prefix: 'prod',
        topic: 'prod/device/#',
        wires: [['out']],
      },
      { id: 'out', type: 'helper' },
    ],
    { b: LOGIN },
  );
  await until('the broker to listen', () => localBroker('b'), 5000);
  return tlsPort;
}

/** A camera with the certificate and key the endpoint handed it (or the shared pair). */
function camera(tlsPort: number, clientId: string, bundle: { certificatePem: string; privateKey: string }): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, {
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ca: readFileSync(files.caCert),
    cert: bundle.certificatePem,
    key: bundle.privateKey,
    rejectUnauthorized: true,
    maxVersion: 'TLSv1.2',
  } as IClientOptions);
}

const shared = () => ({ certificatePem: readFileSync(files.clientCert, 'utf8'), privateKey: readFileSync(files.clientKey, 'utf8') });

describe('picam-broker: cameras over mutual TLS with a certificate per camera', () => {
  it("takes a camera's events under its own certificate, and drops what it publishes under another camera's id", async () => {
    const tlsPort = await loadBroker('per-camera');
    const out = new Collector('out');
    const cam = await camera(tlsPort, A, bundles.get(A)!);
    try {
      await cam.publishAsync(`prod/device/status/hive-cam/${B}`, '{"status":"online"}', { qos: 1 });
      await cam.publishAsync(`prod/device/message/hive-cam/${A}/activity/start`, '{"eventId":"e-1"}', { qos: 1 });
      const msg = await out.first(5000);
      assert.equal(msg.topic, `prod/device/message/hive-cam/${A}/activity/start`);
      assert.equal(msg.clientId, A);
      assert.equal(out.msgs.length, 1, "nothing under B's id");
    } finally {
      await cam.endAsync();
    }
  });

  it("refuses a client id other than the certificate's camera, even a registered one, and leaves that camera connected", async () => {
    const tlsPort = await loadBroker('per-camera');
    const warnings = spy('b', 'warn');
    const victim = await camera(tlsPort, B, bundles.get(B)!);
    try {
      assert.equal(await connectOutcome(camera(tlsPort, B, bundles.get(A)!)), 'connack 2', "A's certificate with B's client id");
      assert.equal(victim.connected, true, 'B keeps its session');
      const logged = await until('the refusal logged', () => warnings.map(text).find((w) => w.includes('is not the certificate')));
      assert.match(logged, new RegExp(`"${B}" is not the certificate's camera ${A}`));
    } finally {
      await victim.endAsync();
    }
  });

  it('refuses a revoked certificate, one revoked while it runs, and the shared certificate', async () => {
    const tlsPort = await loadBroker('per-camera');
    const warnings = spy('b', 'warn');
    assert.equal(await connectOutcome(camera(tlsPort, REMOVED, bundles.get(REMOVED)!)), 'connack 5', 'revoked before');
    assert.equal(await connectOutcome(camera(tlsPort, LATER, bundles.get(LATER)!)), 'connected');
    await authority.revoke(LATER); // the gateway's unregister
    assert.equal(await connectOutcome(camera(tlsPort, LATER, bundles.get(LATER)!)), 'connack 5', 'revoked while the broker runs');
    assert.equal(await connectOutcome(camera(tlsPort, A, shared())), 'connack 5', 'the shared certificate names no camera');
    // Refusals are logged at most once a minute (the rest folded in): the first says why.
    const logged = await until('the reason logged', () => warnings.map(text).find((w) => /is revoked/.test(w)));
    assert.match(logged, new RegExp(`certificate of camera ${REMOVED} \\(serial [0-9A-F]+\\) is revoked`));
  });

  it('disconnects a connected camera when its certificate is revoked, and no other', async () => {
    const tlsPort = await loadBroker('per-camera');
    const warnings = spy('b', 'warn');
    const removed = await camera(tlsPort, CONNECTED, bundles.get(CONNECTED)!);
    const other = await camera(tlsPort, A, bundles.get(A)!);
    try {
      const closed = new Promise<void>((resolve) => removed.once('close', () => resolve()));
      await authority.revoke(CONNECTED); // the gateway's unregister, while the camera is connected
      await closed;
      await until('the disconnection logged', () => warnings.map(text).find((w) => w.includes(`disconnected "${CONNECTED}"`)));
      assert.equal(other.connected, true, 'the other camera stays');
    } finally {
      await removed.endAsync(true);
      await other.endAsync();
    }
  });

  it('still lets the shared certificate in, by client id, in the shared mode', async () => {
    const tlsPort = await loadBroker('shared');
    assert.equal(await connectOutcome(camera(tlsPort, A, shared())), 'connected');
  });

  it('opens no camera listener for a mode it does not know', async () => {
    const tlsPort = await loadBroker('per-device');
    const warned = runtimeLog();
    assert.ok(warned.some((l) => /no camera TLS listener: PICAM_CERT_MODE must be shared or per-camera/.test(l)));
    assert.match(await connectOutcome(camera(tlsPort, A, bundles.get(A)!)), /^tls: ECONNREFUSED/);
  });
});
