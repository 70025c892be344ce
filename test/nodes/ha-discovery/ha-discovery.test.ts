/**
 * ha-discovery in a real Node-RED runtime with the embedded broker: simulated devices appear
 * as Home Assistant discovery topics the documented schema accepts, their state follows,
 * the mode select reaches the camera's command topic through the command queue, discovery
 * comes again when Home Assistant announces itself, and a removed device is cleared.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CAMERA, PI, activity, connected, environment, heartbeat, topics } from '../../support/fixtures';
import { checkDeviceDiscovery } from '../../support/ha-discovery-schema';
import { Client, DEVICE_LOGIN, HA_LOGIN, loadHomeAssistantFlow } from '../../support/home-assistant-flow';
import { node, spy, useNodeRed } from '../../support/node-helper';
import { waitFor } from '../../support/wait';
import { tempDir } from '../../support/tmp';

useNodeRed();
const dir = tempDir('picam-ha-discovery-');
const camTopic = `homeassistant/device/picam_${CAMERA}/config`;
const piTopic = `homeassistant/device/picam_${PI}/config`;
const clients: Client[] = [];
let port: number;

const connect = async (opts: object) => {
  const c = await Client.connect(port, opts);
  clients.push(c);
  return c;
};
const publish = (c: Client, topic: string, payload: object) => c.mqtt.publishAsync(topic, JSON.stringify(payload), { qos: 1 });

/** A VBC01 camera (subscribed to its commands) and a Pi with a Sense HAT, as they announce themselves. */
async function devices() {
  const camera = await connect({ ...DEVICE_LOGIN, clientId: CAMERA });
  await camera.mqtt.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
  await publish(camera, topics.connection(), connected());
  await publish(camera, topics.status(), heartbeat());
  const pi = await connect({ ...DEVICE_LOGIN, clientId: PI });
  await publish(pi, topics.connection(PI, 'picam'), connected(1705329045, { name: 'Kitchen' }));
  await publish(pi, topics.environment(), environment());
  return { camera, pi };
}

