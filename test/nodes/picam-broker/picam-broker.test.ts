/**
 * picam-broker: the embedded broker binds where it is told, refuses a guessing
 * address and reserved client ids, keeps each device to its own topics, and
 * acknowledges a QoS 1 message only after the store committed it, with a bounded
 * number of messages in flight. Real aedes, real mqtt.js clients, real SQLite.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import { healthProblems } from '../../../nodes/lib/health';
import { sumCounters } from '../../../nodes/lib/metrics';
import { localBroker } from '../../../nodes/lib/mqtt/local-broker';
import { RUNTIME_CLIENT_ID_PREFIX } from '../../../nodes/lib/runtime-identity';
import brokerNode from '../../../nodes/picam-broker/picam-broker';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { environment, PI, topics } from '../../support/fixtures';
import { listeningAddresses } from '../../support/listening';
import { freePort } from '../../support/ports';
import { tempDir } from '../../support/tmp';
import { Collector, helper, rows, sleep, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const LOGIN = { username: 'devices', password: 'broker-secret-for-tests' };
const dir = tempDir('picam-broker-');
let files = 0;

interface Ports {
  port: number;
  wsPort: number;
}

async function ports(): Promise<Ports> {
  return { port: await freePort(), wsPort: await freePort() };
}

/** The broker `b` (output to helper `out`, or to the given wires) plus other nodes. */
async function loadBroker(p: Ports, props: Record<string, unknown> = {}, rest: object[] = [], wires = [['out']]) {
  const flow = [
    {
      id: 'b',
      type: 'picam-broker',
      bind: '127.0.0.1',
      port: p.port,
      wsPort: p.wsPort,
      prefix: 'prod',
      topic: 'prod/device/#',
      wires,
      ...props,
    },
    { id: 'out', type: 'helper' },
    ...rest,
  ];
  const credentials = { b: props.open ? {} : LOGIN };
  await helper.load([brokerNode, databaseNode, processorNode, eventsNode] as never, flow, credentials);
  await until('the broker to listen', () => localBroker('b'), 5000);
}

const device = (p: Ports, clientId: string, extra: IClientOptions = {}) =>
  mqtt.connectAsync(`mqtt://127.0.0.1:${p.port}`, { ...LOGIN, clientId, reconnectPeriod: 0, ...extra });

