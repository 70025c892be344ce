/**
 * picam-broker's camera listener, as real VBC01 cameras connect
 * (vbc01-protocol.md §2, §4): MQTT over TLS 1.2 with the ONE client certificate
 * every camera shares and no password, client id = camera id. Real aedes in a
 * real Node-RED runtime, real mqtt.js clients over real TLS, certificates made
 * by `picam-guardian certs`, the gateway's registry in a real SQLite file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import mqtt, { type IClientOptions } from 'mqtt';
import { makeCertificates, type MakeCertificatesResult } from '../../../cli/commands/certs';
import { localBroker } from '../../../nodes/lib/mqtt/local-broker';
import brokerNode from '../../../nodes/picam-broker/picam-broker';
import databaseNode from '../../../nodes/picam-database/picam-database';
import { EventStore } from '../../../nodes/lib/store/store';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { Collector, helper, spy, text, until, useNodeRed } from '../../support/node-helper';
import { connectOutcome } from '../../support/connect-outcome';

useNodeRed();

const dir = tempDir('picam-broker-tls-');
const CAMERA = '56C1CADCF1FA4C6CAEBA3E2FD85EFEBF';
/** registered through the gateway (its registry in the database), not in the settings */
const ENROLLED = '67E48798E70345179A86980A7CAAAE73';
const UNKNOWN = '0123456789ABCDEF0123456789ABCDEF';
const LOGIN = { username: 'devices', password: 'broker-secret-for-tests' };
let ours: MakeCertificatesResult['files'];
let foreign: MakeCertificatesResult['files'];
let dbFile: string;

before(async () => {
  ours = (await makeCertificates({ dir: join(dir, 'certs'), brokerHosts: ['127.0.0.1', 'localhost'], bits: 2048 })).files;
  foreign = (await makeCertificates({ dir: join(dir, 'foreign'), brokerHosts: ['127.0.0.1'], bits: 2048 })).files;
  dbFile = join(dir, 'registry.db');
  const store = await EventStore.open({ file: dbFile });
  await store.uploads().registerCamera(ENROLLED, 'enrolment');
  await store.close();
});

async function loadBroker(): Promise<{ tlsPort: number; port: number }> {
  const port = await freePort();
  const tlsPort = await freePort();
  await helper.load(
    [brokerNode, databaseNode] as never,
    [
      { id: 'db', type: 'picam-database', file: dbFile, synchronous: 'NORMAL' },
      {
        id: 'b',
        type: 'picam-broker',
        bind: '127.0.0.1',
        port,
        wsPort: '',
        // As `${PICAM_MQTT_TLS_PORT}` arrives from the environment: a string.
        tlsPort: String(tlsPort),
        certDir: join(dir, 'certs'),
        cameras: CAMERA,
        database: 'db',
        prefix: 'prod',
        topic: 'prod/device/#',
        wires: [['out']],
      },
      { id: 'out', type: 'helper' },
    ],
    { b: LOGIN },
  );
  await until('the broker to listen', () => localBroker('b'), 5000);
  return { tlsPort, port };
}

/** A camera as the firmware connects: TLS 1.2, the shared certificate, its id as client id, no password. */
function camera(tlsPort: number, clientId: string, o: { key?: string; cert?: string; ca?: string } & IClientOptions = {}) {
  const { key = ours.clientKey, cert = ours.clientCert, ca = ours.caCert, ...rest } = o;
  return mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, {
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ca: readFileSync(ca),
    ...(key ? { key: readFileSync(key), cert: readFileSync(cert) } : {}),
    rejectUnauthorized: true,
    maxVersion: 'TLSv1.2',
    ...rest,
  } as IClientOptions);
}

