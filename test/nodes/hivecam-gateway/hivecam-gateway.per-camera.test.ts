/**
 * hivecam-gateway with a certificate per camera (PICAM_CERT_MODE=per-camera), in a real
 * Node-RED runtime with a real SQLite file and a CA made by `picam-guardian certs`: the
 * certificate endpoint issues a registered or enrolling camera its own certificate (its id as
 * the common name, signed by our CA), hands it the same one again, never to another camera;
 * `unregister` revokes it into the CRL. The shared mode: hivecam-gateway.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeCertificates } from '../../../cli/commands/certs';
import databaseNode from '../../../nodes/picam-database/picam-database';
import gatewayNode from '../../../nodes/hivecam-gateway/hivecam-gateway';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';
import { Collector, helper, node, runtimeLog, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir('picam-gateway-per-camera-');
const CAM_A = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
const CAM_NEW = 'A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5';
const STRANGER = 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF';
let ca: X509Certificate;
let n = 0;

interface Bundle {
  certificatePem: string;
  privateKey: string;
  caCertificate: string;
}

before(async () => {
  await makeCertificates({ dir: join(dir, 'ca'), brokerHosts: ['127.0.0.1'], bits: 2048 });
  ca = new X509Certificate(readFileSync(join(dir, 'ca', 'ca.crt')));
});

/** A gateway whose certificates folder holds our CA (a copy per case); CAM_A in its settings. */
async function load(o: { certMode?: string; withCa?: boolean; serving?: boolean } = {}): Promise<{ base: string; certs: string }> {
  const certs = join(dir, `case${n++}`, 'certs');
  mkdirSync(certs, { recursive: true });
  for (const f of ['ca.crt', 'ca.key', 'camera.crt', 'camera.key']) {
    if (o.withCa === false && f === 'ca.key') continue;
    execFileSync('cp', [join(dir, 'ca', f), join(certs, f)]);
  }
  const port = await freePort();
  await helper.load(
    [databaseNode, gatewayNode],
    [
      { id: 'db', type: 'picam-database', file: join(certs, '..', 'gateway.db'), synchronous: 'NORMAL' },
      {
        id: 'gw',
        type: 'hivecam-gateway',
        database: 'db',
        port,
        bind: '127.0.0.1',
        brokerHost: '127.0.0.1',
        brokerPort: 8883,
        certDir: certs,
        // As `${PICAM_CERT_MODE}` arrives from the environment.
        certMode: o.certMode ?? 'per-camera',
        uploadDir: join(certs, '..', 'uploads'),
        cameras: CAM_A,
        wires: [[], ['events']],
      },
      { id: 'events', type: 'helper' },
    ],
  );
  const base = `http://127.0.0.1:${port}`;
  if (o.serving === false) return { base, certs };
  await waitFor('the gateway listening', async () => ((await fetch(`${base}/health`).catch(() => undefined))?.ok ? true : undefined), 5000);
  return { base, certs };
}