describe('ha-discovery with a real broker', () => {
  beforeEach(async () => {
    port = await loadHomeAssistantFlow(dir);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end()));
  });

  it('announces every device, with state topics that follow the devices', async () => {
    const ha = await connect({ ...HA_LOGIN, clientId: 'home-assistant' });
    await ha.mqtt.subscribeAsync(['homeassistant/#', 'picam/#'], { qos: 1 });
    const { camera } = await devices();

    for (const topic of [camTopic, piTopic]) {
      const config = await ha.json(topic);
      assert.deepEqual(checkDeviceDiscovery(topic, config), [], topic);
    }
    const cam = await ha.json(camTopic, (c) => 'battery' in c.cmps);
    assert.equal(cam.dev.name, 'Front Door');
    assert.ok(cam.cmps.person, 'a VBC01 can report MOTION_SMART: it has a person sensor');
    const pi = await ha.json(piTopic, (c) => 'temperature' in c.cmps);
    assert.equal(pi.cmps.temperature.stat_t, `picam/devices/${PI}/sensors`);

    // Availability and readings under our own prefix, retained.
    assert.equal((await ha.next(`picam/devices/${CAMERA}/connection`)).payload.toString(), 'online');
    assert.equal((await ha.json(`picam/devices/${CAMERA}/health`)).battery, 87);
    assert.equal((await ha.json(`picam/devices/${PI}/sensors`)).temperature, 21.5);
    await publish(camera, topics.start(), activity('evt-1', 1705329070));
    await ha.next(`picam/devices/${CAMERA}/motion`, (p) => p.toString() === 'ON');
    assert.equal((await ha.json(`picam/events/${CAMERA}`, (e) => e.kind === 'activity-start')).eventId, 'evt-1');

    // A subscriber that comes later reads the retained state and discovery at once.
    const late = await connect({ ...HA_LOGIN, clientId: 'late-home-assistant' });
    await late.mqtt.subscribeAsync(['homeassistant/#', `picam/devices/${CAMERA}/connection`], { qos: 1 });
    assert.ok((await late.next(camTopic)).retain);
    assert.ok((await late.next(`picam/devices/${CAMERA}/connection`)).retain);
  });

  it("the mode select's command topic reaches the camera's setmode topic", async () => {
    const ha = await connect({ ...HA_LOGIN, clientId: 'home-assistant' });
    await ha.mqtt.subscribeAsync([`picam/devices/${CAMERA}/mode`, camTopic], { qos: 1 });
    const { camera } = await devices();
    const config = await ha.json(camTopic);
    await ha.mqtt.publishAsync(config.cmps.mode.cmd_t, 'PRIVACY', { qos: 1 });
    const command = await camera.json(`prod/honeycomb/${CAMERA}/system/setmode`, (c) => c.mode === 'PRIVACY');
    assert.equal(typeof command.requestId, 'string', 'the command envelope, as an HTTP command has');
    await ha.next(`picam/devices/${CAMERA}/mode`, (p) => p.toString() === 'PRIVACY');

    // The reboot button too.
    await ha.mqtt.publishAsync(config.cmps.reboot.cmd_t, 'PRESS', { qos: 1 });
    await camera.json(`prod/honeycomb/${CAMERA}/system/reboot`);
  });

  it('sends discovery again when Home Assistant says it is online, and clears a removed device', async () => {
    const ha = await connect({ ...HA_LOGIN, clientId: 'home-assistant' });
    await devices();
    await ha.mqtt.subscribeAsync('homeassistant/device/#', { qos: 1 });
    await ha.json(piTopic);
    const from = ha.received.length;
    await ha.mqtt.publishAsync('homeassistant/status', 'online', { qos: 1 });
    const again = await ha.json(camTopic, () => true, from);
    assert.deepEqual(checkDeviceDiscovery(camTopic, again), []);
    await ha.json(piTopic, () => true, from);

    // A removal that names no device is refused, and changes nothing.
    const errors = spy('ha', 'error');
    node('ha').receive({ topic: 'device/removed', payload: { deviceId: 'a/b/#' } });
    await waitFor('the refusal', async () => errors[0]);
    assert.match(String(errors[0]!.args[0]), /device id/);
    node('ha').receive({ topic: 'device/removed', payload: { deviceId: PI } });
    const removal = await ha.next(piTopic, (p) => p.length === 0);
    assert.equal(removal.payload.length, 0);
    // Retained removal: a Home Assistant that connects now sees no Pi.
    const fresh = await connect({ ...HA_LOGIN, clientId: 'fresh-home-assistant' });
    await fresh.mqtt.subscribeAsync('homeassistant/device/#', { qos: 1 });
    await fresh.next(camTopic);
    assert.equal(
      fresh.received.find((m) => m.topic === piTopic),
      undefined,
    );
    // ...and it is not announced again on the next birth message.
    const before = ha.received.length;
    await ha.mqtt.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await ha.next(camTopic, () => true, before);
    assert.equal(
      ha.received.slice(before).find((m) => m.topic === piTopic && m.payload.length > 0),
      undefined,
    );
  });

  it('keeps Home Assistant out of the device tree', async () => {
    const { camera } = await devices();
    const ha = await connect({ ...HA_LOGIN, clientId: 'home-assistant' });
    // MQTT.js rejects a SUBACK holding 0x80 (refused)
    await assert.rejects(ha.mqtt.subscribeAsync('prod/#', { qos: 1 }), /Subscribe error/);
    assert.equal((await ha.mqtt.subscribeAsync('picam/#', { qos: 1 }))[0]!.qos, 1);
    await ha.mqtt.publishAsync(`prod/honeycomb/${CAMERA}/system/reboot`, '{}', { qos: 1 });
    // A device-tree topic is dropped; a set topic right after it is routed: so the first never arrived.
    await ha.mqtt.publishAsync(`picam/devices/${CAMERA}/mode/set`, 'ARMED', { qos: 1 });
    await camera.json(`prod/honeycomb/${CAMERA}/system/setmode`, (c) => c.mode === 'ARMED');
    assert.equal(
      camera.received.find((m) => m.topic.endsWith('/system/reboot') && m.payload.toString() === '{}'),
      undefined,
    );
    // A device login cannot read discovery either.
    await assert.rejects(camera.mqtt.subscribeAsync('homeassistant/#', { qos: 1 }), /Subscribe error/);
  });
});
