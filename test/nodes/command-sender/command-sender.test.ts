/**
 * command-sender in a real Node-RED runtime: API commands from mqtt-processor
 * are committed to the SQLite queue before the 202, reach a real device client
 * through a real broker (Mosquitto, or aedes in-process as the embedded broker)
 * once it is there, expire with a reason when it is not, survive a flow restart,
 * and are refused with 503 when the store cannot commit them.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import createAedes, { type Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import senderNode from '../../../nodes/command-sender/command-sender';
import { registerLocalBroker } from '../../../nodes/lib/mqtt/local-broker';
import { RUNTIME_CLIENT_ID_PREFIX } from '../../../nodes/lib/runtime-identity';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode, { type PicamDatabaseNode } from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { CAMERA, connected, topics } from '../../support/fixtures';
import { skipWithoutMosquitto, startMosquitto } from '../../support/mosquitto';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';
import { Collector, helper, node, spy, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir('picam-commands-');
chmodSync(dir, 0o755); // Mosquitto, started as root, reads its files as the "mosquitto" user
const LOGIN = { username: 'devices', password: 'commands-test-secret' };
const rebootTopic = `prod/honeycomb/${CAMERA}/system/reboot`;
const setmodeTopic = `prod/honeycomb/${CAMERA}/system/setmode`;
let fileNo = 0;

interface Flow {
  /** the API's replies (command-sender output 1, or mqtt-processor's refusals) */
  replies: Collector;
  /** GET /api/commands/{id}, as the flow's http in → sqlite-events query would answer it */
  command(id: string): Promise<{ statusCode: number; payload: any }>;
  /** POST /api/control/... as http in hands it to mqtt-processor */
  post(path: string, params: Record<string, string>): Promise<Record<string, any>>;
}

/** The cloud flow's command path: processor → command-sender → replies, and the commands query. */
async function load(file: string, sender: Record<string, unknown>): Promise<Flow> {
  helper.settings({ userDir: dir });
  const flow = [
    { id: 'db', type: 'picam-database', file, maxBatch: 100, maxDelayMs: 5, synchronous: 'NORMAL' },
    {
      id: 'p1',
      type: 'mqtt-processor',
      prefix: 'prod',
      deviceTypes: 'hive-cam,picam',
      database: 'db',
      wires: [[], [], ['cs'], ['replies']],
    },
    { id: 'cs', type: 'command-sender', database: 'db', broker: '', host: '', wires: [['replies'], []], ...sender },
    { id: 'q', type: 'sqlite-events', database: 'db', mode: 'query', query: 'commands', wires: [['answers']] },
    { id: 'replies', type: 'helper' },
    { id: 'answers', type: 'helper' },
  ];
  await helper.load([databaseNode, processorNode, senderNode, eventsNode], flow, {
    cs: { user: LOGIN.username, password: LOGIN.password },
  });
  const replies = new Collector('replies');
  const answers = new Collector('answers');
  // The processor only commands devices it knows: the camera says hello first.
  node('p1').receive({ topic: topics.connection(), payload: Buffer.from(JSON.stringify(connected())) });
  let asked = 0;
  return {
    replies,
    async command(id) {
      const res = { id: `get-${++asked}` };
      node('q').receive({ req: { params: { id }, query: {} }, res });
      return waitFor('the commands query', async () => answers.msgs.find((m) => m.res === res) as any);
    },
    async post(path, params) {
      const res = { id: `post-${++asked}` };
      node('p1').receive({ req: { path, params }, res });
      return waitFor(`the reply to POST ${path}`, async () => replies.msgs.find((m) => m.res === res));
    },
  };
}

const postReboot = (f: Flow) => f.post(`/api/control/reboot/${CAMERA}`, { id: CAMERA });
const postMode = (f: Flow, mode: string) => f.post(`/api/control/mode/${CAMERA}/${mode}`, { id: CAMERA, mode });

/** A camera as the firmware is: a persistent session (clean: false) subscribed to its command topics. */
class Device {
  readonly received: Array<{ topic: string; payload: Record<string, any> }> = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => this.received.push({ topic, payload: JSON.parse(payload.toString()) }));
  }

  static async connect(port: number, login?: typeof LOGIN): Promise<Device> {
    const client = await waitFor('the broker', () =>
      mqtt
        .connectAsync(`mqtt://127.0.0.1:${port}`, { ...login, clientId: CAMERA, clean: false, reconnectPeriod: 0 })
        .catch(() => undefined),
    );
    // From now on it comes back by itself after an outage, as a camera does.
    client.options.reconnectPeriod = 100;
    await client.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
    return new Device(client);
  }

  wait(topic: string, requestId: string) {
    return waitFor(`the device to receive ${requestId}`, async () =>
      this.received.find((m) => m.topic === topic && m.payload.requestId === requestId),
    );
  }

  count(requestId: string): number {
    return this.received.filter((m) => m.payload.requestId === requestId).length;
  }
}

