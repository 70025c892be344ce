import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import processorNode from '../../../nodes/mqtt-processor/mqtt-processor';
import databaseNode from '../../../nodes/picam-database/picam-database';
import { EventStore } from '../../../nodes/lib/store/store';
import eventsNode from '../../../nodes/sqlite-events/sqlite-events';
import { activity, CAMERA, CAMERA_2, connected, disconnected, heartbeat, topics } from '../../support/fixtures';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, rows, sleep, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir();
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const setmodeTopic = (id = CAMERA) => `prod/honeycomb/${id}/system/setmode`;

/** mqtt-processor p1 with a helper node on each output: o1 records, o2 alerts, o3 commands, o4 replies. */
async function load(props: Record<string, unknown> = {}, extra: object[] = []) {
  const flow = [
    {
      id: 'p1',
      type: 'mqtt-processor',
      name: 'processor',
      prefix: 'prod',
      deviceTypes: 'hive-cam,picam',
      maxPayloadKiB: 256,
      debounceSeconds: 30,
      database: '',
      wires: [['o1'], ['o2'], ['o3'], ['o4']],
      ...props,
    },
    { id: 'o1', type: 'helper' },
    { id: 'o2', type: 'helper' },
    { id: 'o3', type: 'helper' },
    { id: 'o4', type: 'helper' },
    ...extra,
  ];
  await helper.load([databaseNode, processorNode, eventsNode], flow);
  return {
    p1: node('p1'),
    records: new Collector('o1'),
    alerts: new Collector('o2'),
    commands: new Collector('o3'),
    replies: new Collector('o4'),
  };
}

/** Makes the camera known to the processor, as any real device is once it has connected. */
async function connect(f: Awaited<ReturnType<typeof load>>) {
  f.p1.receive({ topic: topics.connection(), payload: json(connected()) });
  await f.records.first();
}

