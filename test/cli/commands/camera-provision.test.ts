/**
 * `picam-guardian camera provision`: the files a VBC01 camera needs to find and
 * trust this server (vbc01-protocol.md §2), from certificates made by
 * `picam-guardian certs`; the SQL run on a camera settings file of the real
 * shape; and never the CA's private key.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sqlite3 from 'sqlite3';
import { cameraCli } from '../../../cli/commands/camera-provision';
import { makeCertificates, type MakeCertificatesResult } from '../../../cli/commands/certs';
import { CameraCertificateAuthority } from '../../../nodes/lib/camera-certs/authority';
import { tempDir } from '../../support/tmp';

const dir = tempDir('picam-provision-');
const LAN_IP = '192.168.1.10';
let certs: MakeCertificatesResult['files'];

before(async () => {
  certs = (await makeCertificates({ dir: join(dir, 'certs'), brokerHosts: ['mqtt.example.net'], configServerHosts: [LAN_IP], bits: 2048 }))
    .files;
});

async function provision(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await cameraCli(args, (l) => lines.push(l));
  return { code, out: lines.join('\n') };
}

/** Runs SQL on a SQLite file with the real sqlite3 library. */
function sql(file: string, text: string): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => {
      if (err) return reject(err);
      db.exec(text.replace(/SELECT[^;]*;\s*$/, ''), (e) => {
        if (e) return db.close(() => reject(e));
        db.all('SELECT ID, configSrvHost FROM serverConf', (e2, rows) => db.close(() => (e2 ? reject(e2) : resolve(rows as never))));
      });
    });
  });
}