/** A client whose TCP connection comes from another loopback address, as a second machine would. */
function deviceFrom(localAddress: string, p: Ports, clientId: string): Promise<MqttClient> {
  const client = new MqttClient(() => tcpConnect({ host: '127.0.0.1', port: p.port, localAddress }), {
    ...LOGIN,
    clientId,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

const codeOf = async (attempt: Promise<MqttClient>): Promise<number | undefined> => {
  try {
    const c = await attempt;
    await c.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
};

describe('picam-broker: where it listens', () => {
  it('binds its MQTT and WebSocket listeners to the configured address only, and frees the ports on close', async () => {
    const p = await ports();
    await loadBroker(p);
    assert.deepEqual(listeningAddresses(p.port), ['127.0.0.1']);
    assert.deepEqual(listeningAddresses(p.wsPort), ['127.0.0.1']);
    await helper.unload();
    for (const port of [p.port, p.wsPort]) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((r) => s.close(r));
    }
  });

  it('without a login, refuses to listen beyond loopback', async () => {
    const p = await ports();
    const flow = [{ id: 'b', type: 'picam-broker', bind: '0.0.0.0', port: p.port, wsPort: '', wires: [[]] }];
    await helper.load([brokerNode] as never, flow, { b: {} });
    const statuses = spy('b', 'status');
    await sleep(200);
    assert.deepEqual(listeningAddresses(p.port), []);
    assert.equal(localBroker('b'), undefined);
    void statuses;
    assert.match(brokerProblem() ?? '', /no login is set/, '/healthz says why');
    await helper.unload();
    assert.equal(brokerProblem(), undefined);
  });

  it('says why on /healthz when its port is taken (another broker), until it closes', async () => {
    const p = await ports();
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(p.port, '127.0.0.1', resolve));
    try {
      const flow = [{ id: 'b', type: 'picam-broker', bind: '127.0.0.1', port: p.port, wsPort: '', wires: [[]] }];
      await helper.load([brokerNode] as never, flow, { b: LOGIN });
      const why = await until('the health problem', () => brokerProblem(), 5000);
      assert.match(why, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${p.port}: .*EADDRINUSE`));
      await helper.unload();
      assert.equal(brokerProblem(), undefined, 'a closed node no longer speaks for the runtime');
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});

/** What the broker node tells /healthz, if anything is wrong. */
const brokerProblem = () => healthProblems().find((p) => p.name === 'broker')?.reason;

describe('picam-broker: logins', () => {
  it('refuses an address after 10 wrong passwords without checking the password; another address still logs in', async () => {
    const p = await ports();
    await loadBroker(p);
    const warnings = spy('b', 'warn');
    for (let i = 0; i < 10; i++) {
      assert.equal(await codeOf(device(p, 'guesser', { password: `guess-${i}` })), 4, `guess ${i}: bad user name or password`);
    }
    // Blocked: even the right password is refused (5, not authorized) without being looked at.
    assert.equal(await codeOf(device(p, 'guesser')), 5);
    assert.equal(await codeOf(deviceFrom('127.0.0.2', p, 'honest')), 0, 'a good login from another address');
    assert.ok(warnings.length >= 1 && warnings.length < 11, `throttled warnings, got ${warnings.length}`);
    assert.ok(!warnings.some((w) => text(w).includes(LOGIN.password)), 'no password in the log');
    assert.match(text(warnings[0]!), /refused client "guesser" from 127\.0\.0\.1/);
    assert.ok(sumCounters('picam-broker').refused! >= 11);
  });

  it('behind the proxy, blocks the guessing WebSocket client, not everyone the proxy forwards', async () => {
    const p = await ports();
    await loadBroker(p);
    // As the shipped nginx relays: every connection from loopback, the client in X-Forwarded-For.
    const via = (client: string, clientId: string, password = LOGIN.password) =>
      mqtt.connectAsync(`ws://127.0.0.1:${p.wsPort}/mqtt`, {
        ...LOGIN,
        password,
        clientId,
        reconnectPeriod: 0,
        wsOptions: { headers: { 'x-forwarded-for': client } },
      });
    for (let i = 0; i < 10; i++) assert.equal(await codeOf(via('203.0.113.9', 'guesser', `guess-${i}`)), 4);
    assert.equal(await codeOf(via('203.0.113.9', 'guesser')), 5, 'the guesser is blocked');
    assert.equal(await codeOf(via('198.51.100.7', 'cam-1')), 0, 'another client through the same proxy still logs in');
  });

  it('refuses reserved runtime client ids to devices (WebSocket, as through the proxy)', async () => {
    const p = await ports();
    await loadBroker(p);
    const ws = (clientId: string) => mqtt.connectAsync(`ws://127.0.0.1:${p.wsPort}/mqtt`, { ...LOGIN, clientId, reconnectPeriod: 0 });
    assert.equal(await codeOf(ws('picam-guardian-cloud')), 2, 'identifier rejected');
    assert.equal(await codeOf(ws('picam-guardian-0123456789abcdef-commands')), 2);
    assert.equal(await codeOf(ws('cam-1')), 0, 'a device id over WebSocket is fine');
  });
});

describe('picam-broker: each device to its own topics', () => {
  it('lets device A publish only under its own id and read only its own commands', async () => {
    const p = await ports();
    await loadBroker(p);
    const out = new Collector('out');
    const warnings = spy('b', 'warn');
    const a = await device(p, 'camA');
    const b = await device(p, 'camB');
    const heardByB: string[] = [];
    const heardByA: string[] = [];
    b.on('message', (t) => heardByB.push(t));
    a.on('message', (t) => heardByA.push(t));

    assert.deepEqual(
      (await b.subscribeAsync('prod/honeycomb/camB/#', { qos: 1 })).map((g) => g.qos),
      [1],
    );
    for (const filter of ['prod/honeycomb/camB/#', 'prod/honeycomb/+/#', 'prod/#', '#', 'prod/device/status/hive-cam/camB']) {
      // mqtt.js rejects a SUBACK that carries 0x80 (failure), with the packet.
      await assert.rejects(
        a.subscribeAsync(filter, { qos: 1 }),
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] === 128,
        filter,
      );
    }
    assert.deepEqual(
      (await a.subscribeAsync('prod/honeycomb/camA/system/+', { qos: 1 })).map((g) => g.qos),
      [1],
    );

    // A publish under B's id is acknowledged (QoS 1 PUBACK) and dropped.
    await a.publishAsync(topics.status('camB'), JSON.stringify({ battery: 1 }), { qos: 1 });
    await a.publishAsync('prod/honeycomb/camB/system/reboot', '{}', { qos: 1 });
    await a.publishAsync(topics.status('camA'), JSON.stringify({ battery: 50 }), { qos: 1 });
    const [msg] = await out.wait(1);
    assert.equal(msg!.topic, topics.status('camA'));
    assert.ok(Buffer.isBuffer(msg!.payload));
    assert.equal(msg!.clientId, 'camA');
    assert.equal(msg!.qos, 1);
    await sleep(100);
    assert.equal(out.msgs.length, 1, 'nothing under another id reached the flow');
    assert.deepEqual(heardByB, [], 'B got no command forged by A');
    // Counted (5 subscriptions, 2 publishes) and logged, throttled to one warning per 10 s.
    assert.equal(sumCounters('picam-broker').denied, 7);
    assert.equal(warnings.length, 1);
    assert.match(text(warnings[0]!), /denied client "camA" a subscription to "prod\/honeycomb\/camB\/#" \(SUBACK 0x80\)/);

    // The runtime reaches B through the broker itself, without a client; A hears nothing.
    const broker = localBroker('b')!;
    assert.equal(broker.isConnected('camB'), true);
    assert.equal(broker.isConnected('camZ'), false);
    await broker.publish('prod/honeycomb/camB/system/setmode', Buffer.from('{"mode":"ARMED"}'), { qos: 1, retain: false });
    await until('B hears its command', () => heardByB.length === 1 || undefined);
    assert.deepEqual(heardByA, []);
    await sleep(50);
    assert.equal(out.msgs.length, 1, "the runtime's own publishes do not come back out");
    await Promise.all([a.endAsync(), b.endAsync()]);
  });
});

describe('picam-broker: device messages to subscribers', () => {
  it('routes device messages to a runtime client subscribed to the device tree, online or in its offline session', async () => {
    const p = await ports();
    await loadBroker(p);
    const out = new Collector('out');
    const cam = await device(p, 'camA');
    // Nobody listens yet: the flow still gets the message.
    await cam.publishAsync(topics.status('camA'), JSON.stringify({ battery: 1 }), { qos: 1 });
    await out.wait(1);

    const observerId = `${RUNTIME_CLIENT_ID_PREFIX}observer`;
    const observer = await device(p, observerId, { clean: false });
    const heard: string[] = [];
    const listen = (c: MqttClient) => c.on('message', (_t, payload) => heard.push(payload.toString()));
    listen(observer);
    await observer.subscribeAsync('prod/device/#', { qos: 1 });
    await cam.publishAsync(topics.status('camA'), JSON.stringify({ battery: 2 }), { qos: 1 });
    await until('the observer hears the device', () => heard.length === 1 || undefined);

    // Its persistent session queues what arrives while it is away.
    await observer.endAsync();
    await cam.publishAsync(topics.status('camA'), JSON.stringify({ battery: 3 }), { qos: 1 });
    await out.wait(3);
    const back = await device(p, observerId, { clean: false });
    listen(back);
    await until('the queued message arrives', () => heard.length === 2 || undefined);
    assert.deepEqual(
      heard.map((h) => JSON.parse(h).battery),
      [2, 3],
    );
    assert.equal(out.msgs.length, 3, 'the flow got every message');
    await Promise.all([cam.endAsync(), back.endAsync()]);
  });
});

describe('picam-broker: what a device may leave retained', () => {
  it('keeps its connection message, and routes but does not keep anything else it marks retained (nor a huge one)', async () => {
    const p = await ports();
    await loadBroker(p);
    const out = new Collector('out');
    const cam = await device(p, 'camR');
    const hosted = `${topics.connection('camR', 'ipcam')}/door`;
    await cam.publishAsync(topics.connection('camR'), JSON.stringify({ status: 'connected' }), { qos: 1, retain: true });
    await cam.publishAsync(hosted, JSON.stringify({ status: 'connected' }), { qos: 1, retain: true });
    for (let i = 0; i < 20; i++)
      await cam.publishAsync(`${topics.status('camR')}`.replace('/status/', '/message/') + `/x${i}`, Buffer.alloc(50_000, 'x'), {
        qos: 1,
        retain: true,
      });
    await cam.publishAsync(topics.connection('camR', 'picam'), Buffer.alloc(200_000, 'y'), { qos: 1, retain: true });
    await out.wait(23);
    assert.equal(out.msgs.length, 23, 'the flow got every message, retained or not');

    const observer = await device(p, `${RUNTIME_CLIENT_ID_PREFIX}late`);
    const kept: string[] = [];
    observer.on('message', (topic, _payload, packet) => packet.retain && kept.push(topic));
    await observer.subscribeAsync('prod/device/#', { qos: 1 });
    await sleep(300);
    assert.deepEqual(kept.sort(), [topics.connection('camR'), hosted].sort());
    await Promise.all([cam.endAsync(), observer.endAsync()]);
  });
});

describe('picam-broker: IP cameras hosted by a Pi', () => {
  it("lets a Pi publish for the IP cameras it hosts, not for another Pi's or another device's, and read their commands", async () => {
    const p = await ports();
    await loadBroker(p);
    const out = new Collector('out');
    const pi = await device(p, 'piA');
    const own = [
      'prod/device/connection/ipcam/piA/door',
      'prod/device/status/ipcam/piA/door',
      'prod/device/message/ipcam/piA/door/activity/start',
    ];
    const others = [
      'prod/device/connection/ipcam/piB/door',
      'prod/device/status/ipcam/piB/door',
      'prod/device/message/ipcam/piB/door/activity/start',
      'prod/device/status/picam/camB',
      'prod/device/status/ipcam/piA.door',
    ];
    // Refused ones first, then the Pi's own: once the last own one is in, any refused one would be ahead of it.
    for (const t of [...others, ...own]) await pi.publishAsync(t, JSON.stringify({ status: 'connected' }), { qos: 1 });
    await out.wait(own.length);
    assert.deepEqual(
      out.msgs.map((m) => m.topic),
      own,
    );
    assert.deepEqual(
      (await pi.subscribeAsync('prod/honeycomb/piA/ipcam/door/#', { qos: 1 })).map((g) => g.qos),
      [1],
    );
    await assert.rejects(
      pi.subscribeAsync('prod/honeycomb/piB/ipcam/door/#', { qos: 1 }),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] === 128,
    );
    await pi.endAsync();
  });
});