describe('mqtt-processor node: device messages', () => {
  it('sends a heartbeat out of output 1 as a heartbeat record, keeping the MQTT topic', async () => {
    const f = await load();
    const sent = Math.floor(Date.now() / 1000) - 60;
    f.p1.receive({ topic: topics.status(), payload: json(heartbeat(sent)) });
    const msg = await f.records.first();
    assert.equal(msg.topic, topics.status());
    assert.equal(msg.payload.kind, 'heartbeat');
    assert.equal(msg.payload.deviceId, CAMERA);
    assert.equal(msg.payload.deviceType, 'hive-cam');
    assert.equal(msg.payload.batteryLevel, 87);
    assert.equal(msg.payload.timeMs, sent * 1000);
    await sleep(50);
    assert.deepEqual([f.alerts.msgs.length, f.commands.msgs.length, f.replies.msgs.length], [0, 0, 0]);
  });

  it('turns an activity start into a record on output 1 and an activity alert on output 2', async () => {
    const f = await load();
    f.p1.receive({ topic: topics.start(), payload: json(activity('evt_1', 1705329045)) });
    const [record, alert] = await Promise.all([f.records.first(), f.alerts.first()]);
    assert.equal(record.payload.kind, 'activity-start');
    assert.equal(record.payload.eventId, 'evt_1');
    assert.equal(record.topic, topics.start());
    assert.equal(alert.topic, 'alert/activity');
    assert.equal(alert.payload.kind, 'activity');
    assert.equal(alert.payload.deviceId, CAMERA);
    assert.equal(alert.payload.eventId, 'evt_1');
    assert.equal(alert.payload.severity, 'warning');
    assert.match(alert.payload.text, /motion detected/);
  });

  it('processes a publish from the aedes broker node like an mqtt in message', async () => {
    const f = await load();
    f.p1.receive({ topic: 'publish', payload: { packet: { topic: topics.status(), payload: json(heartbeat()) } } });
    const msg = await f.records.first();
    assert.equal(msg.payload.kind, 'heartbeat');
    assert.equal(msg.payload.deviceId, CAMERA);
    assert.equal(msg.payload.batteryLevel, 87);
  });

  it('gives a record from an aedes publish the source MQTT topic as msg.topic', async () => {
    const f = await load();
    f.p1.receive({ topic: 'publish', payload: { packet: { topic: topics.status(), payload: json(heartbeat()) } } });
    const msg = await f.records.first();
    assert.equal(msg.topic, topics.status());
  });

  it('ignores $SYS and command publishes routed by the broker, yet completes them', async () => {
    const f = await load({}, [
      { id: 'c1', type: 'complete', scope: ['p1'], uncaught: false, wires: [['done']] },
      { id: 'done', type: 'helper' },
    ]);
    const completed = new Collector('done');
    const errors = spy('p1', 'error');
    f.p1.receive({ topic: 'publish', payload: { packet: { topic: '$SYS/abc/clients/total', payload: Buffer.from('3') } } });
    f.p1.receive({
      topic: 'publish',
      payload: { packet: { topic: `prod/honeycomb/${CAMERA}/system/setmode`, payload: json({ mode: 'ARMED' }) } },
    });
    await completed.wait(2);
    await sleep(100);
    for (const c of [f.records, f.alerts, f.commands, f.replies])
      assert.equal(c.msgs.length, 0, `${c.id} received ${JSON.stringify(c.msgs)}`);
    assert.equal(errors.length, 0);
    assert.equal(completed.msgs.length, 2);
  });

  it('turns invalid JSON into a dead-letter record, warns, and shows the rejection in its status', async () => {
    const f = await load();
    const warnings = spy('p1', 'warn');
    const statuses = spy('p1', 'status');
    f.p1.receive({ topic: topics.status(), payload: Buffer.from('{"battery": 5') });
    const msg = await f.records.first();
    assert.equal(msg.payload.kind, 'dead-letter');
    assert.equal(msg.payload.source, topics.status());
    assert.match(msg.payload.reason, /invalid JSON/);
    assert.equal(msg.payload.payload, '{"battery": 5');
    await sleep(600); // the counters in the status are throttled to one update per 500 ms
    const last = statuses.at(-1)?.args[0] as { fill?: string; text?: string } | undefined;
    assert.match(last?.text ?? '', /1 rejected/);
    assert.equal(last?.fill, 'yellow');
    assert.equal(warnings.length, 1);
    assert.match(text(warnings[0]!), new RegExp(`rejected ${topics.status()}: invalid JSON`));
  });

  it('fails a message that is neither an MQTT message nor a command', async () => {
    const f = await load();
    const errors = spy('p1', 'error');
    f.p1.receive({ payload: 'hello' });
    await sleep(50);
    assert.equal(errors.length, 1);
    assert.match(text(errors[0]!), /expected an MQTT message/);
    for (const c of [f.records, f.alerts, f.commands, f.replies]) assert.equal(c.msgs.length, 0);
  });
});

