/**
 * The shipped rabbitmq.conf's camera listener in a real RabbitMQ, with certificates made by
 * `npm run certs` (as cloud/mosquitto's 8883 listener is tested in test/e2e/mosquitto-tls):
 * TLS 1.2 with a client certificate as the login, the certificate's common name as the user
 * (camera_client), and the shipped topic rule keeping each camera to its client id's topics.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { makeCertificates } from '../../cli/commands/certs';
import { CAMERA, CAMERA_2, heartbeat, topics } from '../support/fixtures';
import { freePort } from '../support/ports';
import { RabbitCluster, shippedRabbitSettings, skipWithoutRabbitMQ } from '../support/rabbitmq';
import { tempDir } from '../support/tmp';

const CLOUD = { username: 'picam-cloud', password: 'cloud-secret-for-tests' };

describe('the cameras’ TLS listener of the shipped RabbitMQ configuration', { skip: skipWithoutRabbitMQ }, () => {
  let rabbit: RabbitCluster;
  let tlsPort: number;
  let certs: Awaited<ReturnType<typeof makeCertificates>>['files'];
  let foreign: Awaited<ReturnType<typeof makeCertificates>>['files'];

  before(async () => {
    const dir = tempDir('picam-rabbitmq-tls-');
    certs = (await makeCertificates({ dir: join(dir, 'certs'), brokerHosts: ['127.0.0.1', 'localhost'], bits: 2048 })).files;
    foreign = (await makeCertificates({ dir: join(dir, 'foreign'), brokerHosts: ['127.0.0.1'], bits: 2048 })).files;
    tlsPort = await freePort();
    rabbit = await RabbitCluster.start({
      nodes: 1,
      settings: shippedRabbitSettings({ port: tlsPort, caCert: certs.caCert, brokerCert: certs.brokerCert, brokerKey: certs.brokerKey }),
    });
    await rabbit.loadDefinitions({ [CLOUD.username]: CLOUD.password });
  });
  after(() => rabbit?.stop());

  const camera = (
    clientId: string,
    files?: { clientKey: string; clientCert: string },
    login: { username?: string; password?: string } = {},
  ) =>
    mqtt.connectAsync(`mqtts://127.0.0.1:${tlsPort}`, {
      clientId,
      ...login,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ca: readFileSync(certs.caCert),
      ...(files ? { key: readFileSync(files.clientKey), cert: readFileSync(files.clientCert) } : {}),
      rejectUnauthorized: true,
    });

  it('lets a camera in with the camera certificate and no password, to its own topics only', async () => {
    const cam = await camera(CAMERA, certs);
    cam.on('error', () => undefined);
    await cam.publishAsync(topics.status(CAMERA), JSON.stringify(heartbeat(1_800_000_000)), { qos: 1 });
    const closed = new Promise<void>((resolve) => cam.once('close', () => resolve()));
    cam.publish(topics.status(CAMERA_2), JSON.stringify(heartbeat(1_800_000_001)), { qos: 1 });
    await closed;

    const model = await amqp.connect(rabbit.amqpUrl(CLOUD.username, CLOUD.password));
    try {
      const channel = await model.createChannel();
      const got: string[] = [];
      for (let m = await channel.get('picam.device'); m; m = await channel.get('picam.device')) {
        got.push(m.fields.routingKey);
        channel.ack(m);
      }
      assert.deepEqual(got, [`prod.device.status.hive-cam.${CAMERA}`]);
    } finally {
      await model.close();
    }
  });

  it('refuses a camera without a certificate, with a foreign CA’s, or claiming the runtime’s user', async () => {
    await assert.rejects(camera('CAM0003'));
    await assert.rejects(camera('CAM0004', foreign));
    await assert.rejects(camera('CAM0005', certs, { username: CLOUD.username, password: 'guessed' }));
  });
});