describe('picam-broker: acknowledged after commit', () => {
  async function loadStore(p: Ports, brokerProps: Record<string, unknown>, maxDelayMs: number) {
    const file = join(dir, `broker${files++}.db`);
    const rest = [
      { id: 'db', type: 'picam-database', file, maxBatch: 2000, maxDelayMs, synchronous: 'FULL', retainSensorDays: 0 },
      { id: 'proc', type: 'mqtt-processor', prefix: 'prod', deviceTypes: 'hive-cam,picam', database: 'db', wires: [['store'], [], [], []] },
      { id: 'store', type: 'sqlite-events', database: 'db', mode: 'write', query: 'cameras', wires: [] },
    ];
    await loadBroker(p, brokerProps, rest, [['proc']]);
    return file;
  }

  /** Reading timestamps the store has committed (its done() runs after COMMIT), seen through Node-RED's hooks. */
  function committedReadings(): { times: Set<number>; stop(): void } {
    const hooks = (require('@node-red/util') as { hooks: { add(n: string, f: (e: never) => void): void; remove(n: string): void } }).hooks;
    const times = new Set<number>();
    type Payload = { timeMs?: number } | Array<{ timeMs?: number }>;
    hooks.add('onComplete.brokerTest', ((e: { node: { id: string }; msg: { payload?: Payload }; error?: unknown }) => {
      if (e.node.id !== 'store' || e.error) return;
      // A batch of records completes once, after the COMMIT of all of them.
      for (const r of Array.isArray(e.msg.payload) ? e.msg.payload : [e.msg.payload])
        if (typeof r?.timeMs === 'number') times.add(r.timeMs);
    }) as never);
    return { times, stop: () => hooks.remove('onComplete.brokerTest') };
  }

  it("sends a QoS 1 PUBACK only once the reading's row is committed in SQLite", async () => {
    const p = await ports();
    // The store waits up to 300 ms to fill a batch: a PUBACK on arrival would come long before the COMMIT.
    const file = await loadStore(p, {}, 300);
    const committed = committedReadings();
    const pi = await device(p, PI);
    try {
      const t0 = Date.now();
      const early: number[] = [];
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          pi.publishAsync(topics.environment(), JSON.stringify(environment(t0 + i)), { qos: 1 }).then(() => {
            if (!committed.times.has(t0 + i)) early.push(t0 + i);
          }),
        ),
      );
      assert.deepEqual(early, [], 'PUBACKs that arrived before their row was committed');
      // And as another process sees the file, right at the PUBACK:
      const t1 = t0 + 10_000;
      await pi.publishAsync(topics.environment(), JSON.stringify(environment(t1)), { qos: 1 });
      const found = await rows(file, 'SELECT COUNT(*) AS n FROM sensor_readings WHERE time_ms = ?', [t1]);
      assert.equal(found[0]!.n, 1);
      const all = await rows(file, 'SELECT COUNT(*) AS n FROM sensor_readings');
      assert.equal(all[0]!.n, 201);
    } finally {
      committed.stop();
      await pi.endAsync();
    }
  });

  it('with maxBatch, hands messages on in batches, PUBACKs each only after its batch committed, and dead-letters a bad one alone', async () => {
    const p = await ports();
    const file = await loadStore(p, { maxBatch: 500 }, 300);
    const committed = committedReadings();
    const hooks = (require('@node-red/util') as { hooks: { add(n: string, f: (e: never) => void): void; remove(n: string): void } }).hooks;
    const deliveries: number[] = [];
    hooks.add('preDeliver.brokerBatchTest', ((e: { destination: { id: string }; msg: { payload?: unknown } }) => {
      if (e.destination.id === 'proc') deliveries.push(Array.isArray(e.msg.payload) ? e.msg.payload.length : 1);
    }) as never);
    const pis = await Promise.all([device(p, PI), device(p, 'picam-garden')]);
    try {
      const t0 = Date.now();
      const early: number[] = [];
      const sent: Array<Promise<unknown>> = [];
      for (let i = 0; i < 100; i++)
        pis.forEach((pi, n) => {
          const t = t0 + i * 2 + n;
          const topic = topics.environment(n === 0 ? PI : 'picam-garden');
          sent.push(
            pi.publishAsync(topic, JSON.stringify(environment(t)), { qos: 1 }).then(() => {
              if (!committed.times.has(t)) early.push(t);
            }),
          );
        });
      // Broken JSON in the middle of the burst: acknowledged once its dead letter is committed.
      sent.push(pis[0]!.publishAsync(topics.environment(), '{"temperature": 2', { qos: 1 }));
      await Promise.all(sent);
      assert.deepEqual(early, [], 'PUBACKs that arrived before their batch was committed');
      assert.deepEqual(await rows(file, 'SELECT COUNT(*) AS n FROM sensor_readings'), [{ n: 200 }]);
      assert.deepEqual(await rows(file, 'SELECT COUNT(*) AS n FROM dead_letters'), [{ n: 1 }]);
      const messages = deliveries.reduce((a, b) => a + b, 0);
      assert.equal(messages, 201, 'every message reached the processor once');
      assert.ok(deliveries.length < messages, `${deliveries.length} deliveries for ${messages} messages: batched`);
      assert.ok(Math.max(...deliveries) > 1);
    } finally {
      hooks.remove('preDeliver.brokerBatchTest');
      committed.stop();
      await Promise.all(pis.map((pi) => pi.endAsync()));
    }
  });

  it('keeps at most maxInFlight messages in flight under a flood from one client, and stores them all', async () => {
    const p = await ports();
    const file = await loadStore(p, { maxInFlight: 50 }, 20);
    const pi = await device(p, PI);
    let maxInFlight = 0;
    let maxTaken = 0;
    const sampler = setInterval(() => {
      const c = sumCounters('picam-broker');
      maxInFlight = Math.max(maxInFlight, c.inFlight ?? 0);
      maxTaken = Math.max(maxTaken, (c.inFlight ?? 0) + (c.held ?? 0));
    }, 1);
    try {
      const t0 = Date.now();
      const total = 3000;
      await Promise.all(
        Array.from({ length: total }, (_, i) => pi.publishAsync(topics.environment(), JSON.stringify(environment(t0 + i)), { qos: 1 })),
      );
      const all = await rows(file, 'SELECT COUNT(*) AS n FROM sensor_readings');
      assert.equal(all[0]!.n, total);
      assert.ok(maxInFlight > 0 && maxInFlight <= 50, `in flight peaked at ${maxInFlight}`);
      assert.ok(maxTaken < total / 2, `the broker took ${maxTaken} of ${total} messages off the socket at once`);
    } finally {
      clearInterval(sampler);
      await pi.endAsync();
    }
  });

  for (const maxBatch of [1, 25])
    it(`under a flood from many devices, stops reading their sockets once a batch is waiting, and stores everything (maxBatch ${maxBatch})`, async () => {
      const p = await ports();
      const cap = 50;
      const file = await loadStore(p, { maxInFlight: cap, maxBatch }, 20);
      const ids = Array.from({ length: 40 }, (_, i) => `flood-pi-${i}`);
      const pis = await Promise.all(ids.map((id) => device(p, id)));
      let maxTaken = 0;
      let maxParked = 0;
      const sampler = setInterval(() => {
        const c = sumCounters('picam-broker');
        maxTaken = Math.max(maxTaken, (c.inFlight ?? 0) + (c.held ?? 0));
        maxParked = Math.max(maxParked, c.parked ?? 0);
      }, 1);
      try {
        const t0 = Date.now();
        const perPi = 400;
        const sent: Array<Promise<unknown>> = [];
        for (let i = 0; i < perPi; i++)
          pis.forEach((pi, n) => sent.push(pi.publishAsync(topics.environment(ids[n]), JSON.stringify(environment(t0 + i)), { qos: 1 })));
        await Promise.all(sent);
        const all = await rows(file, 'SELECT COUNT(*) AS n FROM sensor_readings');
        assert.equal(all[0]!.n, ids.length * perPi, 'every reading stored: held back, not dropped');
        // At most `cap` in flight and a batch waiting, plus what one socket read parsed when the
        // line filled (aedes parses a whole read at once; a read is at most ~80 KB here).
        const packetBytes = topics.environment(ids[0]).length + JSON.stringify(environment(t0)).length + 4;
        const oneRead = Math.ceil((80 * 1024) / packetBytes);
        assert.ok(
          maxTaken <= cap + maxBatch + oneRead,
          `the broker took ${maxTaken} messages off the sockets at once (bound ${cap + maxBatch + oneRead})`,
        );
        assert.ok(maxParked > 0, 'devices were held back at their sockets');
        assert.equal(sumCounters('picam-broker').parked, 0, 'and read again once there was room');
      } finally {
        clearInterval(sampler);
        await Promise.all(pis.map((pi) => pi.endAsync()));
      }
    });
});

