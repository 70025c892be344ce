import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certsCli, makeCertificates, type MakeCertificatesResult } from '../../../cli/commands/certs';

const BITS = 2048;
const HOSTS = ['broker.example.test', 'picam.local', '127.0.0.1'];
const CONFIG_HOSTS = ['192.168.1.10', 'cams.example.test'];

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
const fingerprint = (cert: string) => openssl(['x509', '-in', cert, '-noout', '-fingerprint', '-sha256']).trim();
const serialOf = (cert: string) => openssl(['x509', '-in', cert, '-noout', '-serial']).trim();
const text = (cert: string) => openssl(['x509', '-in', cert, '-noout', '-text']);
const mode = (p: string) => statSync(p).mode & 0o777;

describe('certs: CA, broker and shared camera certificates with openssl', () => {
  let root: string;
  let dir: string;
  let first: MakeCertificatesResult;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'certs-test-'));
    dir = join(root, 'nested', 'certs');
    first = await makeCertificates({ dir, brokerHosts: HOSTS, configServerHosts: CONFIG_HOSTS, bits: BITS });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates every file, keys 0600, certificates 0644, the directory 0700', () => {
    assert.deepEqual(first.kept, []);
    assert.equal(first.created.length, 8);
    assert.equal(mode(dir), 0o700);
    const { files } = first;
    for (const k of [files.caKey, files.brokerKey, files.configServerKey, files.clientKey]) assert.equal(mode(k), 0o600, k);
    for (const c of [files.caCert, files.brokerCert, files.configServerCert, files.clientCert]) assert.equal(mode(c), 0o644, c);
    assert.equal(files.configServerCert, join(dir, 'config-server.crt'));
    assert.equal(files.caCert, join(dir, 'ca.crt'));
    assert.equal(files.clientKey, join(dir, 'camera.key'));
  });

  it('writes an empty camera CRL signed by the CA, for Mosquitto in per-camera mode, and re-signs it with a new CA', async () => {
    assert.equal(first.crl, join(dir, 'cameras.crl'));
    assert.equal(mode(first.crl), 0o644);
    const crl = openssl(['crl', '-in', first.crl, '-noout', '-text', '-CAfile', first.files.caCert]);
    assert.match(crl, /No Revoked Certificates/);
    const other = join(root, 'crl-force');
    const oldCa = fingerprint((await makeCertificates({ dir: other, brokerHosts: HOSTS, bits: BITS })).files.caCert);
    const after = await makeCertificates({ dir: other, brokerHosts: HOSTS, bits: BITS, force: true });
    assert.notEqual(fingerprint(after.files.caCert), oldCa);
    // openssl refuses a CRL whose signature is not the CA's.
    openssl(['crl', '-in', after.crl, '-noout', '-CAfile', after.files.caCert]);
  });

  it('the broker and camera certificates verify against the CA', () => {
    const out = openssl(['verify', '-CAfile', first.files.caCert, first.files.brokerCert, first.files.clientCert]);
    assert.match(out, /broker\.crt: OK/);
    assert.match(out, /camera\.crt: OK/);
  });

  it('extensions: CA basics, broker SAN + serverAuth, camera clientAuth', () => {
    const ca = text(first.files.caCert);
    assert.match(ca, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(ca, /Certificate Sign, CRL Sign/);
    assert.match(ca, /Public-Key: \(2048 bit\)/);
    const broker = text(first.files.brokerCert);
    assert.match(broker, /DNS:broker\.example\.test/);
    assert.match(broker, /DNS:picam\.local/);
    assert.match(broker, /IP Address:127\.0\.0\.1/);
    assert.match(broker, /TLS Web Server Authentication/);
    assert.doesNotMatch(broker, /TLS Web Client Authentication/);
    assert.match(broker, /CA:FALSE/);
    const camera = text(first.files.clientCert);
    assert.match(camera, /TLS Web Client Authentication/);
    assert.doesNotMatch(camera, /TLS Web Server Authentication/);
  });

  it('the config server certificate names the addresses cameras dial; the camera certificate is camera_client, RSA 2048', () => {
    openssl(['verify', '-CAfile', first.files.caCert, first.files.configServerCert]);
    const config = text(first.files.configServerCert);
    assert.match(config, /IP Address:192\.168\.1\.10/);
    assert.match(config, /DNS:cams\.example\.test/);
    assert.doesNotMatch(config, /broker\.example\.test/, "its own names, not the broker's");
    assert.match(config, /TLS Web Server Authentication/);
    assert.match(config, /Subject: .*CN ?= ?192\.168\.1\.10/);
    const camera = text(first.files.clientCert);
    assert.match(camera, /Subject: .*CN ?= ?camera_client/);
    assert.match(camera, /Public-Key: \(2048 bit\)/);
  });

  it('running again keeps everything', async () => {
    const before = fingerprint(first.files.caCert);
    const brokerSerial = serialOf(first.files.brokerCert);
    const r = await makeCertificates({ dir, brokerHosts: HOSTS, bits: BITS });
    assert.deepEqual(r.created, []);
    assert.equal(r.kept.length, 8);
    assert.equal(fingerprint(r.files.caCert), before);
    assert.equal(serialOf(r.files.brokerCert), brokerSerial);
  });

  it('renew keeps the CA and re-issues both leaf certificates', async () => {
    const ca = fingerprint(first.files.caCert);
    const brokerSerial = serialOf(first.files.brokerCert);
    const cameraSerial = serialOf(first.files.clientCert);
    const r = await makeCertificates({ dir, brokerHosts: HOSTS, bits: BITS, renew: true });
    assert.deepEqual(r.kept.sort(), [r.files.caCert, r.files.caKey].sort());
    assert.equal(fingerprint(r.files.caCert), ca);
    assert.notEqual(serialOf(r.files.brokerCert), brokerSerial);
    assert.notEqual(serialOf(r.files.clientCert), cameraSerial);
    openssl(['verify', '-CAfile', r.files.caCert, r.files.brokerCert, r.files.clientCert]);
    assert.equal(mode(r.files.brokerKey), 0o600);
  });

  it('refuses to overwrite an incomplete or mismatched CA without force, naming the flag', async () => {
    const partial = join(root, 'partial');
    mkdirSync(partial);
    copyFileSync(first.files.caCert, join(partial, 'ca.crt'));
    await assert.rejects(makeCertificates({ dir: partial, brokerHosts: HOSTS, bits: BITS }), /refusing to overwrite.*--force/s);
    assert.equal(existsSync(join(partial, 'ca.key')), false);
    copyFileSync(first.files.brokerKey, join(partial, 'ca.key'));
    await assert.rejects(makeCertificates({ dir: partial, brokerHosts: HOSTS, bits: BITS }), /does not match.*--force/s);
  });

  it('renew without a CA, and bad hosts, are rejected', async () => {
    await assert.rejects(
      makeCertificates({ dir: join(root, 'none'), brokerHosts: HOSTS, bits: BITS, renew: true }),
      /no(ne)?.*without --renew/,
    );
    await assert.rejects(makeCertificates({ dir: join(root, 'none'), brokerHosts: ['bad host\n[x]'], bits: BITS }), /not a DNS name/);
    await assert.rejects(makeCertificates({ dir: join(root, 'none'), brokerHosts: [], bits: BITS }), /broker host/);
    assert.equal(existsSync(join(root, 'none')), false);
  });

  it('force makes a new CA and re-issues everything', async () => {
    const old = fingerprint(first.files.caCert);
    const r = await makeCertificates({ dir, brokerHosts: HOSTS, bits: BITS, force: true });
    assert.equal(r.created.length, 8);
    assert.notEqual(fingerprint(r.files.caCert), old);
    openssl(['verify', '-CAfile', r.files.caCert, r.files.brokerCert, r.files.clientCert]);
    assert.equal(mode(r.files.caKey), 0o600);
  });

  it('certsCli --help prints usage and returns 0', async () => {
    const lines: string[] = [];
    assert.equal(await certsCli(['--help'], (l) => lines.push(l)), 0);
    assert.match(lines.join('\n'), /usage: picam-guardian certs/);
    assert.match(lines.join('\n'), /--renew/);
  });

  it('certsCli rejects bad --bits, unknown flags and --force with --renew', async () => {
    for (const argv of [['--bits', 'lots'], ['--bits', '512'], ['--bogus'], ['--force', '--renew']]) {
      const lines: string[] = [];
      assert.equal(await certsCli(argv, (l) => lines.push(l)), 1, argv.join(' '));
      assert.match(lines.join('\n'), /picam-guardian certs: /);
    }
    const lines: string[] = [];
    await certsCli(['--bits', 'lots'], (l) => lines.push(l));
    assert.match(lines.join('\n'), /--bits must be a whole number/);
  });

  it('certsCli creates the files and prints where they went and the next steps', async () => {
    const out = join(root, 'cli');
    const lines: string[] = [];
    const code = await certsCli(['--dir', out, '--host', 'mqtt.example.test', '--host', '10.0.0.5', '--bits', String(BITS)], (l) =>
      lines.push(l),
    );
    const all = lines.join('\n');
    assert.equal(code, 0, all);
    assert.match(all, new RegExp(`created ${join(out, 'ca.key')}`));
    assert.match(all, /certfile .*broker\.crt/);
    assert.match(all, /keyfile +.*broker\.key/);
    assert.match(all, /\/hivecam\/cert\/\{camera_id\}/);
    assert.match(all, /privateKey +<- .*camera\.key/);
    assert.match(text(join(out, 'broker.crt')), /IP Address:10\.0\.0\.5/);
    assert.match(text(join(out, 'config-server.crt')), /IP Address:10\.0\.0\.5/, 'the broker names by default');
  });

  it('certsCli takes the config server names from --config-host or PICAM_CONFIG_SERVER_HOSTS', async () => {
    const out = join(root, 'cli-config');
    const lines: string[] = [];
    const saved = process.env.PICAM_CONFIG_SERVER_HOSTS;
    process.env.PICAM_CONFIG_SERVER_HOSTS = '192.168.7.7, cams.lan';
    try {
      assert.equal(await certsCli(['--dir', out, '--host', 'mqtt.example.test', '--bits', String(BITS)], (l) => lines.push(l)), 0);
    } finally {
      if (saved === undefined) delete process.env.PICAM_CONFIG_SERVER_HOSTS;
      else process.env.PICAM_CONFIG_SERVER_HOSTS = saved;
    }
    const config = text(join(out, 'config-server.crt'));
    assert.match(config, /IP Address:192\.168\.7\.7/);
    assert.match(config, /DNS:cams\.lan/);
    assert.match(lines.join('\n'), /config server certificate names: 192\.168\.7\.7, cams\.lan/);
    const flag = join(root, 'cli-config-flag');
    assert.equal(
      await certsCli(['--dir', flag, '--host', 'mqtt.example.test', '--config-host', '10.1.2.3', '--bits', String(BITS)], () => undefined),
      0,
    );
    assert.match(text(join(flag, 'config-server.crt')), /IP Address:10\.1\.2\.3/);
  });
});
