/**
 * The cluster role end to end (issue 21), real parts only: a RabbitMQ cluster with the shipped
 * settings and definitions, PostgreSQL, and two cloud runtimes started through the CLI with
 * `--role cluster`, both consuming the device queue. Fifty simulated cameras publish QoS 1
 * activity start/stop and heartbeats over MQTT to a 3-node RabbitMQ cluster; one runtime is
 * killed with `kill -9` a third of the way in, and a broker node two thirds of the way in. Every message RabbitMQ acknowledged to a camera must be one row in
 * PostgreSQL, every event paired (its start and stop in one row), whichever runtime stored
 * each half, and the surviving runtime's API must show what the killed one committed.
 * The runtime killed is the leader: the survivor must take the run-once jobs (its /healthz says
 * "leader"). Each runtime's live dashboard feed must show the other's commits (LISTEN/NOTIFY),
 * and a command sent through the survivor's API must reach a camera through RabbitMQ. Both
 * runtimes send alerts through one bot (the Telegram fake) to one chat: every alert the runtimes
 * decided to send must arrive once, but for the killed runtime's send in flight (the documented
 * crash window, counted), and no two messages closer than Telegram's second in that chat.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import WebSocket from 'ws';
import { API_AUTH, cloudRoleEnv, RUNTIME_START_MS, startCli, type CliProcess } from '../support/cli';
import { FakeTelegram } from '../support/fake-telegram';
import { activity, connected, heartbeat, topics } from '../support/fixtures';
import { freePort } from '../support/ports';
import { skipWithoutPostgres, startPostgres, type PostgresServer } from '../support/postgres';
import { CAM, CLOUD } from '../support/rabbitmq-ingest-env';
import { RabbitCluster, shippedRabbitSettings, skipWithoutRabbitMQ } from '../support/rabbitmq';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const RABBIT_NODES = 3;
const CAMERAS = 50;
/** Events per camera: each a start, a heartbeat and a stop. */
const EVENTS = 8;
const skip = skipWithoutRabbitMQ || skipWithoutPostgres;

const dir = tempDir('picam-cluster-e2e-');
const T0 = Math.floor(Date.now() / 1000) - 3_600;
const cameraIds = Array.from({ length: CAMERAS }, () => randomBytes(16).toString('hex').toUpperCase());

let rabbit: RabbitCluster | undefined;
let postgres: PostgresServer | undefined;
let db: pg.Pool | undefined;
let dbUrl = '';
const runtimes: Array<{ cli: CliProcess; base: string }> = [];
const cameras: MqttClient[] = [];
let reconnects = 0;
/** Set by the traffic test: the runtime killed (the leader at the time) and the one left. */
let victimIndex = -1;
let killedNode = -1;
/** The event ids each runtime's live dashboard feed showed starting, from before the traffic on. */
const survivorFeed = new Set<string>();
const victimFeed = new Set<string>();
const feedSockets: WebSocket[] = [];
/** What the victim's feed had shown just before the kill, and which of those the survivor's had not. */
let feedAtKill: { shown: number; missing: string[] } | undefined;
const DASHBOARD_USER = { username: 'alice', password: 'alice-secret' };
/** Both runtimes' alert node sends to this one chat, through one bot. */
const CHAT = 4242;
let telegram: FakeTelegram | undefined;
/** When the runtime was killed (its claims' leases, 60 s, ran from their last renewal before it). */
let killedAtMs = 0;

const healthOf = async (base: string) => (await (await fetch(`${base}/healthz`)).json()) as { leadership?: string };

async function startRuntime(i: number): Promise<{ cli: CliProcess; base: string }> {
  const http = await freePort();
  const env = cloudRoleEnv(
    join(dir, `runtime-${i}`),
    { http, mqtt: 0, ws: 0 },
    {
      // Each runtime starts at a different broker node: the list is its failover order.
      PICAM_AMQP_URLS: rabbit!.urls(i % RABBIT_NODES),
      PICAM_AMQP_USERNAME: CLOUD.username,
      PICAM_AMQP_PASSWORD: CLOUD.password,
      PICAM_DB_URL: dbUrl,
      PICAM_DASHBOARD_USERS: `${DASHBOARD_USER.username}:${bcrypt.hashSync(DASHBOARD_USER.password, 4)}`,
      TELEGRAM_BOT_TOKEN: telegram!.token,
      TELEGRAM_API_ROOT: telegram!.url,
      TELEGRAM_CHAT_IDS: String(CHAT),
      PICAM_TIME_ZONE: 'UTC',
    },
  );
  // The cluster role needs no MQTT login: it runs no broker.
  delete env.MQTT_USERNAME;
  delete env.MQTT_PASSWORD;
  const cli = startCli(['start', '--role', 'cluster'], env);
  return { cli, base: `http://127.0.0.1:${http}` };
}

