/**
 * The "done when": the demo with Home Assistant discovery on (PICAM_HA_DISCOVERY=on)
 * announces every simulated device as a discovery topic the documented schema accepts, and
 * their availability and mode under the MQTT API's prefix, and removes an IP camera deleted
 * through the API. A Home Assistant stand-in connects to the demo's broker (no login in the demo,
 * loopback only) as Home Assistant would.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { DEMO_IPCAM_ID } from '../../cli/runtime/demo-ipcam';
import { startCli, type CliProcess } from '../support/cli';
import { checkDeviceDiscovery } from '../support/ha-discovery-schema';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const dir = tempDir('picam-ha-demo-');
let demo: CliProcess | undefined;
let ha: MqttClient | undefined;
const port = { http: 0, mqtt: 0, ws: 0, rtsp: 0, gateway: 0, ipcam: 0 };
/** what the stand-in read: discovery configs (undefined: emptied) and state topics */
const configs = new Map<string, unknown>();
const states = new Map<string, string>();
const topicOf = (id: string) => `homeassistant/device/picam_${id.replace(/[^A-Za-z0-9_-]/g, '_')}/config`;

after(async () => {
  await ha?.endAsync(true);
  if (demo) assert.equal(await demo.stop(), 0, demo.output());
});

it('announces every simulated device of the demo to Home Assistant', async () => {
  for (const key of Object.keys(port) as Array<keyof typeof port>) port[key] = await freePort();
  demo = startCli(['start', '--role', 'demo', '--pace', '0.2'], {
    PICAM_DATA_DIR: dir,
    PICAM_HTTP_PORT: String(port.http),
    PICAM_MQTT_PORT: String(port.mqtt),
    PICAM_MQTT_WS_PORT: String(port.ws),
    PICAM_GATEWAY_PORT: String(port.gateway),
    PICAM_RTSP_URL: `rtsp://127.0.0.1:${port.rtsp}/picam-1`,
    PICAM_IPCAM_RTSP_PORT: String(port.ipcam),
    PICAM_HA_DISCOVERY: 'on',
  });
  ha = await waitFor(
    'the demo broker',
    () => mqtt.connectAsync(`mqtt://127.0.0.1:${port.mqtt}`, { clientId: 'home-assistant', reconnectPeriod: 0 }).catch(() => undefined),
    60_000,
  );
  ha.on('message', (topic, payload) => {
    if (topic.startsWith('homeassistant/device/')) configs.set(topic, payload.length ? JSON.parse(payload.toString()) : undefined);
    else states.set(topic, payload.toString());
  });
  await ha.subscribeAsync(['homeassistant/#', 'picam/devices/+/connection'], { qos: 1 });

  const cameras = await waitFor(
    'the simulated devices',
    async () => {
      const r = await fetch(`http://127.0.0.1:${port.http}/api/cameras`).catch(() => undefined);
      const body = r?.ok ? ((await r.json()) as { cameras: Array<{ camera_id: string; device_type: string }> }) : undefined;
      return body && body.cameras.length >= 4 ? body.cameras : undefined;
    },
    60_000,
  );
  const devices = cameras.map((c) => c.camera_id);
  await waitFor('discovery for every device', async () => (devices.every((id) => configs.get(topicOf(id))) ? true : undefined), 30_000);
  for (const id of devices) {
    assert.deepEqual(checkDeviceDiscovery(topicOf(id), configs.get(topicOf(id))), [], id);
  }
  // Through the shipped flow's links: a request is checked and queued like POST /api/control, and answered.
  const answers: Array<Record<string, any>> = [];
  ha.on('message', (topic, payload) => topic === 'picam/response/e2e' && answers.push(JSON.parse(payload.toString())));
  await ha.subscribeAsync('picam/response/e2e', { qos: 1 });
  const ask = async (id: string, command: string, body: object) => {
    await ha!.publishAsync(`picam/request/${command}`, JSON.stringify({ id, replyTo: 'picam/response/e2e', ...body }), { qos: 1 });
    return waitFor(`the answer to ${id}`, async () => answers.find((a) => a.id === id));
  };
  const camera = cameras.find((c) => c.device_type === 'hive-cam')!.camera_id;
  const queued = await ask('mode-1', 'setmode', { deviceId: camera, mode: 'LIVESTREAMONLY' });
  assert.equal(queued.code, 202, JSON.stringify(queued));
  const listed = await fetch(`http://127.0.0.1:${port.http}${queued.data.statusUrl}`);
  assert.equal(listed.status, 200, 'the command is in the same queue as an HTTP one');
  const unknown = await ask('mode-2', 'setmode', { deviceId: 'NOSUCHDEVICE', mode: 'ARMED' });
  assert.equal(unknown.code, 404, 'refused by the processor as the HTTP API refuses it');

  // Availability follows the devices' connection state.
  await waitFor(
    'availability',
    async () => (devices.some((id) => states.get(`picam/devices/${id}/connection`) === 'online') ? true : undefined),
    30_000,
  );
});

it('removes an IP camera deleted through the API from Home Assistant, for good', async () => {
  assert.ok(ha, 'the demo runs (the test above)');
  const topic = topicOf(DEMO_IPCAM_ID);
  await waitFor('the IP camera announced', async () => (configs.get(topic) ? true : undefined), 60_000);
  const res = await fetch(`http://127.0.0.1:${port.http}/api/ipcams/${DEMO_IPCAM_ID}`, { method: 'DELETE' });
  assert.equal(res.status, 204, await res.text());

  // Device-based discovery: an empty retained config on the device's topic removes the device and its entities.
  await waitFor('the empty discovery config', async () => (configs.has(topic) && configs.get(topic) === undefined ? true : undefined));
  await waitFor('its retained state cleared', async () =>
    states.get(`picam/devices/${DEMO_IPCAM_ID}/connection`) === '' ? true : undefined,
  );

  // A Home Assistant that connects now (or restarts) finds no config for it, and its birth message brings none back.
  const fresh = await mqtt.connectAsync(`mqtt://127.0.0.1:${port.mqtt}`, { clientId: 'fresh-home-assistant', reconnectPeriod: 0 });
  try {
    const seen: Array<{ topic: string; payload: string }> = [];
    fresh.on('message', (t, p) => seen.push({ topic: t, payload: p.toString() }));
    await fresh.subscribeAsync(['homeassistant/device/+/config', `picam/devices/${DEMO_IPCAM_ID}/#`], { qos: 1 });
    await fresh.publishAsync('homeassistant/status', 'online', { qos: 1 });
    // The birth message re-sends every other device's config: once the last of them is here, any for the camera would be too.
    const others = [...configs.entries()].filter(([t, c]) => t !== topic && c !== undefined).map(([t]) => t);
    await waitFor('the other devices announced again', async () =>
      others.every((t) => seen.filter((m) => m.topic === t).length >= 2) ? true : undefined,
    );
    assert.deepEqual(
      seen.filter((m) => (m.topic === topic || m.topic.startsWith(`picam/devices/${DEMO_IPCAM_ID}/`)) && m.payload !== ''),
      [],
      'nothing of the removed camera',
    );
  } finally {
    await fresh.endAsync(true);
  }

  // Gone from the device list too (its registry row went with it), so a restart does not announce it again.
  const listed = (await (await fetch(`http://127.0.0.1:${port.http}/api/cameras`)).json()) as { cameras: Array<{ camera_id: string }> };
  assert.equal(
    listed.cameras.find((c) => c.camera_id === DEMO_IPCAM_ID),
    undefined,
  );
});