describe('picam-broker: cameras over mutual TLS with the shared certificate', () => {
  it('lets a registered camera in with the shared certificate alone, takes its publish and delivers its commands', async () => {
    const { tlsPort } = await loadBroker();
    const out = new Collector('out');
    const cam = await camera(tlsPort, CAMERA);
    try {
      assert.equal((cam.stream as unknown as { getProtocol(): string }).getProtocol(), 'TLSv1.2');
      const granted = await cam.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
      assert.equal(granted[0]!.qos, 1);
      const heartbeat = JSON.stringify({ status: 'online', battery: { level: 80 } });
      await cam.publishAsync(`prod/device/status/hive-cam/${CAMERA}`, heartbeat, { qos: 1 });
      const msg = await out.first(5000);
      assert.equal(msg.topic, `prod/device/status/hive-cam/${CAMERA}`);
      assert.equal(msg.clientId, CAMERA);
      assert.equal(Buffer.from(msg.payload).toString(), heartbeat);

      const command = new Promise<string>((resolve) => cam.once('message', (topic) => resolve(topic)));
      await localBroker('b')!.publish(`prod/honeycomb/${CAMERA}/system/setmode`, Buffer.from('{"mode":"ARMED"}'), {
        qos: 1,
        retain: false,
      });
      assert.equal(await command, `prod/honeycomb/${CAMERA}/system/setmode`);
    } finally {
      await cam.endAsync();
    }
  });

  it('keeps a camera to its own topics', async () => {
    const { tlsPort } = await loadBroker();
    const out = new Collector('out');
    const warnings = spy('b', 'warn');
    const cam = await camera(tlsPort, CAMERA);
    try {
      // mqtt.js rejects a SUBACK that carries 0x80 (failure), with the packet.
      await assert.rejects(
        cam.subscribeAsync(`prod/honeycomb/${UNKNOWN}/#`, { qos: 1 }),
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] === 128,
        "another camera's commands",
      );
      await cam.publishAsync(`prod/device/status/hive-cam/${UNKNOWN}`, '{"status":"online"}', { qos: 1 });
      await cam.publishAsync(`prod/device/message/hive-cam/${CAMERA}/activity/start`, '{"eventId":"e"}', { qos: 1 });
      const msg = await out.first(5000);
      assert.equal(msg.topic, `prod/device/message/hive-cam/${CAMERA}/activity/start`, 'only its own publish came through');
      assert.equal(out.msgs.length, 1);
      await until('the denial logged', () => warnings.map(text).find((w) => w.includes(UNKNOWN)));
    } finally {
      await cam.endAsync();
    }
  });

  it('lets in a camera the gateway registered, and refuses ids that are no registered camera', async () => {
    const { tlsPort } = await loadBroker();
    const warnings = spy('b', 'warn');
    assert.equal(await connectOutcome(camera(tlsPort, ENROLLED)), 'connected', 'enrolled at the gateway');
    assert.equal(await connectOutcome(camera(tlsPort, UNKNOWN)), 'connack 5', 'a camera id nobody registered');
    assert.equal(await connectOutcome(camera(tlsPort, 'picam-1')), 'connack 5', 'not a camera id');
    assert.equal(await connectOutcome(camera(tlsPort, CAMERA.toLowerCase())), 'connack 5', 'camera ids are upper case');
    const logged = await until('the refusal logged', () => warnings.map(text).find((w) => w.includes('not registered')));
    assert.match(logged, new RegExp(UNKNOWN));
  });

  it('refuses, in the TLS handshake, a client without a certificate or with one from another CA', async () => {
    const { tlsPort } = await loadBroker();
    assert.match(await connectOutcome(camera(tlsPort, CAMERA, { key: '', cert: '' })), /^tls: /, 'no client certificate');
    const foreignCert = { key: foreign.clientKey, cert: foreign.clientCert };
    assert.match(await connectOutcome(camera(tlsPort, CAMERA, foreignCert)), /^tls: /, "another CA's certificate");
    assert.match(await connectOutcome(camera(tlsPort, CAMERA, { ca: foreign.caCert })), /^tls: /, 'a broker the client does not trust');
  });

  it('still asks the password on its plain TCP listener', async () => {
    const { port } = await loadBroker();
    const plain = (password: string) =>
      mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: CAMERA, username: LOGIN.username, password, reconnectPeriod: 0 });
    assert.equal(await connectOutcome(plain('wrong')), 'connack 4');
    assert.equal(await connectOutcome(plain(LOGIN.password)), 'connected');
  });
});
