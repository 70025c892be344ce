/**
 * The camera certificate authority (per-camera mode) with real openssl and a CA made by
 * `picam-guardian certs`: one certificate per camera however many requests arrive at once,
 * a new one (the old revoked) after the CA changed, bad input refused with the reason, a
 * damaged index never overwritten, a lock left by a dead process taken over.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeCertificates } from '../../../../cli/commands/certs';
import { CameraCertificateAuthority, normalSerial } from '../../../../nodes/lib/camera-certs/authority';
import { tempDir } from '../../../support/tmp';

const dir = tempDir('picam-camera-ca-');
const CAM = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
let n = 0;

before(async () => {
  await makeCertificates({ dir: join(dir, 'ca'), brokerHosts: ['127.0.0.1'], bits: 2048 });
});

/** A fresh copy of the CA folder per case. */
function certDir(): string {
  const d = join(dir, `case${n++}`);
  cpSync(join(dir, 'ca'), d, { recursive: true });
  return d;
}

const revokedIn = (crl: string) =>
  [
    ...execFileSync('openssl', ['crl', '-in', crl, '-noout', '-text'])
      .toString()
      .matchAll(/Serial Number: ([0-9A-F]+)/g),
  ].map((m) => normalSerial(m[1]!));

describe('camera certificate authority', () => {
  it('issues one certificate for a camera however many requests arrive at once', async () => {
    const authority = new CameraCertificateAuthority(certDir());
    const bundles = await Promise.all([1, 2, 3, 4].map(() => authority.bundle(CAM)));
    assert.equal(new Set(bundles.map((b) => b.certificatePem)).size, 1);
    assert.equal((await authority.list()).length, 1);
  });

  it('issues a new certificate after the CA was replaced, and revokes the old one as superseded', async () => {
    const d = certDir();
    const authority = new CameraCertificateAuthority(d);
    const old = new X509Certificate((await authority.bundle(CAM)).certificatePem);
    await makeCertificates({ dir: d, brokerHosts: ['127.0.0.1'], bits: 2048, force: true });
    const fresh = new X509Certificate((await authority.bundle(CAM)).certificatePem);
    assert.notEqual(fresh.serialNumber, old.serialNumber);
    assert.ok(fresh.checkIssued(new X509Certificate(readFileSync(join(d, 'ca.crt')))));
    assert.equal(await authority.status(old.serialNumber, CAM), 'revoked');
    assert.equal(await authority.status(fresh.serialNumber, CAM), 'current');
    assert.deepEqual(revokedIn(authority.crlFile), [normalSerial(old.serialNumber)]);
  });

  it('knows a certificate only for the camera it was issued to', async () => {
    const authority = new CameraCertificateAuthority(certDir());
    const serial = new X509Certificate((await authority.bundle(CAM)).certificatePem).serialNumber;
    assert.equal(await authority.status(serial, CAM), 'current');
    assert.equal(await authority.status(serial, '67E48798E70345179A86980A7CAAAE73'), 'unknown');
    assert.equal(await authority.status(`00${serial.toLowerCase()}`, CAM), 'current', 'spelling of the serial does not matter');
  });

  it('refuses what is no camera id, and a damaged index, without touching it', async () => {
    const d = certDir();
    const authority = new CameraCertificateAuthority(d);
    await assert.rejects(authority.bundle('../../etc/passwd'), /not a camera id/);
    await assert.rejects(authority.bundle('CAM/CN=evil'), /not a camera id/);
    await authority.bundle(CAM);
    const index = join(d, 'cameras', 'index.json');
    writeFileSync(index, '{"version": 1, "certificates": [');
    await assert.rejects(authority.revoke(CAM), /index\.json is not valid JSON: restore it from the backup/);
    assert.equal(readFileSync(index, 'utf8'), '{"version": 1, "certificates": [', 'left as it was');
  });

  it('takes over a lock a dead process left behind', async () => {
    const d = certDir();
    const authority = new CameraCertificateAuthority(d);
    await authority.ensureCrl();
    const lock = join(d, 'cameras', '.lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(lock, old, old);
    assert.match((await authority.bundle(CAM)).certificatePem, /BEGIN CERTIFICATE/);
  });
});
