/**
 * Masks and zones through the shipped cloud flow (issue 20): the API checks a camera's polygons
 * (400 with the reason), queues them for the Pi as a `settings/zones` command, keeps them (GET
 * /api/cameras) and sends them again when the Pi reconnects; events carry the zones they touched
 * into /api/events (filterable by zone); and with PICAM_ALERT_ZONES an alert goes out for motion
 * in the driveway but not for motion elsewhere, which is still stored. A real runtime, its
 * embedded broker, a real MQTT.js Pi and a local webhook receiver.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess } from '../support/cli';
import { connected, PI, topics } from '../support/fixtures';
import { rows } from '../support/records';
import { takeFreePorts } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const PORTS = { http: 0, mqtt: 0, ws: 0, webhook: 0 };
const dir = tempDir('picam-zones-e2e-');
const GARAGE = 'picam-garage';
const ZONES_TOPIC = `prod/honeycomb/${PI}/settings/zones`;
const DRIVEWAY = {
  kind: 'zone',
  name: 'driveway',
  points: [
    [0, 50],
    [60, 50],
    [60, 100],
    [0, 100],
  ],
  minArea: 1,
};
const SKY = {
  kind: 'mask',
  points: [
    [0, 0],
    [100, 0],
    [100, 20],
  ],
};

let runtime: CliProcess;
let pi: MqttClient;
let hook: Server;
const hooked: Array<Record<string, any>> = [];
const commands: Array<{ topic: string; payload: Record<string, any> }> = [];

const api = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${PORTS.http}${path}`, {
    ...init,
    headers: { authorization: API_AUTH, 'content-type': 'application/json', ...init.headers },
  });
const postZones = (body: unknown, id = PI) => api(`/api/control/zones/${id}`, { method: 'POST', body: JSON.stringify(body) });
const publish = (topic: string, payload: unknown) => pi.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  await takeFreePorts(PORTS);
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hooked.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => hook.listen(PORTS.webhook, '127.0.0.1', ok));
  runtime = startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(dir, PORTS, {
      PICAM_ALERT_WEBHOOK_URL: `http://127.0.0.1:${PORTS.webhook}/hooks/picam`,
      PICAM_ALERT_ZONES: 'driveway',
    }),
  );
  pi = await waitFor('the broker', () =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${PORTS.mqtt}`, { ...LOGINS.devices, clientId: PI, reconnectPeriod: 0 }).catch(() => undefined),
  );
  await pi.subscribeAsync(`prod/honeycomb/${PI}/#`, { qos: 1 });
  pi.on('message', (topic, payload) => commands.push({ topic, payload: JSON.parse(payload.toString()) }));
  await waitFor('the API', async () => ((await api('/api/status').catch(() => undefined))?.ok ? true : undefined), 60_000);
  await publish(topics.connection(PI, 'picam'), connected(now(), { name: 'Kitchen Pi' }));
  await publish(topics.state(PI, 'picam'), { mode: 'ARMED', timestamp: Date.now() });
  await waitFor('the Pi known', async () => {
    const body = (await (await api('/api/cameras')).json()) as { cameras: Array<{ camera_id: string }> };
    return body.cameras.some((c) => c.camera_id === PI) ? true : undefined;
  });
});

after(async () => {
  await pi?.endAsync();
  const code = await runtime?.stop();
  await new Promise((ok) => hook?.close(ok));
  assert.equal(code, 0, `the runtime stops cleanly; its output:\n${runtime?.output()}`);
});

describe('cloud runtime: masks and zones', () => {
  it('refuses polygons that cannot work with 400 and the reason, and queues nothing', async () => {
    const tooMany = Array.from({ length: 17 }, (_, i) => ({ ...DRIVEWAY, name: `z${i}` }));
    const manyPoints = { ...DRIVEWAY, points: Array.from({ length: 33 }, (_, i) => [i, i % 2 ? 0 : 100]) };
    const cases: Array<[unknown, RegExp]> = [
      [{}, /zones missing/],
      [{ zones: 'not json' }, /zones must be JSON/],
      [{ zones: tooMany }, /at most 16 masks and zones/],
      [{ zones: [manyPoints] }, /polygon 1: at most 32 points/],
      [
        {
          zones: [
            {
              ...DRIVEWAY,
              points: [
                [0, 0],
                [101, 0],
                [0, 50],
              ],
            },
          ],
        },
        /polygon 1, point 2: must be \[x, y\] with both in percent, 0–100/,
      ],
      [
        {
          zones: [
            {
              ...DRIVEWAY,
              points: [
                [0, 0],
                [1, 1],
              ],
            },
          ],
        },
        /at least 3/,
      ],
      [{ zones: [{ ...DRIVEWAY, name: '<script>' }] }, /polygon 1: name must be 1–32 letters/],
      [{ zones: [{ kind: 'zone', points: DRIVEWAY.points }] }, /a zone needs a name/],
      [{ zones: [DRIVEWAY, DRIVEWAY] }, /two zones are named "driveway"/],
      [{ zones: [{ ...SKY, kind: 'blur' }] }, /kind must be "mask" or "zone"/],
    ];
    for (const [body, reason] of cases) {
      const res = await postZones(body);
      const answer = (await res.json()) as { error?: string };
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      assert.match(answer.error ?? '', reason);
    }
    const res = await postZones({ zones: [DRIVEWAY] }, '67E48798E70345179A86980A7CAAAE73');
    assert.equal(res.status, 404, 'an unknown device');
    const queued = await rows<{ n: number }>(join(dir, 'picam-guardian.db'), "SELECT count(*) AS n FROM commands WHERE action = 'zones'");
    assert.equal(queued[0]!.n, 0);
  });

  it('sends good polygons to the Pi, keeps them, and sends them again when the Pi reconnects', async () => {
    const res = await postZones({ zones: [SKY, DRIVEWAY] });
    assert.equal(res.status, 202, await res.clone().text());
    const first = await waitFor('the zones command', async () => commands.find((c) => c.topic === ZONES_TOPIC));
    assert.deepEqual(first.payload.zones, [SKY, DRIVEWAY]);
    assert.equal(typeof first.payload.requestId, 'string');

    const cameras = (await (await api('/api/cameras')).json()) as { cameras: Array<{ camera_id: string; zones: unknown }> };
    assert.deepEqual(cameras.cameras.find((c) => c.camera_id === PI)?.zones, [SKY, DRIVEWAY]);

    // The Pi restarts (and forgot them): its next connection gets them again, with its mode.
    // A second later than its first connection: the same payload again would be a redelivery, dropped as a duplicate.
    await publish(topics.connection(PI, 'picam'), { status: 'disconnected', timestamp: now() + 1 });
    await publish(topics.connection(PI, 'picam'), connected(now() + 1, { name: 'Kitchen Pi' }));
    const again = await waitFor('the zones again', async () =>
      commands.find((c) => c.topic === ZONES_TOPIC && c.payload.requestId !== first.payload.requestId),
    );
    assert.deepEqual(again.payload.zones, [SKY, DRIVEWAY]);
  });

  it('stores the zones of each event, lists them at /api/events (by zone too), and alerts only for the driveway', async () => {
    const elsewhere = `evt_${'a'.repeat(32)}`;
    const inDriveway = `evt_${'b'.repeat(32)}`;
    const base = { activityType: 'MOTION', confidence: 0.8, region: { x: 10, y: 60, w: 20, h: 20 } };
    await publish(topics.start(PI, 'picam'), { ...base, eventId: elsewhere, timestamp: now(), zones: [] });
    await publish(topics.start(PI, 'picam'), { ...base, eventId: inDriveway, timestamp: now(), zones: ['driveway'] });
    await publish(topics.stop(PI, 'picam'), { eventId: inDriveway, activityType: 'MOTION', timestamp: now(), zones: ['driveway'] });

    const hookAlert = await waitFor('the driveway alert', async () => hooked.find((b) => b.alert?.eventId === inDriveway));
    assert.deepEqual(hookAlert.alert.zones, ['driveway']);
    const held = await waitFor('the other one held back', async () => {
      const r = await rows<{ state: string; last_error: string | null }>(
        join(dir, 'picam-guardian.db'),
        'SELECT state, last_error FROM alerts_outbox WHERE event_id = ?',
        [elsewhere],
      );
      return r[0];
    });
    assert.equal(held.state, 'suppressed');
    assert.match(held.last_error ?? '', /outside every zone, not in driveway/);
    assert.ok(!hooked.some((b) => b.alert?.eventId === elsewhere), 'no alert for motion outside the driveway');

    const all = (await (await api(`/api/events?camera=${PI}`)).json()) as { events: Array<{ event_id: string; zones: unknown }> };
    const zonesOf = (id: string) => all.events.find((e) => e.event_id === id)?.zones;
    assert.deepEqual(zonesOf(elsewhere), [], 'stored although no alert went out');
    assert.deepEqual(zonesOf(inDriveway), ['driveway']);
    const filtered = (await (await api('/api/events?zone=driveway')).json()) as { events: Array<{ event_id: string }> };
    assert.deepEqual(
      filtered.events.map((e) => e.event_id),
      [inDriveway],
    );
    const bad = await api('/api/events?zone=%3Cscript%3E');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /"zone" must be a zone name/);
  });

  it('alerts when an event reaches the driveway after it began (its start sent again), once, and stores the zones', async (t) => {
    // another Pi: the driveway alert of the test before started the kitchen Pi's cooldown
    const later = `evt_${'c'.repeat(32)}`;
    const garage = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORTS.mqtt}`, { ...LOGINS.devices, clientId: GARAGE, reconnectPeriod: 0 });
    const publish = (topic: string, payload: unknown) => garage.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
    t.after(() => garage.endAsync());
    await publish(topics.connection(GARAGE, 'picam'), connected(now(), { name: 'Garage Pi' }));
    const start = { eventId: later, activityType: 'MOTION', confidence: 0.7, region: { x: 70, y: 10, w: 10, h: 10 }, timestamp: now() };
    await publish(topics.start(GARAGE, 'picam'), { ...start, zones: [] });
    await waitFor('the first start held back', async () => {
      const r = await rows<{ state: string }>(join(dir, 'picam-guardian.db'), 'SELECT state FROM alerts_outbox WHERE event_id = ?', [
        later,
      ]);
      return r[0]?.state === 'suppressed' ? true : undefined;
    });
    // the person walks into the driveway: the Pi sends the start again, same id and time, with the zone
    await publish(topics.start(GARAGE, 'picam'), { ...start, zones: ['driveway'] });
    const alert = await waitFor('the driveway alert', async () => hooked.find((b) => b.alert?.eventId === later));
    assert.deepEqual(alert.alert.zones, ['driveway']);
    // and on to the porch: the event's alert went out already, nothing more is sent
    await publish(topics.start(GARAGE, 'picam'), { ...start, zones: ['driveway', 'porch'] });
    await publish(topics.stop(GARAGE, 'picam'), {
      eventId: later,
      activityType: 'MOTION',
      timestamp: now() + 5,
      zones: ['driveway', 'porch'],
    });
    const states = await waitFor('three alert rows decided', async () => {
      const r = await rows<{ state: string; last_error: string | null }>(
        join(dir, 'picam-guardian.db'),
        "SELECT state, last_error FROM alerts_outbox WHERE event_id = ? AND item = 'alert' ORDER BY id",
        [later],
      );
      return r.length === 3 && r.every((x) => x.state !== 'pending' && x.state !== 'sending') ? r : undefined;
    });
    assert.deepEqual(
      states.map((x) => x.state),
      ['suppressed', 'sent', 'suppressed'],
    );
    assert.match(states[2]!.last_error ?? '', /duplicate of event/);
    assert.equal(hooked.filter((b) => b.alert?.eventId === later).length, 1, 'one alert for the event');
    const events = (await (await api(`/api/events?zone=driveway`)).json()) as {
      events: Array<{ event_id: string; zones: unknown; start_timestamp: number }>;
    };
    const stored = events.events.find((e) => e.event_id === later);
    assert.deepEqual(stored?.zones, ['driveway', 'porch']);
  });
});
