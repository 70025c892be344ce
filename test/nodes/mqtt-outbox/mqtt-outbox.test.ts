/**
 * mqtt-outbox against a real broker (aedes) that goes away and comes back:
 * what the Pi measured during the outage arrives afterwards, once, in order,
 * with the payloads (and so the timestamps) it had when it was measured.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import outboxNode from '../../../nodes/mqtt-outbox/mqtt-outbox';
import { OutageBroker } from '../../support/aedes-broker';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';
import { Collector, helper, node, rows, spy, text, until, useNodeRed, type Call } from '../../support/node-helper';

useNodeRed();

const dir = tempDir('picam-outbox-');
const ID = 'picam-outbox-test';
const DATA = `prod/device/message/picam/${ID}/`;
const STATUS = `prod/device/status/picam/${ID}`;
const CONNECTION = `prod/device/connection/picam/${ID}`;
let n = 0;
const brokers: OutageBroker[] = [];

after(async () => {
  for (const b of brokers) if (b.running) await b.down();
});

async function broker(): Promise<OutageBroker> {
  const b = await OutageBroker.start();
  brokers.push(b);
  return b;
}

/** The node as the Pi flow configures it, on `b`, with a fresh outbox file. */
async function load(b: OutageBroker, props: Record<string, unknown> = {}) {
  const file = join(dir, `outbox${n++}.db`);
  helper.settings({ mqttReconnectTime: 200 });
  await helper.load(outboxNode, [
    {
      id: 'out',
      type: 'mqtt-outbox',
      name: 'to the cloud',
      broker: '127.0.0.1',
      port: String(b.port),
      clientid: ID,
      keepalive: '10',
      connectionTopic: CONNECTION,
      birthPayload: '{"status":"connected"}',
      willPayload: '{"status":"disconnected"}',
      subscribe: `prod/honeycomb/${ID}/#`,
      topic: '',
      file,
      maxMiB: '',
      maxHours: '',
      maxInFlight: '3',
      wires: [['commands']],
      ...props,
    },
    { id: 'commands', type: 'helper' },
  ]);
  return { file, out: node('out'), commands: new Collector('commands'), statuses: spy('out', 'status'), warnings: spy('out', 'warn') };
}

const statusText = (calls: Call[]) => String((calls.at(-1)?.args[0] as { text?: string } | undefined)?.text ?? '');
const queued = async (file: string) => (await rows<{ n: number }>(file, 'SELECT COUNT(*) AS n FROM outbox'))[0]!.n;

/** What the Pi flow sends: readings, heartbeats, a motion event with its thumbnail, the camera state. */
function measured(t0: number, count: number) {
  const msgs: Array<{ topic: string; payload: unknown }> = [];
  for (let i = 0; i < count; i++) {
    const t = t0 + i * 2000;
    msgs.push({ topic: `${DATA}sensors/environment`, payload: { temperature: 20 + i / 10, humidity: 40, pressure: 1010, timestamp: t } });
    if (i % 5 === 0) msgs.push({ topic: STATUS, payload: { timestamp: t + 1, uptime: i * 2, streamState: 'streaming' } });
    if (i === 3) {
      msgs.push({ topic: `${DATA}activity/start`, payload: { eventId: 'evt_1', activityType: 'MOTION', timestamp: t + 2 } });
      msgs.push({ topic: `${DATA}activity/thumbnail/evt_1`, payload: Buffer.from([0xff, 0xd8, 0xff, 0xe0, i, 0xff, 0xd9]) });
      msgs.push({ topic: `${DATA}camera/state`, payload: { mode: 'ARMED', timestamp: t + 3 } });
    }
  }
  return msgs;
}

const bytes = (payload: unknown) =>
  Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));

/** The data messages the broker received from the Pi, as [topic, payload bytes] pairs in arrival order. */
const arrived = (b: OutageBroker) =>
  b.arrivals.filter((a) => a.topic !== CONNECTION).map((a) => [a.topic, a.payload.toString('base64')] as const);