describe('picam-broker: packet size', () => {
  it('closes a connection whose packet announces more than 1 MiB, before buffering it; others carry on', async () => {
    const p = await ports();
    await loadBroker(p);
    const warnings = spy('b', 'warn');
    // A CONNECT announcing 100 MB (remaining length 0x80 0x80 0x80 0x30), then a stream of bytes: no login needed to try.
    const raw = tcpConnect(p.port, '127.0.0.1');
    await new Promise<void>((resolve) => raw.once('connect', resolve));
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.on('error', () => undefined);
    raw.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x30]));
    for (let i = 0; i < 64 && !raw.destroyed; i++) raw.write(Buffer.alloc(64 * 1024));
    await Promise.race([closed, sleep(10_000).then(() => assert.fail('the connection was not closed: the broker kept buffering'))]);
    await until(
      'the warning',
      () => warnings.find((w) => /closed the connection of 127\.0\.0\.1 \(tcp\): it sent a packet of 100663296 bytes/.test(text(w))),
      5000,
    );
    // A device with a large but fair message (300 KiB) is still served, over TCP and WebSocket.
    for (const url of [`mqtt://127.0.0.1:${p.port}`, `ws://127.0.0.1:${p.wsPort}/mqtt`]) {
      const cam = await mqtt.connectAsync(url, { ...LOGIN, clientId: 'cam-1', reconnectPeriod: 0 });
      await cam.publishAsync('prod/device/message/hive-cam/cam-1/camera/state', Buffer.alloc(300 * 1024, 0x20), { qos: 1 });
      await cam.endAsync();
    }
  });
});