describe('mqtt-processor node: commands', () => {
  it('sends a setmode command from msg.command to output 3 and records it on output 1', async () => {
    const f = await load();
    await connect(f);
    f.p1.receive({ topic: 'ui/mode', command: { action: 'setmode', deviceId: CAMERA, mode: 'PRIVACY' } });
    const [record, command] = await Promise.all([f.records.wait(2).then((m) => m[1]!), f.commands.first()]);
    assert.equal(command.topic, setmodeTopic());
    assert.equal(command.payload.mode, 'PRIVACY');
    assert.equal(command.payload.sourceId, CAMERA);
    assert.equal(command.payload.sourceType, 'hive-cam');
    assert.match(command.payload.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual([command.payload.type, command.payload.durationMinutes, command.payload.intervalSeconds], ['NA', 'NA', 'NA']);
    assert.equal(command.qos, 1);
    assert.equal(command.retain, false);
    assert.equal(command.deviceId, CAMERA);
    assert.equal(command.action, 'setmode');
    assert.equal(record.payload.kind, 'command');
    assert.equal(record.payload.action, 'setmode');
    assert.equal(record.payload.mode, 'PRIVACY');
    assert.equal(record.payload.requestId, command.payload.requestId);
    assert.equal(record.topic, 'ui/mode');
  });

  it('hands an http in request for a mode change to output 3 with its command, for command-sender to answer once queued', async () => {
    const f = await load();
    await connect(f);
    const res = { marker: 'the http response object' };
    f.p1.receive({ req: { path: `/api/control/mode/${CAMERA}/ARMED`, params: { id: CAMERA, mode: 'ARMED' } }, res });
    const command = await f.commands.first();
    assert.equal(command.topic, setmodeTopic());
    assert.equal(command.payload.mode, 'ARMED');
    assert.equal(command.res, res, 'msg.res travels with the command to command-sender');
    await sleep(50);
    assert.equal(f.replies.msgs.length, 0, 'no 202 before the command is queued');
  });

  it('answers 503 when output 3 leads nowhere, instead of leaving the request waiting', async () => {
    const f = await load({ wires: [['o1'], ['o2'], [], ['o4']] });
    await connect(f);
    f.p1.receive({ req: { path: `/api/control/reboot/${CAMERA}`, params: { id: CAMERA } }, res: {} });
    const reply = await f.replies.first();
    assert.equal(reply.statusCode, 503);
    assert.match(reply.payload.error, /not wired to a command-sender/);
  });

  it('answers an invalid mode with 400 and sends no command', async () => {
    const f = await load();
    await connect(f);
    f.p1.receive({ req: { path: `/api/control/mode/${CAMERA}/PARTY`, params: { id: CAMERA, mode: 'PARTY' } } });
    const reply = await f.replies.first();
    assert.equal(reply.statusCode, 400);
    assert.equal(reply.payload.status, 'error');
    assert.match(reply.payload.error, /"mode" must be one of ARMED, LIVESTREAMONLY, PRIVACY/);
    await sleep(50);
    assert.equal(f.commands.msgs.length, 0);
    assert.equal(f.records.msgs.length, 1, 'only the connection record');
  });

  it('answers a command for an unknown device with 404', async () => {
    const f = await load();
    f.p1.receive({ req: { path: '/api/control/mode/ghost/ARMED', params: { id: 'ghost', mode: 'ARMED' } } });
    const reply = await f.replies.first();
    assert.equal(reply.statusCode, 404);
    assert.equal(reply.payload.status, 'error');
    assert.match(reply.payload.error, /unknown device "ghost"/);
    await sleep(50);
    assert.equal(f.commands.msgs.length, 0);
  });
  it('answers an HTTP request that names no command with 400 instead of leaving it waiting', async () => {
    const f = await load();
    const errors = spy('p1', 'error');
    f.p1.receive({ req: { path: '/api/control/selfdestruct/abc', params: { id: 'abc' } } });
    const reply = await f.replies.first();
    assert.equal(reply.statusCode, 400);
    assert.match(reply.payload.error, /expected \/api\/control\/\{mode\|reboot\|settings\|sound\|live\|zones\}/);
    await sleep(20);
    assert.equal(errors.length, 1);
  });
});

describe('mqtt-processor node: with a database', () => {
  it('restores a stored mode on the first reconnect after a restart, even when it arrives at once', async () => {
    const file = join(dir, 'restore.db');
    const store = await EventStore.open({ file });
    await store.writeAsync({
      kind: 'connection',
      deviceId: CAMERA,
      deviceType: 'hive-cam',
      timeMs: 1705329000000,
      status: 'connected',
      name: 'Front Door',
      raw: '{}',
    });
    await store.writeAsync({
      kind: 'command',
      deviceId: CAMERA,
      deviceType: 'hive-cam',
      timeMs: 1705329010000,
      action: 'setmode',
      requestId: 'req_0123456789abcdef',
      topic: setmodeTopic(),
      mode: 'LIVESTREAMONLY',
    });
    await store.close();

    const f = await load({ database: 'db' }, [
      {
        id: 'db',
        type: 'picam-database',
        file,
        maxBatch: 100,
        maxDelayMs: 5,
        synchronous: 'NORMAL',
        retainActivityDays: 0,
        retainStatusDays: 0,
        retainSensorDays: 0,
        retainDeadLetterDays: 0,
      },
    ]);
    f.p1.receive({ topic: topics.connection(), payload: json(connected()) });
    const command = await f.commands.first();
    assert.equal(command.topic, setmodeTopic());
    assert.equal(command.payload.mode, 'LIVESTREAMONLY');
    assert.equal(command.payload.sourceType, 'hive-cam');
    assert.equal(command.qos, 1);
    const record = await f.records.first();
    assert.equal(record.payload.kind, 'connection');
  });
});

/** mqtt-processor with a real SQLite file behind it: output 1 goes to sqlite-events (and a helper). */
async function loadWithStore(file: string, props: Record<string, unknown> = {}) {
  const f = await load({ database: 'db', wires: [['o1', 'w1'], ['o2'], ['o3'], ['o4']], ...props }, [
    { id: 'db', type: 'picam-database', file, maxBatch: 100, maxDelayMs: 5, synchronous: 'NORMAL' },
    { id: 'w1', type: 'sqlite-events', name: '', database: 'db', mode: 'write', query: 'cameras', wires: [] },
  ]);
  // the processor loads known devices before it handles anything: wait for "ready"
  return f;
}

/** Polls the file with its own connection until `sql` returns a row that `ok` accepts. */
async function stored<T>(file: string, sql: string, ok: (r: T) => boolean = () => true, params: string[] = []): Promise<T> {
  for (const end = Date.now() + 10_000; ; await sleep(20)) {
    const found = (await rows<T>(file, sql, params).catch(() => [])).find(ok);
    if (found) return found;
    if (Date.now() > end) throw new Error(`not stored: ${sql}`);
  }
}

const lastStatus = (calls: ReturnType<typeof spy>) => (calls.at(-1)?.args[0] ?? {}) as { fill?: string; text?: string };

describe('mqtt-processor node: hostile input and device clocks (issue 13)', () => {
  it('keeps JSON nested 10,000 deep as a dead letter in the database, with the reason, and counts it', async () => {
    const file = join(dir, 'deep.db');
    const f = await loadWithStore(file);
    const statuses = spy('p1', 'status');
    const deep = Buffer.from('['.repeat(10_000) + ']'.repeat(10_000));
    f.p1.receive({ topic: topics.status(), payload: deep });
    f.p1.receive({ topic: topics.start(), payload: Buffer.from('{"eventId":' + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000) + '}') });
    const dead = await stored<{ reason: string; source: string; payload_bytes: number }>(
      file,
      'SELECT reason, source, payload_bytes FROM dead_letters ORDER BY id',
      () => true,
    );
    assert.match(dead.reason, /nested deeper than 32 levels/);
    assert.equal(dead.source, topics.status());
    assert.equal(dead.payload_bytes, deep.length);
    await until('both dead letters counted on the status', () => /2 rejected/.test(lastStatus(statuses).text ?? ''), 5000);
    assert.equal(lastStatus(statuses).fill, 'yellow');
  });

  it('stores a heartbeat from the year 2100 at the receive time, keeps the raw value, warns, and leaves last_seen in the present', async () => {
    const file = join(dir, 'clock.db');
    const f = await loadWithStore(file);
    const warnings = spy('p1', 'warn');
    const statuses = spy('p1', 'status');
    const before = Math.floor(Date.now() / 1000);
    f.p1.receive({ topic: topics.status(), payload: json(heartbeat(Date.UTC(2100, 0, 1) / 1000)) });
    f.p1.receive({ topic: topics.start(), payload: json(activity('evt_hello', 0)) });
    f.p1.receive({ topic: topics.stop(), payload: Buffer.from('{"eventId": "evt_hello", "timestamp": "hello 5"}') });
    const beat = await stored<{ timestamp: number; device_time_raw: string }>(file, 'SELECT timestamp, device_time_raw FROM status_events');
    assert.equal(beat.device_time_raw, '4102444800');
    assert.ok(beat.timestamp >= before && beat.timestamp <= Math.floor(Date.now() / 1000), 'stored at the receive time');
    const event = await stored<{ start_timestamp: number; end_time_raw: string; start_time_raw: string }>(
      file,
      'SELECT start_timestamp, start_time_raw, end_time_raw FROM activity_events WHERE end_time_raw IS NOT NULL',
    );
    assert.equal(event.start_time_raw, '0');
    assert.equal(event.end_time_raw, 'hello 5');
    assert.ok(event.start_timestamp >= before, 'not 1970, not 2001');
    const [cam] = await rows<{ last_seen: number }>(file, 'SELECT last_seen FROM camera_registry WHERE camera_id = ?', [CAMERA]);
    assert.ok(cam!.last_seen <= Math.floor(Date.now() / 1000), 'last_seen is never in the future');
    assert.equal(f.records.msgs.filter((m) => m.payload.kind === 'dead-letter').length, 0, 'good readings are not dead letters');
    await until('the status counts them', () => /3 bad clock/.test(lastStatus(statuses).text ?? ''), 5000);
    assert.match(text(warnings[0]!), /timestamp 4102444800 more than 5 minutes ahead of the runtime's clock: the receive time is used/);
  });

  it('takes its clock window from its properties', async () => {
    const f = await load({ clockPastHours: '1', clockFutureSeconds: '0' });
    const twoHoursAgo = Math.floor(Date.now() / 1000) - 7200;
    f.p1.receive({ topic: topics.status(), payload: json(heartbeat(twoHoursAgo)) });
    const msg = await f.records.first();
    assert.equal(msg.payload.deviceTimeRaw, String(twoHoursAgo));
  });
});

describe('mqtt-processor node: two cameras with the same eventId (issue 13)', () => {
  it('stores two events, each closed by its own camera, with start and stop interleaved', async () => {
    const file = join(dir, 'same-event.db');
    const f = await loadWithStore(file);
    const t = Math.floor(Date.now() / 1000) - 100;
    const [A, B] = [CAMERA_2, CAMERA]; // in id order
    f.p1.receive({ topic: topics.start(A), payload: json(activity('evt_same', t)) });
    f.p1.receive({ topic: topics.start(B), payload: json(activity('evt_same', t + 5)) });
    f.p1.receive({ topic: topics.stop(B), payload: json(activity('evt_same', t + 7)) });
    f.p1.receive({ topic: topics.stop(A), payload: json(activity('evt_same', t + 30)) });
    const alerts = await f.alerts.wait(2);
    assert.deepEqual(alerts.map((a) => a.payload.deviceId).sort(), [A, B]);
    await stored<{ n: number }>(file, 'SELECT count(*) AS n FROM activity_events WHERE end_timestamp IS NOT NULL', (r) => r.n === 2);
    assert.deepEqual(
      await rows(file, 'SELECT camera_id, start_timestamp, end_timestamp, duration_seconds FROM activity_events ORDER BY camera_id'),
      [
        { camera_id: A, start_timestamp: t, end_timestamp: t + 30, duration_seconds: 30 },
        { camera_id: B, start_timestamp: t + 5, end_timestamp: t + 7, duration_seconds: 2 },
      ],
    );
  });
});

describe('mqtt-processor node: an offline alert pending across a restart (issue 13)', () => {
  it('sends the offline alert after a restart inside the debounce window, and only once', async () => {
    const file = join(dir, 'restart.db');
    const props = { debounceSeconds: 2 };
    const now = () => Math.floor(Date.now() / 1000);
    let f = await loadWithStore(file, props);
    f.p1.receive({ topic: topics.connection(), payload: json(connected(now())) });
    assert.equal((await f.alerts.first()).payload.kind, 'camera-online');
    await stored(file, "SELECT 1 FROM camera_registry WHERE connection_alert = 'online'");
    f.p1.receive({ topic: topics.connection(), payload: json(disconnected(now())) });
    await stored(file, "SELECT 1 FROM camera_registry WHERE connection_status = 'disconnected'");

    // the runtime restarts inside the debounce window
    await helper.unload();
    f = await loadWithStore(file, props);
    const offline = await f.alerts.first(10_000);
    assert.equal(offline.payload.kind, 'camera-offline');
    assert.equal(offline.payload.deviceId, CAMERA);
    assert.equal(offline.payload.deviceName, 'Front Door');
    await stored(file, "SELECT 1 FROM camera_registry WHERE connection_alert = 'offline'");

    // and once told, another restart does not tell again
    await helper.unload();
    f = await loadWithStore(file, props);
    await sleep(2500);
    assert.equal(f.alerts.msgs.length, 0);
  });
});
