/**
 * The config server as VBC01 firmware calls it (vbc01-protocol.md §3, §8): HTTPS
 * on the camera's port with a certificate from our CA naming the address it
 * dials, TLS 1.2, the nested config answer, the certificate answer with the
 * firmware's keys, POST answered as GET, /health, 404 for the rest. A real
 * Node-RED runtime with the gateway node; real certificates made by
 * `picam-guardian certs`; real TLS clients (Node's, capped at TLS 1.2, and curl
 * with --tlsv1.2 --tls-max 1.2) trusting only our CA.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { before, describe, it } from 'node:test';
import { makeCertificates, type MakeCertificatesResult } from '../../../cli/commands/certs';
import databaseNode from '../../../nodes/picam-database/picam-database';
import gatewayNode from '../../../nodes/hivecam-gateway/hivecam-gateway';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';
import { helper, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir('picam-config-server-');
const CAMERA = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
const STRANGER = '0123456789ABCDEF0123456789ABCDEF';
let ours: MakeCertificatesResult['files'];
let foreign: MakeCertificatesResult['files'];
let n = 0;

before(async () => {
  ours = (
    await makeCertificates({
      dir: join(dir, 'certs'),
      brokerHosts: ['mqtt.example.net'],
      configServerHosts: ['127.0.0.1', 'localhost'],
      bits: 2048,
    })
  ).files;
  foreign = (await makeCertificates({ dir: join(dir, 'foreign'), brokerHosts: ['127.0.0.1'], bits: 2048 })).files;
});

interface Answer {
  status: number;
  body: string;
  protocol: string | null;
  contentType?: string;
}

/** One HTTPS request as the camera's curl makes it: TLS 1.2, our CA only, the address it dialled. */
function camera(port: number, path: string, o: { method?: string; ca?: string; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        ca: readFileSync(o.ca ?? ours.caCert),
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.2',
        agent: false,
        headers: o.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(o.body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: Buffer.concat(chunks).toString('utf8'),
            protocol: (res.socket as TLSSocket).getProtocol(),
            contentType: res.headers['content-type'],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

async function load(settings: Record<string, unknown> = {}): Promise<{ port: number }> {
  const work = join(dir, `case${n++}`);
  mkdirSync(work, { recursive: true });
  const port = await freePort();
  await helper.load(
    [databaseNode, gatewayNode],
    [
      { id: 'db', type: 'picam-database', file: join(work, 'gateway.db'), synchronous: 'NORMAL' },
      {
        id: 'gw',
        type: 'hivecam-gateway',
        database: 'db',
        port,
        bind: '127.0.0.1',
        // As the shipped flow's `${PICAM_GATEWAY_HTTPS}` arrives: a string.
        https: 'true',
        brokerHost: 'mqtt.example.net',
        brokerPort: '8883',
        certDir: join(dir, 'certs'),
        uploadDir: join(work, 'uploads'),
        cameras: CAMERA,
        ...settings,
        wires: [[], []],
      },
    ],
  );
  return { port };
}

async function loadListening(settings: Record<string, unknown> = {}): Promise<{ port: number }> {
  const loaded = await load(settings);
  await waitFor(
    'the gateway serving HTTPS',
    async () => ((await camera(loaded.port, '/health').catch(() => undefined))?.status === 200 ? true : undefined),
    10_000,
  );
  return loaded;
}

const hasCurl = spawnSync('curl', ['--version']).status === 0;

describe('hivecam-gateway: the config server over HTTPS, as the firmware calls it', () => {
  it('answers the nested config over TLS 1.2 to a client that trusts only our CA', async () => {
    const { port } = await loadListening();
    const res = await camera(port, `/hivecam/${CAMERA}`);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.protocol, 'TLSv1.2');
    assert.match(res.contentType ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), {
      mqtt: {
        broker: 'mqtt.example.net',
        port: 8883,
        topics: {
          connect: `prod/device/connection/hive-cam/${CAMERA}`,
          disconnect: `prod/device/connection/hive-cam/${CAMERA}`,
          status: `prod/device/status/hive-cam/${CAMERA}`,
          publish: `prod/device/message/hive-cam/${CAMERA}`,
          subscribe: `prod/honeycomb/${CAMERA}`,
        },
      },
      timeServer: 'time.google.com',
      wakeupInterval: 604800,
      statusInterval: 600,
      fileUploadServerUrl: `https://mqtt.example.net:${port}/fileservice`,
      firmwareServerUrl: `https://mqtt.example.net:${port}/firmware`,
      certificateServerUrl: `https://mqtt.example.net:${port}`,
    });
  });

  it('uses the public URL, topic prefix and time server from the settings', async () => {
    const { port } = await loadListening({ publicUrl: 'https://192.168.1.10:80/', prefix: 'site', timeServer: 'pool.ntp.org' });
    const config = JSON.parse((await camera(port, `/hivecam/${CAMERA}`)).body);
    assert.equal(config.fileUploadServerUrl, 'https://192.168.1.10:80/fileservice');
    assert.equal(config.certificateServerUrl, 'https://192.168.1.10:80');
    assert.equal(config.mqtt.topics.subscribe, `site/honeycomb/${CAMERA}`);
    assert.equal(config.timeServer, 'pool.ntp.org');
  });

  it("gives a registered camera the shared client certificate, its key and our CA under the firmware's keys", async () => {
    const { port } = await loadListening();
    const res = await camera(port, `/hivecam/cert/${CAMERA}`);
    assert.equal(res.status, 200, res.body);
    const bundle = JSON.parse(res.body) as Record<string, string>;
    assert.deepEqual(Object.keys(bundle).sort(), ['caCertificate', 'certificatePem', 'privateKey']);
    assert.equal(bundle.certificatePem, readFileSync(ours.clientCert, 'utf8').trim());
    assert.equal(bundle.privateKey, readFileSync(ours.clientKey, 'utf8').trim());
    assert.equal(bundle.caCertificate, readFileSync(ours.caCert, 'utf8').trim());
    const cert = new X509Certificate(bundle.certificatePem!);
    assert.match(cert.subject, /CN=camera_client/);
    assert.ok(cert.verify(new X509Certificate(bundle.caCertificate!).publicKey), 'signed by the CA it came with');
    const stranger = await camera(port, `/hivecam/cert/${STRANGER}`);
    assert.equal(stranger.status, 403, 'an unregistered camera outside the enrolment window');
  });

  it('answers POST on the config and certificate paths exactly as GET', async () => {
    const { port } = await loadListening();
    for (const path of [`/hivecam/${CAMERA}`, `/hivecam/cert/${CAMERA}`]) {
      const get = await camera(port, path);
      const post = await camera(port, path, { method: 'POST', body: '{"anything": true}' });
      assert.equal(post.status, 200, path);
      assert.deepEqual(JSON.parse(post.body), JSON.parse(get.body), path);
    }
  });

  it('answers /health, and 404 for any other path, GET or POST', async () => {
    const { port } = await loadListening();
    const health = await camera(port, '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'healthy', service: 'config_server' });
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/firmware'],
      ['POST', '/api/cameras'],
      ['GET', `/hivecam/cert/${CAMERA}/extra`],
    ] as const) {
      assert.equal((await camera(port, path, { method })).status, 404, `${method} ${path}`);
    }
  });

  it('fails the handshake for a client that trusts another CA', async () => {
    const { port } = await loadListening();
    await assert.rejects(camera(port, `/hivecam/${CAMERA}`, { ca: foreign.caCert }), (err: NodeJS.ErrnoException) => {
      assert.match(err.code ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED/);
      return true;
    });
  });

  it(
    'serves curl capped at TLS 1.2 with our CA (as the camera calls it); curl with another CA fails with 60',
    { skip: !hasCurl && 'curl is not installed' },
    async () => {
      const { port } = await loadListening();
      // Not spawnSync: the gateway answering it runs in this process.
      const curl = (ca: string, ...extra: string[]) =>
        new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
          execFile(
            'curl',
            ['-sS', '--tlsv1.2', '--tls-max', '1.2', '--cacert', ca, ...extra, `https://127.0.0.1:${port}/hivecam/${CAMERA}`],
            { encoding: 'utf8' },
            (err, stdout, stderr) => resolve({ status: err ? Number(err.code) : 0, stdout, stderr }),
          ),
        );
      const ok = await curl(ours.caCert);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).mqtt.port, 8883);
      const posted = await curl(ours.caCert, '-X', 'POST', '-d', '');
      assert.equal(posted.status, 0, posted.stderr);
      assert.deepEqual(JSON.parse(posted.stdout), JSON.parse(ok.stdout));
      const wrong = await curl(foreign.caCert);
      assert.equal(wrong.status, 60, `curl: ${wrong.stderr}`);
    },
  );

  it('without its certificate it says how to make it and serves no camera; a bad switch is refused by name', async () => {
    const empty = join(dir, 'no-certs');
    mkdirSync(empty, { recursive: true });
    await load({ certDir: empty });
    const errors = spy('gw', 'error');
    const missing = await until('the error', () => errors.map(text).find((e) => /config-server\.crt does not exist/.test(e)), 5000);
    assert.match(missing, /picam-guardian certs --config-host/);
    await helper.unload();
    await load({ https: 'maybe' });
    // Reported while the node is created (before a spy could be attached): read Node-RED's log.
    const logged = () =>
      (helper as unknown as { log(): { args: Array<[{ msg?: unknown }]> } })
        .log()
        .args.map(([entry]) => String(entry?.msg ?? ''))
        .find((m) => /https must be true or false \(got "maybe"\)/.test(m));
    assert.ok(await until('the bad switch named in the log', logged, 5000));
  });
});
