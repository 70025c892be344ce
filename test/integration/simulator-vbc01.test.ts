/**
 * The simulator's VBC01 cameras speak the firmware's protocol
 * (shared/reference/vbc01-protocol.md §1, §5, §6), seen from a real aedes broker
 * by a real MQTT client: what a real camera would publish, and what it does
 * with setmode and sound commands.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { startSimulator, type Simulator } from '../../cli/commands/simulator';
import { OutageBroker } from '../support/aedes-broker';
import { waitFor } from '../support/wait';

let broker: OutageBroker;
let sim: Simulator;
let observer: MqttClient;
const seen: Array<{ topic: string; payload: Record<string, unknown> }> = [];
const logs: string[] = [];
let id = '';

const find = (what: string, match: (m: { topic: string; payload: Record<string, unknown> }) => boolean) =>
  waitFor(what, async () => seen.find(match), 20_000);

before(async () => {
  broker = await OutageBroker.start();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  observer = await mqtt.connectAsync(url, { clientId: 'observer', reconnectPeriod: 0 });
  await observer.subscribeAsync('prod/device/#', { qos: 1 });
  observer.on('message', (topic, payload) => seen.push({ topic, payload: JSON.parse(payload.toString()) }));
  // pace 0.01: activity every 0.08-0.3 s
  sim = await startSimulator({ url, cameras: 1, pis: 0, pace: 0.01, log: (l) => logs.push(l) });
  id = sim.devices[0]!.id;
});

after(async () => {
  await sim?.stop();
  await observer?.endAsync(true); // forced: with QoS 1 messages still arriving, a polite end could wait for ever
  await broker?.down();
});

it('uses a 32 upper-case hex id, and says hello with clientId, ipAddress and device.softwareVersion', async () => {
  assert.match(id, /^[0-9A-F]{32}$/);
  const hello = await find('the hello', (m) => m.topic === `prod/device/connection/hive-cam/${id}`);
  assert.equal(hello.payload.status, 'connected');
  assert.equal(hello.payload.clientId, id);
  assert.match(String(hello.payload.ipAddress), /^192\.168\.1\.\d+$/);
  assert.equal((hello.payload.device as { softwareVersion: string }).softwareVersion, 'V0_0_00_117RC_svn1356');
});

it('sends nested heartbeats that carry its IP address', async () => {
  const beat = await find('a heartbeat', (m) => m.topic === `prod/device/status/hive-cam/${id}`);
  const p = beat.payload as {
    battery: { level: number };
    radio: { signalStrength: number };
    ethernet: { ipAddress: string };
    uptime: number;
  };
  assert.equal(typeof p.battery.level, 'number');
  assert.equal(typeof p.radio.signalStrength, 'number');
  assert.match(p.ethernet.ipAddress, /^192\.168\.1\.\d+$/);
  assert.ok(Number.isInteger(p.uptime));
  assert.equal('streamState' in p, false);
});

it('reports activity with lower-case UUID event ids and whole-number confidences, start then stop', async () => {
  const start = await find('an activity start', (m) => m.topic === `prod/device/message/hive-cam/${id}/activity/start`);
  assert.match(String(start.payload.eventId), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.ok(Number.isInteger(start.payload.confidence) && (start.payload.confidence as number) > 1, 'a percentage such as 72');
  await find('its stop', (m) => m.topic.endsWith('/activity/stop') && m.payload.eventId === start.payload.eventId);
});

it('obeys setmode and sound commands', async () => {
  const command = (tail: string, extra: object) =>
    observer.publishAsync(
      `prod/honeycomb/${id}/${tail}`,
      JSON.stringify({
        requestId: crypto.randomUUID(),
        creationTimestamp: new Date().toISOString(),
        sourceId: id,
        sourceType: 'hive-cam',
        ...extra,
      }),
      { qos: 1 },
    );
  await command('system/setmode', { mode: 'PRIVACY', type: 'NA', durationMinutes: 'NA', intervalSeconds: 'NA' });
  await find('the reported mode', (m) => m.topic.endsWith('/camera/state') && m.payload.mode === 'PRIVACY');
  await command('sound/play', { soundType: 'DOG_BARK' });
  await waitFor('the bark', async () => logs.find((l) => l.endsWith('playing DOG_BARK')));
  await command('sound/stop', {});
  await waitFor('the stop', async () => logs.find((l) => l.endsWith('sound stopped (asked)')));
});

it('leaves a Last Will without status when its connection breaks, then says hello again', async () => {
  const hellos = () => seen.filter((m) => m.topic === `prod/device/connection/hive-cam/${id}` && m.payload.status === 'connected').length;
  const before = hellos();
  broker.dropClient(id);
  const will = await find('the Will', (m) => m.topic === `prod/device/connection/hive-cam/${id}` && m.payload.status === undefined);
  assert.deepEqual(will.payload, { eventType: 'DISCONNECT' });
  await waitFor('the hello after the reconnect', async () => (hellos() > before ? true : undefined), 20_000);
});