describe('camera provision', () => {
  it('writes our CA, the shared client pair and the configSrvHost SQL, and prints the exact steps', async () => {
    const out = join(dir, 'out');
    const r = await provision('provision', LAN_IP, '--dir', join(dir, 'certs'), '--out', out);
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /warning/);
    const ca = readFileSync(certs.caCert, 'utf8').trim();
    const cert = readFileSync(certs.clientCert, 'utf8').trim();
    const key = readFileSync(certs.clientKey, 'utf8').trim();
    assert.equal(readFileSync(join(out, 'root-certs', 'mqttCA.crt'), 'utf8').trim(), ca);
    assert.equal(readFileSync(join(out, 'append-ca.crt'), 'utf8').trim(), ca);
    assert.equal(readFileSync(join(out, 'root-certs', 'mqtt.pem'), 'utf8'), `${cert}\n${key}\n`, 'certificate, then its key');
    assert.equal(readFileSync(join(out, 'root-certs', 'mqtt.key'), 'utf8').trim(), key);
    assert.equal(statSync(join(out, 'root-certs', 'mqtt.key')).mode & 0o777, 0o600);
    for (const path of [
      '/root/certs/mqttCA.crt',
      '/cali/certs/mqttCA.crt',
      '/root/certs/mqtt.pem',
      '/root/certs/mqtt.key',
      '/etc/ssl/certs/ca-bundle.trust.crt',
      '/cali/master_ctrl.db',
    ])
      assert.ok(r.out.includes(path), path);
    assert.match(r.out, new RegExp(`1\\|${LAN_IP.replace(/\./g, '\\.')}:80`));
    assert.equal(readFileSync(join(out, 'STEPS.txt'), 'utf8').trim(), r.out.slice(r.out.indexOf('Provisioning')).trim());
  });

  it("never puts our CA's private key among the files", async () => {
    const out = join(dir, 'no-key');
    assert.equal((await provision('provision', LAN_IP, '--dir', join(dir, 'certs'), '--out', out)).code, 0);
    const caKey = readFileSync(certs.caKey, 'utf8').trim().split('\n').slice(1, -1).join('');
    const everything = readdirSync(out, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => readFileSync(join(d.parentPath, d.name), 'utf8').replace(/\n/g, ''))
      .join('');
    assert.ok(!everything.includes(caKey.slice(0, 200)), 'the CA key is nowhere');
    assert.equal((everything.match(/BEGIN PRIVATE KEY/g) ?? []).length, 2, 'only the shared client key, in mqtt.pem and mqtt.key');
  });

  it("with --camera, writes that camera's own certificate (per-camera mode), the same one the gateway then hands it", async () => {
    const CAMERA = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
    const out = join(dir, 'per-camera');
    const r = await provision('provision', LAN_IP, '--dir', join(dir, 'certs'), '--out', out, '--camera', CAMERA);
    assert.equal(r.code, 0, r.out);
    const [cert, key] = readFileSync(join(out, 'root-certs', 'mqtt.pem'), 'utf8').split(/(?=-----BEGIN PRIVATE KEY-----)/);
    const x509 = new X509Certificate(cert!);
    assert.match(x509.subject, new RegExp(`CN=${CAMERA}`));
    assert.ok(x509.checkPrivateKey(createPrivateKey(key!)));
    assert.ok(x509.checkIssued(new X509Certificate(readFileSync(certs.caCert))));
    assert.equal(readFileSync(join(out, 'root-certs', 'mqtt.key'), 'utf8'), key);
    assert.match(r.out, new RegExp(`camera ${CAMERA}'s own client certificate`));
    // What the certificate endpoint serves that camera later is this one, not a new one.
    const served = await new CameraCertificateAuthority(join(dir, 'certs')).bundle(CAMERA);
    assert.equal(served.certificatePem, cert!.trim());
    const bad = await provision('provision', LAN_IP, '--dir', join(dir, 'certs'), '--out', join(dir, 'bad-id'), '--camera', 'cam-1');
    assert.equal(bad.code, 1);
    assert.match(bad.out, /--camera: .*cam-1/);
  });

  it('sets serverConf.configSrvHost in a camera settings file of the real shape', async () => {
    const out = join(dir, 'sql');
    assert.equal((await provision('provision', LAN_IP, '--port', '80', '--dir', join(dir, 'certs'), '--out', out)).code, 0);
    const db = join(dir, 'master_ctrl.db');
    await sql(
      db,
      `CREATE TABLE serverConf (ID INTEGER PRIMARY KEY, configSrvHost TEXT, timeServer TEXT, mqttBrokerHost TEXT, presignedUrlHost TEXT);
       INSERT INTO serverConf VALUES (1, 'config-hive-camera.bgchprod.info', 'time.production.zoo.alertme.com', '', '');`,
    );
    const rows = await sql(db, readFileSync(join(out, 'set-config-server.sql'), 'utf8'));
    assert.deepEqual(rows, [{ ID: 1, configSrvHost: `${LAN_IP}:80` }]);
  });

  it('warns when the config server certificate does not name the address, and refuses bad input with the reason', async () => {
    const other = await provision('provision', '10.9.9.9', '--dir', join(dir, 'certs'), '--out', join(dir, 'other'));
    assert.equal(other.code, 0);
    assert.match(other.out, /warning: the config server certificate does not name 10\.9\.9\.9.*curl error 51.*--config-host 10\.9\.9\.9/);
    const bad = await provision('provision', "1.2.3.4'; DROP TABLE serverConf;--", '--dir', join(dir, 'certs'), '--out', join(dir, 'bad'));
    assert.equal(bad.code, 1);
    assert.match(bad.out, /not a DNS name or IP address/);
    const none = await provision('provision', LAN_IP, '--dir', join(dir, 'nowhere'), '--out', join(dir, 'none'));
    assert.equal(none.code, 1);
    assert.match(none.out, /ca\.crt does not exist: run picam-guardian certs/);
    assert.equal((await provision('provision')).code, 1);
    assert.equal((await provision('provision', LAN_IP, '--port', 'eighty')).code, 1);
  });

  it('the cloud unit may bind port 80 for the config server, and nothing more', () => {
    const unit = readFileSync(join(__dirname, '..', '..', '..', 'cloud', 'systemd', 'picam-guardian-cloud.service'), 'utf8');
    assert.match(unit, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    assert.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  });
});
