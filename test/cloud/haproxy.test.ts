/**
 * The shipped cloud/cluster/haproxy.cfg in a real HAProxy, on loopback: devices' MQTT reaches
 * only broker nodes that answer MQTT (a node whose port is open but whose broker does not
 * speak is taken out, as a stopped one is), and the dashboard only runtimes whose /healthz
 * says 200. The runtimes here are stand-ins serving /healthz (a real runtime's answer is
 * tested in test/e2e); the broker is a real RabbitMQ node with the shipped settings.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import https from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { Haproxy, skipWithoutHaproxy } from '../support/haproxy';
import { freePort } from '../support/ports';
import { RabbitCluster, skipWithoutRabbitMQ } from '../support/rabbitmq';
import { waitFor } from '../support/wait';

const CAM = { username: 'camera-for-tests', password: 'camera-secret-for-tests' };

/** GET over HTTPS, trusting the throwaway certificate the test gave HAProxy. */
function httpsBody(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function runtimeStandIn(name: string, healthy: boolean): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'starting');
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })),
  );
}

describe('HAProxy with the shipped configuration', { skip: skipWithoutHaproxy || skipWithoutRabbitMQ }, () => {
  let rabbit: RabbitCluster;
  let haproxy: Haproxy;
  let mute: TcpServer;
  const runtimes: Server[] = [];

  before(async () => {
    rabbit = await RabbitCluster.start({ nodes: 1 });
    await rabbit.loadDefinitions({});
    await rabbit.addUserLike(CAM.username, CAM.password, 'camera_client');
    // A "node" whose port is open but which never answers MQTT (a hung broker).
    // HAProxy ends each check with a reset: that is its way, not a failure.
    mute = createTcpServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const good = await runtimeStandIn('runtime-1', true);
    const starting = await runtimeStandIn('runtime-2', false);
    runtimes.push(good.server, starting.server);
    haproxy = await Haproxy.start({
      brokers: [rabbit.nodes[0]!.mqttPort, (mute.address() as { port: number }).port, await freePort()],
      runtimes: [good.port, starting.port],
    });
  });
  after(async () => {
    await haproxy?.stop();
    await rabbit?.stop();
    mute?.close();
    for (const s of runtimes) s.close();
  });

  it('takes out broker nodes that do not answer MQTT and runtimes whose /healthz fails', async () => {
    const states = await waitFor(
      'the health checks',
      async () => {
        const s = await haproxy.serverStates();
        return s['rabbitmq_mqtt/broker-2'] === 'DOWN' && s['runtimes/runtime-2'] === 'DOWN' && s['rabbitmq_mqtt/broker-1'] === 'UP'
          ? s
          : undefined;
      },
      20_000,
    );
    assert.deepEqual(
      [states['rabbitmq_mqtt/broker-1'], states['rabbitmq_mqtt/broker-2'], states['rabbitmq_mqtt/broker-3']],
      ['UP', 'DOWN', 'DOWN'],
    );
    assert.deepEqual([states['runtimes/runtime-1'], states['runtimes/runtime-2']], ['UP', 'DOWN']);

    // Every device connection lands on the node that works.
    for (let i = 0; i < 6; i++) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${haproxy.ports.mqtt}`, {
        ...CAM,
        clientId: `CAFE${i}`,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5000,
      });
      await c.endAsync();
    }
    // Every dashboard request goes to the healthy runtime; plain HTTP is sent to HTTPS.
    const redirect = await fetch(`http://127.0.0.1:${haproxy.ports.http}/`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.match(redirect.headers.get('location') ?? '', /^https:\/\//);
    const served: string[] = [];
    for (let i = 0; i < 4; i++) served.push(await httpsBody(`https://127.0.0.1:${haproxy.ports.https}/`));
    assert.deepEqual(served, ['runtime-1', 'runtime-1', 'runtime-1', 'runtime-1']);
  });
});