/** Mosquitto keeping sessions on disk, so a device's subscription survives the broker's outage. */
class Broker {
  private process?: ChildProcess;
  private readonly dir: string;
  constructor(readonly port: number) {
    this.dir = join(dir, `mosquitto-${port}`);
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    chmodSync(join(this.dir, 'data'), 0o777);
  }

  start(): void {
    this.process = startMosquitto(this.dir, this.port, LOGIN, (passwords) =>
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${passwords}`,
        'persistence true',
        `persistence_location ${join(this.dir, 'data')}/`,
        '',
      ].join('\n'),
    );
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    await new Promise((r) => {
      p.once('exit', r);
      p.kill('SIGTERM');
    });
  }
}

const brokers: Broker[] = [];
const devices: Device[] = [];
after(async () => {
  for (const d of devices) await d.client.endAsync(true);
  for (const b of brokers) await b.stop();
});

/** A device with a persistent session on a broker that is then stopped: the broker is away. */
async function brokerAway(): Promise<{ broker: Broker; device: Device }> {
  const broker = new Broker(await freePort());
  brokers.push(broker);
  broker.start();
  const device = await Device.connect(broker.port, LOGIN);
  devices.push(device);
  await broker.stop();
  return { broker, device };
}

const external = (port: number, extra: Record<string, unknown> = {}) => ({ host: '127.0.0.1', port, ...extra });

describe('command-sender with an external broker (Mosquitto)', { skip: skipWithoutMosquitto }, () => {
  it('accepts a reboot while the broker is away as queued, and delivers it exactly once when the broker returns', async () => {
    const { broker, device } = await brokerAway();
    const f = await load(join(dir, `q${++fileNo}.db`), external(broker.port));
    const statuses = spy('cs', 'status');
    const shown = (pattern: RegExp) =>
      waitFor(`status ${pattern}`, async () => statuses.find((c) => pattern.test((c.args[0] as { text?: string }).text ?? '')));

    const reply = await postReboot(f);
    assert.equal(reply.statusCode, 202);
    assert.equal(reply.payload.status, 'ok');
    assert.equal(reply.payload.data.state, 'queued');
    const id = reply.payload.data.requestId as string;
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(reply.payload.data.statusUrl, `/api/commands/${id}`);

    const queued = await f.command(id);
    assert.equal(queued.statusCode, 200);
    assert.equal(queued.payload.command.state, 'queued');
    assert.equal(queued.payload.command.deviceId, CAMERA);
    assert.equal(queued.payload.command.sentMs, null);
    await shown(/^1 queued, 0 sent · broker 127\.0\.0\.1:\d+ unreachable for \d+ s/);

    broker.start();
    const got = await device.wait(rebootTopic, id);
    assert.equal(got.payload.sourceId, CAMERA);
    const sent = await waitFor('state sent', async () => {
      const r = await f.command(id);
      return r.payload.command.state === 'sent' ? r : undefined;
    });
    assert.ok(sent.payload.command.sentMs >= sent.payload.command.createdMs);

    // A later command arrives after it (order per device): the reboot came once, not again.
    const next = await postMode(f, 'PRIVACY');
    await device.wait(setmodeTopic, next.payload.data.requestId);
    assert.equal(device.count(id), 1);
    await shown(/^0 queued, 2 sent · connected$/);
  });

  it('expires a reboot whose time-to-live passed while the broker was away, says why, and never sends it', async () => {
    const { broker, device } = await brokerAway();
    const f = await load(join(dir, `q${++fileNo}.db`), external(broker.port, { rebootTtlSeconds: 1 }));

    const reply = await postReboot(f);
    assert.equal(reply.statusCode, 202);
    const id = reply.payload.data.requestId as string;
    const expired = await waitFor('state expired', async () => {
      const r = await f.command(id);
      return r.payload.command.state === 'expired' ? r : undefined;
    });
    assert.match(expired.payload.command.reason, /expired before delivery \(time-to-live 1 s\): broker 127\.0\.0\.1:\d+ unreachable/);

    // The broker returns: a newer command goes through, the expired reboot never does.
    broker.start();
    const mode = await postMode(f, 'ARMED');
    await device.wait(setmodeTopic, mode.payload.data.requestId);
    assert.equal(device.count(id), 0);
    assert.equal((await f.command(id)).payload.command.state, 'expired');
  });

  it('delivers commands queued before a restart of the flow', async () => {
    const { broker, device } = await brokerAway();
    const file = join(dir, `q${++fileNo}.db`);
    const before = await load(file, external(broker.port));
    const reply = await postReboot(before);
    assert.equal(reply.payload.data.state, 'queued');
    const id = reply.payload.data.requestId as string;
    await helper.unload();

    broker.start();
    const f = await load(file, external(broker.port));
    await device.wait(rebootTopic, id);
    await waitFor('state sent', async () => ((await f.command(id)).payload.command.state === 'sent' ? true : undefined));
    assert.equal(device.count(id), 1);
  });

  it('answers 503 and queues nothing when the database refuses writes, and accepts again once it recovers', async () => {
    const port = await freePort();
    const f = await load(join(dir, `q${++fileNo}.db`), external(port));
    await f.post(`/api/control/mode/${CAMERA}/ARMED`, { id: CAMERA, mode: 'ARMED' }); // the queue is open
    const user = { id: 'test-user' } as never;
    const store = await (helper.getNode('db') as unknown as PicamDatabaseNode).acquire(user);
    // As a file system remounted read-only after I/O errors: every write fails.
    await store.writer.exclusive((db) => db.exec('PRAGMA query_only = ON'));

    const refused = await postReboot(f);
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.payload.status, 'error');
    assert.match(refused.payload.error, /command not queued: .*readonly/);
    const list = await store.query('commands', { device: CAMERA });
    assert.equal((list as { commands: Array<{ action: string }> }).commands.filter((c) => c.action === 'reboot').length, 0);

    await store.writer.exclusive((db) => db.exec('PRAGMA query_only = OFF'));
    const accepted = await postReboot(f);
    assert.equal(accepted.statusCode, 202);
    assert.equal(accepted.payload.data.state, 'queued');
    await (helper.getNode('db') as unknown as PicamDatabaseNode).release(user);
  });
});

describe('command-sender with the embedded broker (in-process)', () => {
  let broker: Aedes | undefined;
  let server: Server | undefined;
  after(async () => {
    await new Promise<void>((r) => (broker ? broker.close(() => r()) : r()));
    await new Promise((r) => server?.close(r) ?? r(undefined));
  });

  it('publishes through the registered broker without an MQTT client of its own', async () => {
    broker = createAedes();
    const clientIds: string[] = [];
    broker.on('client', (c) => clientIds.push(c.id));
    server = createServer(broker.handle);
    const port = await freePort();
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    const unregister = registerLocalBroker('broker1', {
      publish: (topic, payload, opts) =>
        new Promise((resolve, reject) =>
          broker!.publish({ cmd: 'publish', topic, payload, qos: opts.qos, retain: opts.retain, dup: false }, (err) =>
            err ? reject(err) : resolve(),
          ),
        ),
      subscribe: () => Promise.reject(new Error('not used here')),
      isConnected: (id) => Boolean((broker as unknown as { clients: Record<string, unknown> }).clients[id]),
    });
    const device = await Device.connect(port);
    try {
      // An external broker is configured too, on a port where nothing listens: the embedded one wins.
      const f = await load(join(dir, `q${++fileNo}.db`), { broker: 'broker1', ...external(await freePort()) });
      const reply = await postReboot(f);
      assert.equal(reply.statusCode, 202);
      const id = reply.payload.data.requestId as string;
      await device.wait(rebootTopic, id);
      const sent = await waitFor('state sent', async () => {
        const r = await f.command(id);
        return r.payload.command.state === 'sent' ? r : undefined;
      });
      assert.equal(sent.payload.command.reason, null, 'the device was connected');
      assert.deepEqual(
        clientIds.filter((c) => c.startsWith(RUNTIME_CLIENT_ID_PREFIX)),
        [],
        'no runtime MQTT client connected to the broker',
      );
      assert.equal(device.count(id), 1);
    } finally {
      unregister();
      await device.client.endAsync(true);
    }
  });
});