const expected = (msgs: Array<{ topic: string; payload: unknown }>) =>
  msgs.map((m) => [m.topic, bytes(m.payload).toString('base64')] as const);

describe('mqtt-outbox: an uplink outage', () => {
  it('keeps what was measured while the broker was down and delivers it once, in order, with its own timestamps', async () => {
    const b = await broker();
    const f = await load(b);
    await until('connected', () => statusText(f.statuses).startsWith('connected'), 5000);
    const before = measured(Date.now() - 120_000, 3);
    for (const m of before) f.out.receive({ ...m });
    await waitFor('the first readings at the broker', async () => (arrived(b).length === before.length ? true : undefined), 5000);

    await b.down();
    await until('disconnected', () => statusText(f.statuses).startsWith('disconnected'), 5000);
    const during = measured(Date.now() - 60_000, 12);
    for (const m of during) f.out.receive({ ...m });
    await waitFor('the outage on disk', async () => ((await queued(f.file)) === during.length ? true : undefined), 5000);
    const backlog = new RegExp(`^disconnected.*, ${during.length} queued, oldest \\d+ s$`);
    await until('the backlog on the status', () => backlog.test(statusText(f.statuses)), 5000);

    await b.up();
    // Sent while the backlog replays: it must not overtake it.
    const after = measured(Date.now(), 4);
    for (const m of after) f.out.receive({ ...m });
    const all = [...before, ...during, ...after];
    await waitFor('everything at the broker', async () => (arrived(b).length >= all.length ? true : undefined), 10_000);
    assert.deepEqual(arrived(b), expected(all), 'each message once, in the order it was measured, with its original payload');
    await waitFor('the outbox emptied after the PUBACKs', async () => ((await queued(f.file)) === 0 ? true : undefined), 5000);
    await until('status back to nothing queued', () => /^connected, nothing queued/.test(statusText(f.statuses)), 5000);
    assert.equal(f.statuses.at(-1)!.args[0] && (f.statuses.at(-1)!.args[0] as { fill: string }).fill, 'green');
  });

  it('says it is online (retained) on every connect and passes the commands of its subscription to the output', async () => {
    const b = await broker();
    const f = await load(b);
    const online = () => b.arrivals.filter((a) => a.topic === CONNECTION);
    await waitFor('online', async () => (online().length === 1 ? true : undefined), 5000);
    assert.deepEqual([online()[0]!.payload.toString(), online()[0]!.retain, online()[0]!.clientId], ['{"status":"connected"}', true, ID]);
    await b.down();
    await b.up();
    await waitFor('online again after the outage', async () => (online().length === 2 ? true : undefined), 5000);

    const mqtt = await import('mqtt');
    const cloud = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.port}`, { clientId: 'cloud', reconnectPeriod: 0 });
    // Resubscribed after the outage: a command published now reaches the output.
    await until('subscribed', () => statusText(f.statuses).startsWith('connected'), 5000);
    const command = { requestId: 'req_1', mode: 'PRIVACY' };
    const got = waitFor('the command', async () => f.commands.msgs[0], 5000);
    for (let i = 0; i < 20 && f.commands.msgs.length === 0; i++) {
      await cloud.publishAsync(`prod/honeycomb/${ID}/system/setmode`, JSON.stringify(command), { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    const msg = await got;
    await cloud.endAsync();
    assert.equal(msg.topic, `prod/honeycomb/${ID}/system/setmode`);
    assert.deepEqual(msg.payload, command);
  });

  it('refuses a message it cannot publish with a clear error, and queues nothing for it', async () => {
    const b = await broker();
    const f = await load(b);
    const errors = spy('out', 'error');
    await until('connected', () => statusText(f.statuses).startsWith('connected'), 5000);
    f.out.receive({ payload: { temperature: 20 } });
    f.out.receive({ topic: 'prod/device/#', payload: 'x' });
    f.out.receive({ topic: `${DATA}sensors/environment`, payload: null });
    await until('three errors', () => (errors.length === 3 ? errors : undefined), 5000);
    assert.match(text(errors[0]!), /no topic/);
    assert.match(text(errors[1]!), /wildcard/);
    assert.match(text(errors[2]!), /payload is empty/);
    assert.equal(await queued(f.file), 0);
  });
});

describe('mqtt-outbox: bounds', () => {
  it('drops the oldest messages when the outbox is full, counts them on the status and logs how many', async () => {
    const b = await broker();
    await b.down();
    // 0.002 MiB ≈ 2 kB: about ten of these 200-byte messages.
    const f = await load(b, { maxMiB: '0.002' });
    const msgs = Array.from({ length: 30 }, (_, i) => ({
      topic: `${DATA}sensors/environment`,
      payload: { i, pad: 'x'.repeat(150), timestamp: 1_800_000_000_000 + i },
    }));
    for (const m of msgs) f.out.receive(m);
    await until('a drop report', () => (f.warnings.length > 0 ? true : undefined), 5000);
    await waitFor('all 30 handled', async () => {
      const kept = await queued(f.file);
      const dropped = f.warnings.reduce((sum, w) => sum + Number(/dropped (\d+) oldest/.exec(text(w))?.[1] ?? 0), 0);
      return kept + dropped === 30 ? { kept, dropped } : undefined;
    });
    assert.match(
      text(f.warnings[0]!),
      /outbox full: dropped \d+ oldest messages? \(\d+ bytes, queued .* to .*\) to stay within 0\.002 MiB/,
    );
    await until('the status counts the drops', () => (/dropped \d+ \(\d+ full\)/.test(statusText(f.statuses)) ? true : undefined), 5000);

    await b.up();
    const kept = await queued(f.file);
    await waitFor('the kept messages at the broker', async () => (arrived(b).length === kept ? true : undefined), 10_000);
    assert.deepEqual(arrived(b), expected(msgs.slice(30 - kept)), 'the newest survive, in order');
  });
});

describe('mqtt-outbox: a crash', () => {
  /** Runs outbox-child.ts until it has committed `count` messages, then kills it with SIGKILL. */
  async function queueAndKill(file: string, port: number, count: number, topic: string): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, '..', '..', 'support', 'outbox-child.ts'), file, String(port), String(count), topic],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(
        `the child to commit ${count} messages`,
        async () => (out.includes(`queued ${count - 1}\n`) ? true : undefined),
        20_000,
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }

  const sequence = (b: OutageBroker, topic: string) =>
    b.arrivals.filter((a) => a.topic === topic).map((a) => (JSON.parse(a.payload.toString()) as { i: number }).i);

  /** The next start (the node, on the same file) sends what the crash left: every message, first copies in order. */
  async function restartDelivers(b: OutageBroker, file: string, topic: string, count: number): Promise<void> {
    await load(b, { file });
    await waitFor(`all ${count} at the broker`, async () => (new Set(sequence(b, topic)).size === count ? true : undefined), 20_000);
    const got = sequence(b, topic);
    const firsts = got.filter((i, k) => got.indexOf(i) === k);
    assert.deepEqual(
      firsts,
      Array.from({ length: count }, (_, i) => i),
      'every message arrived, first copies in order',
    );
    await waitFor('the outbox emptied', async () => ((await queued(file)) === 0 ? true : undefined), 5000);
  }

  it('loses nothing committed when the process holding the outbox is killed with SIGKILL during an outage', async () => {
    const b = await broker();
    await b.down();
    const file = join(dir, 'crash-offline.db');
    const topic = `${DATA}sensors/environment`;
    await queueAndKill(file, b.port, 50, topic);
    assert.equal(await queued(file), 50, 'the rows are on disk after the kill');
    await b.up();
    await restartDelivers(b, file, topic, 50);
  });

  it('loses nothing when killed mid-send, with messages delivered, in flight and not yet sent', async () => {
    const b = await broker();
    const file = join(dir, 'crash-sending.db');
    const topic = `${DATA}sensors/environment`;
    await queueAndKill(file, b.port, 300, topic);
    await restartDelivers(b, file, topic, 300);
  });
});