async function fetchBundle(base: string, id: string): Promise<Bundle> {
  const res = await fetch(`${base}/hivecam/cert/${id}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Bundle;
}

async function command(topic: string, payload?: unknown) {
  const events = new Collector('events');
  node('gw').receive({ topic, payload });
  return (await until('a reply', () => events.msgs.find((m) => m.topic === topic))) as { payload: any; statusCode: number };
}

describe('hivecam-gateway: a certificate per camera', () => {
  it('issues each camera its own certificate, named by its id and signed by our CA, and hands it the same one again', async () => {
    const { base, certs } = await load();
    const logged = [spy('gw', 'log'), spy('gw', 'warn')];
    const a = await fetchBundle(base, CAM_A);
    const cert = new X509Certificate(a.certificatePem);
    assert.match(cert.subject, new RegExp(`CN=${CAM_A}`));
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by our CA');
    assert.ok(cert.checkPrivateKey(createPrivateKey(a.privateKey)), 'the key belongs to the certificate');
    assert.equal(a.caCertificate, ca.toString().trim());
    assert.notEqual(a.certificatePem, readFileSync(join(certs, 'camera.crt'), 'utf8').trim(), 'not the shared certificate');
    // The camera fetches at every boot: the same certificate, not a new one each time.
    assert.equal((await fetchBundle(base, CAM_A)).certificatePem, a.certificatePem);
    assert.equal(statSync(join(certs, 'cameras', `${CAM_A}.key`)).mode & 0o777, 0o600);

    // An enrolling camera gets its own, never CAM_A's.
    assert.equal((await command('enrolment', { minutes: 5 })).statusCode, 200);
    const b = await fetchBundle(base, CAM_NEW);
    assert.match(new X509Certificate(b.certificatePem).subject, new RegExp(`CN=${CAM_NEW}`));
    assert.notEqual(b.privateKey, a.privateKey);
    await command('enrolment', { minutes: 0 });

    // A stranger gets nothing, and nothing is issued for it.
    assert.equal((await fetch(`${base}/hivecam/cert/${STRANGER}`)).status, 403);
    assert.ok(!existsSync(join(certs, 'cameras', `${STRANGER}.crt`)));

    const listed = await command('cameras');
    assert.equal(listed.payload.certificateMode, 'per-camera');
    assert.deepEqual(listed.payload.certificates.map((c: { cameraId: string }) => c.cameraId).sort(), [CAM_A, CAM_NEW].sort());
    // Keys never reach the log.
    await until('the certificate requests logged', () => logged[0]!.length > 0);
    for (const line of logged.flat().map(text)) assert.doesNotMatch(line, /PRIVATE KEY/);
  });

  it('revokes the certificate when the camera is removed: CRL, index, files, endpoint', async () => {
    const { base, certs } = await load();
    const a = await fetchBundle(base, CAM_NEW).catch(() => undefined);
    assert.equal(a, undefined, 'not registered yet');
    assert.equal((await command('register', { cameraId: CAM_NEW })).statusCode, 200);
    const issued = new X509Certificate((await fetchBundle(base, CAM_NEW)).certificatePem);

    const removed = await command('unregister', { cameraId: CAM_NEW });
    assert.equal(removed.statusCode, 200);
    assert.deepEqual(removed.payload.revokedCertificates, [issued.serialNumber.replace(/^0+/, '')]);
    const crl = execFileSync('openssl', ['crl', '-in', join(certs, 'cameras.crl'), '-noout', '-text']).toString();
    assert.match(crl, new RegExp(`Serial Number: 0*${issued.serialNumber.replace(/^0+/, '')}`));
    // The CRL is our CA's: openssl verifies its signature.
    execFileSync('openssl', ['crl', '-in', join(certs, 'cameras.crl'), '-noout', '-CAfile', join(certs, 'ca.crt')]);
    assert.ok(!existsSync(join(certs, 'cameras', `${CAM_NEW}.key`)), 'the key is gone');
    const index = JSON.parse(readFileSync(join(certs, 'cameras', 'index.json'), 'utf8')) as {
      certificates: Array<{ revokedMs: number | null }>;
    };
    assert.ok(index.certificates.every((c) => c.revokedMs !== null));
    assert.equal((await fetch(`${base}/hivecam/cert/${CAM_NEW}`)).status, 403);
  });

  it('writes an empty CRL at start, so Mosquitto has one before any camera was removed', async () => {
    const { certs } = await load();
    await until('the CRL', () => existsSync(join(certs, 'cameras.crl')));
    const crl = execFileSync('openssl', ['crl', '-in', join(certs, 'cameras.crl'), '-noout', '-text']).toString();
    assert.match(crl, /No Revoked Certificates/);
  });

  it('answers 503 with the reason when the CA key is missing, and issues nothing', async () => {
    const { base, certs } = await load({ withCa: false });
    const warnings = spy('gw', 'warn');
    const res = await fetch(`${base}/hivecam/cert/${CAM_A}`);
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /certificates are not set up/);
    await until('the reason logged', () => warnings.map(text).find((w) => /ca\.key/.test(w) && /picam-guardian certs/.test(w)));
    assert.ok(!existsSync(join(certs, 'cameras', `${CAM_A}.crt`)));
    rmSync(certs, { recursive: true, force: true });
  });

  it('refuses a certificate mode it does not know, naming the two', async () => {
    // Reported while the node is made, before a spy could be attached: the helper's log has it.
    await load({ certMode: 'per-device', serving: false });
    const logged = runtimeLog();
    assert.ok(
      logged.some((l) => /PICAM_CERT_MODE must be shared or per-camera/.test(l)),
      'the settings error names the two modes',
    );
    // It serves no certificates at all rather than fall back to the shared one.
    assert.match(JSON.stringify((node('gw') as unknown as { status: { args: unknown[][] } }).status.args.at(-1)), /bad settings/);
  });
});