const api = (base: string, path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { authorization: API_AUTH, ...init.headers } });

async function consumers(queue: string): Promise<number> {
  const out = await rabbit!.ctl(['list_queues', '-p', 'picam', 'name', 'consumers', '--formatter', 'json']);
  return (JSON.parse(out) as Array<{ name: string; consumers: number }>).find((q) => q.name === queue)?.consumers ?? 0;
}

/** A camera on node i % 3 that reconnects to the next node when its own dies (as HAProxy would send it). */
async function connectCamera(id: string, i: number): Promise<MqttClient> {
  const ports = rabbit!.nodes.map((n) => n.mqttPort);
  const order = [...ports.slice(i % RABBIT_NODES), ...ports.slice(0, i % RABBIT_NODES)];
  const c = await mqtt.connectAsync({
    ...CAM,
    servers: order.map((port) => ({ host: '127.0.0.1', port })),
    clientId: id,
    protocolVersion: 4,
    reconnectPeriod: 500,
  });
  c.on('error', () => undefined); // a reconnect refused while a node restarts: MQTT.js tries again
  c.on('reconnect', () => reconnects++);
  cameras.push(c);
  return c;
}

/** A browser's live feed on `base` (a session, as the dashboard opens it), once it said hello. */
async function openFeed(base: string, onMessage: (m: { type: string; eventId?: string }) => void): Promise<WebSocket> {
  const login = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(DASHBOARD_USER),
  });
  assert.equal(login.status, 200, await login.clone().text());
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/ws`, { headers: { cookie } });
  ws.on('error', () => undefined); // the runtime's stop at the end
  await new Promise<void>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => reject(new Error(`the live feed answered ${res.statusCode}`)));
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; eventId?: string };
      if (m.type === 'hello') resolve();
      onMessage(m);
    });
  });
  return ws;
}

const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await db!.query(sql, params)).rows as T[];

describe('the cluster role: two runtimes, RabbitMQ and PostgreSQL', { skip }, () => {
  before(async () => {
    const started = Date.now();
    [rabbit, postgres, telegram] = await Promise.all([
      RabbitCluster.start({ nodes: RABBIT_NODES, settings: [...shippedRabbitSettings(), 'collect_statistics_interval = 500'] }),
      startPostgres(),
      FakeTelegram.start(),
    ]);
    await rabbit.loadDefinitions({ [CLOUD.username]: CLOUD.password });
    await rabbit.addUserLike(CAM.username, CAM.password, 'camera_client');
    dbUrl = await postgres.createDatabase();
    db = new pg.Pool({ connectionString: dbUrl, max: 2 });
    db.on('error', () => undefined); // an idle connection ended by the server's stop: nothing to do
    // Both at once, as a cluster comes up after a power cut: the migrations must not collide.
    runtimes.push(await startRuntime(0), await startRuntime(1));
    await Promise.all(
      runtimes.map((r, i) =>
        waitFor(
          `runtime ${i}'s API`,
          async () => ((await api(r.base, '/api/status').catch(() => undefined))?.ok ? true : undefined),
          RUNTIME_START_MS,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${r.cli.output()}`);
        }),
      ),
    );
    await waitFor(
      'both runtimes consuming the device queue',
      async () => ((await consumers('picam.device')) === 2 ? true : undefined),
      60_000,
    );
    console.log(`cluster: ${RABBIT_NODES} RabbitMQ node(s), PostgreSQL and 2 runtimes up in ${Date.now() - started} ms`);
  });

  after(async () => {
    for (const ws of feedSockets) ws.close();
    await Promise.all(cameras.map((c) => c.endAsync(true)));
    await Promise.all(runtimes.map((r) => r.cli.stop()));
    await db?.end().catch(() => undefined);
    await postgres?.stop();
    await rabbit?.stop();
    await telegram?.stop();
  });

  it('stores every acknowledged message once and pairs every event across a kill -9 of one runtime', async () => {
    const clients = await Promise.all(cameraIds.map((id, i) => connectCamera(id, i)));
    const acked = { starts: new Set<string>(), stops: new Set<string>(), heartbeats: new Set<string>() };
    const total = CAMERAS * (1 + EVENTS * 3);
    let sent = 0;
    let killed = false;
    let nodeKilled: Promise<void> | undefined;
    // The leader is the victim, so its run-once jobs must move (checked below).
    const leadership = await Promise.all(runtimes.map(async (r) => (await healthOf(r.base)).leadership));
    assert.equal(leadership.filter((l) => l === 'leader').length, 1, `one leader: ${leadership.join(', ')}`);
    victimIndex = leadership.indexOf('leader');
    const victim = runtimes[victimIndex]!;
    const survivor = runtimes[1 - victimIndex]!;
    // The broker node killed mid-traffic: the survivor's first node, so it must fail over too.
    killedNode = 1 - victimIndex;
    for (const [r, seen] of [
      [survivor, survivorFeed],
      [victim, victimFeed],
    ] as const) {
      feedSockets.push(await openFeed(r.base, (m) => m.type === 'event-start' && m.eventId && seen.add(m.eventId)));
    }
    let victimProcessed = 0;
    // The kill comes from the acknowledgements themselves, a third of the way in.
    const maybeKill = async () => {
      // The broker node without waiting: its cameras' publishes in flight are resent to another node.
      if (!nodeKilled && sent >= (2 * total) / 3) nodeKilled = rabbit!.kill(killedNode);
      if (killed || sent < total / 3) return;
      killed = true;
      // What the victim had processed: proof that rows the survivor shows were the victim's work.
      const metrics = await (await api(victim.base, '/metrics')).text();
      victimProcessed = Number(/^picam_messages_received_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      // The runtimes commit behind RabbitMQ's acknowledgements (more so with alerts to send): the
      // victim's feed must have shown something before the kill, or the feed check below checks nothing.
      await waitFor('the victim’s feed showing an event', async () => (victimFeed.size > 0 ? true : undefined), 20_000).catch(
        () => undefined,
      );
      // The victim's browsers saw its own commits and the survivor's: all must reach the survivor's
      // browsers too (its own by NOTIFY). Waited for while it lives: kill -9 may cut a NOTIFY not yet sent.
      const shown = [...victimFeed];
      const missing = () => shown.filter((id) => !survivorFeed.has(id));
      await waitFor('the victim’s feed in the survivor’s', async () => (missing().length ? undefined : true), 20_000).catch(
        () => undefined,
      );
      feedAtKill = { shown: shown.length, missing: missing() };
      killedAtMs = Date.now();
      victim.cli.child.kill('SIGKILL');
    };
    const publish = async (c: MqttClient, topic: string, body: object) => {
      await c.publishAsync(topic, JSON.stringify(body), { qos: 1 });
      sent++;
      await maybeKill();
    };
    await Promise.all(
      clients.map(async (c, i) => {
        const id = cameraIds[i]!;
        await publish(c, topics.connection(id), connected(T0));
        for (let e = 0; e < EVENTS; e++) {
          const eventId = `evt_${i}_${e}`;
          const t = T0 + 10 + e * 60;
          await publish(c, topics.start(id), activity(eventId, t));
          acked.starts.add(eventId);
          await publish(c, topics.status(id), heartbeat(t + 5));
          acked.heartbeats.add(`${id} ${t + 5}`);
          await publish(c, topics.stop(id), activity(eventId, t + 12));
          acked.stops.add(eventId);
        }
      }),
    );
    assert.ok(killed, 'the runtime was killed mid-traffic');
    assert.ok(nodeKilled, 'a broker node was killed mid-traffic');
    await nodeKilled;
    assert.ok(victimProcessed > 0, 'the killed runtime had processed messages before it died');

    // The survivor takes the killed runtime's unacknowledged deliveries (redelivered) and the rest.
    await waitFor(
      'every acknowledged message in PostgreSQL',
      async () => {
        const [row] = await query<{ paired: string; heartbeats: string }>(
          `SELECT (SELECT count(*) FROM activity_events WHERE camera_id = ANY($1) AND end_timestamp IS NOT NULL) AS paired,
                  (SELECT count(*) FROM status_events WHERE camera_id = ANY($1) AND event_type = 'heartbeat') AS heartbeats`,
          [cameraIds],
        );
        return Number(row!.paired) === acked.stops.size && Number(row!.heartbeats) === acked.heartbeats.size ? true : undefined;
      },
      120_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await counts())}\n${survivor.cli.output().slice(-3000)}`);
    });

    const events = await query<{ event_id: string; n: string; start_timestamp: number | null; end_timestamp: number | null }>(
      `SELECT event_id, count(*) OVER (PARTITION BY camera_id, event_id) AS n, start_timestamp, end_timestamp
         FROM activity_events WHERE camera_id = ANY($1)`,
      [cameraIds],
    );
    const unpaired = events.filter((e) => e.start_timestamp === null || e.end_timestamp === null).map((e) => e.event_id);
    const doubled = events.filter((e) => Number(e.n) > 1).map((e) => e.event_id);
    const missing = [...acked.starts].filter((id) => !events.some((e) => e.event_id === id));
    const heartbeatRows = await query<{ k: string; n: string }>(
      `SELECT camera_id || ' ' || timestamp AS k, count(*) AS n FROM status_events
        WHERE camera_id = ANY($1) AND event_type = 'heartbeat' GROUP BY 1`,
      [cameraIds],
    );
    const heartbeatsMissing = [...acked.heartbeats].filter((k) => !heartbeatRows.some((r) => r.k === k));
    console.log(
      `cluster: ${sent} messages acknowledged by RabbitMQ (${acked.starts.size} starts, ${acked.stops.size} stops, ` +
        `${acked.heartbeats.size} heartbeats); killed runtime had processed ${victimProcessed}; stored ${events.length} events ` +
        `(${unpaired.length} unpaired, ${doubled.length} doubled, ${missing.length} missing), ${heartbeatRows.length} heartbeats ` +
        `(${heartbeatsMissing.length} missing, ${heartbeatRows.filter((r) => Number(r.n) > 1).length} doubled); ` +
        `runtime ${victimIndex} (the leader) and broker node ${killedNode} killed, ${reconnects} camera reconnects`,
    );
    assert.deepEqual(missing, [], 'every acknowledged start is an event');
    assert.deepEqual(unpaired, [], 'every event has its start and its stop in one row');
    assert.deepEqual(doubled, [], 'no event stored twice');
    assert.equal(events.length, CAMERAS * EVENTS);
    assert.deepEqual(heartbeatsMissing, [], 'every acknowledged heartbeat is a row');
    assert.ok(
      heartbeatRows.every((r) => Number(r.n) === 1),
      'no heartbeat stored twice',
    );

    // The survivor's API answers from the shared database: every event, the killed runtime's included.
    let shown = 0;
    for (const id of cameraIds) {
      const res = await api(survivor.base, `/api/events?camera=${id}&limit=100`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { total: number; events: Array<{ duration_seconds: number }> };
      assert.equal(body.total, EVENTS, `camera ${id}`);
      assert.ok(body.events.every((e) => e.duration_seconds === 12));
      shown += body.total;
    }
    console.log(`cluster: the surviving runtime's /api/events shows ${shown} events of ${CAMERAS * EVENTS}`);
  });

  it('delivers every alert once to the Telegram fake across the kill, one message a second in the chat', async () => {
    assert.ok(killedAtMs > 0, 'the traffic test killed a runtime');
    const rows = () =>
      query<{ id: number; state: string; message_id: number | null; lease: number }>(
        `SELECT id::float8 AS id, state, message_id::float8 AS message_id, next_attempt_ms::float8 AS lease
           FROM alerts_outbox WHERE target = $1 AND item = 'alert' ORDER BY id`,
        [String(CHAT)],
      );
    // Rows the killed runtime was sending stay claimed until their lease (60 s from its last renewal)
    // runs out: the crash window, left as it is. Everything else must be sent by the survivor.
    const stranded = (r: { state: string; lease: number }) => r.state === 'sending' && r.lease <= killedAtMs + 60_000;
    await waitFor(
      'every alert sent but the killed runtime’s send in flight',
      async () => {
        const all = await rows();
        return all.length > 0 && all.every((r) => r.state !== 'pending' && r.state !== 'waiting' && (r.state !== 'sending' || stranded(r)))
          ? true
          : undefined;
      },
      60_000,
    ).catch(async (err: Error) => {
      const byState: Record<string, number> = {};
      for (const r of await rows()) byState[r.state] = (byState[r.state] ?? 0) + 1;
      throw new Error(`${err.message}: ${JSON.stringify(byState)}; the chat has ${telegram!.sent(CHAT).length} messages`);
    });
    const all = await rows();
    const messages = telegram!.sent(CHAT).filter((m) => m.method === 'sendMessage' || m.method === 'sendPhoto');
    const messageIds = new Set(messages.map((m) => m.messageId));
    const sent = all.filter((r) => r.state === 'sent');
    const inFlightAtKill = all.filter(stranded);
    // A message no row records: a send whose answer never reached the store (its runtime was killed).
    const recorded = new Set(sent.map((r) => r.message_id));
    const unrecorded = messages.filter((m) => !recorded.has(m.messageId));
    const byState: Record<string, number> = {};
    for (const r of all) byState[r.state] = (byState[r.state] ?? 0) + 1;
    console.log(
      `cluster: ${all.length} alert rows for the chat (${JSON.stringify(byState)}); ${messages.length} messages arrived, ` +
        `${unrecorded.length} of them not recorded as sent (the killed runtime's send in flight); ` +
        `${inFlightAtKill.length} rows still claimed by the killed runtime`,
    );
    assert.ok(sent.length > 0, 'alerts were sent');
    assert.deepEqual(
      sent.filter((r) => !messageIds.has(r.message_id!)).map((r) => r.id),
      [],
      'every alert recorded as sent is a message the chat got',
    );
    // Each alert row is in one message at most: a message recorded for rows is one send of them.
    // The crash window: one send in flight per destination, so at most one message whose rows are
    // the killed runtime's still-claimed ones (they go again when the lease runs out: then doubled).
    assert.ok(unrecorded.length <= 1, `at most the killed runtime's one send in flight is unrecorded: ${unrecorded.length}`);
    if (unrecorded.length === 1) assert.ok(inFlightAtKill.length > 0, "an unrecorded message carries the killed runtime's claimed rows");
    assert.deepEqual(telegram!.violations, [], "no two messages in the chat closer than Telegram's limit, whichever runtime sent them");
  });

  it("shows the killed runtime's records in the survivor's live dashboard feed", () => {
    assert.ok(feedAtKill, 'the traffic test killed a runtime');
    console.log(`cluster: the killed runtime's live feed had shown ${feedAtKill.shown} event starts before the kill`);
    assert.ok(feedAtKill.shown > 0, "the killed runtime's feed showed events");
    assert.deepEqual(feedAtKill.missing, [], "every start the killed runtime's feed showed is in the survivor's feed");
  });

  it('sends a command through RabbitMQ from the surviving runtime to a camera', async () => {
    const survivor = runtimes[1 - victimIndex]!;
    // A camera whose broker node was never killed, subscribed to its command topics as the firmware is.
    const i = cameraIds.findIndex((_, n) => n % RABBIT_NODES !== killedNode);
    const id = cameraIds[i]!;
    // By its client id: `cameras` is in the order they connected, not that of `cameraIds`.
    const cam = cameras.find((c) => c.options.clientId === id)!;
    const received: string[] = [];
    cam.on('message', (topic, payload) => {
      if (topic === `prod/honeycomb/${id}/system/reboot`)
        received.push(String((JSON.parse(payload.toString()) as { requestId?: unknown }).requestId));
    });
    await cam.subscribeAsync(`prod/honeycomb/${id}/#`, { qos: 1 });
    const res = await api(survivor.base, `/api/control/reboot/${id}`, { method: 'POST' });
    assert.equal(res.status, 202, await res.clone().text());
    const { data } = (await res.json()) as { data: { requestId: string } };
    await waitFor('the camera to get the reboot', async () => (received.includes(data.requestId) ? true : undefined), 30_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${survivor.cli.output().slice(-3000)}`);
      },
    );
    await waitFor('the command reported sent', async () => {
      const c = (await (await api(survivor.base, `/api/commands/${data.requestId}`)).json()) as { command?: { state: string } };
      return c.command?.state === 'sent' ? true : undefined;
    });
    assert.deepEqual(received, [data.requestId], 'the camera got the reboot once');
  });

  it('makes the survivor the leader, so the run-once jobs (retention, Telegram poller, MediaMTX polling) move to it', async () => {
    assert.ok(victimIndex >= 0, 'the traffic test killed the leader');
    const survivor = runtimes[1 - victimIndex]!;
    await waitFor(
      "the survivor's /healthz saying leader",
      async () => ((await healthOf(survivor.base).catch(() => undefined))?.leadership === 'leader' ? true : undefined),
      60_000,
    );
  });
});

async function counts(): Promise<Record<string, unknown>> {
  const [row] = await query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM activity_events) AS events,
            (SELECT count(*) FROM activity_events WHERE end_timestamp IS NOT NULL) AS paired,
            (SELECT count(*) FROM status_events) AS status,
            (SELECT count(*) FROM dead_letters) AS dead_letters`,
  );
  return { ...row, queues: await rabbit!.queues().catch(() => undefined) };
}
