/**
 * Commands through the shipped cloud flow while the broker is away: the API
 * accepts a reboot only as `queued`, says so at /api/commands/{id}, and the
 * camera gets it exactly once when the broker returns, also across a restart
 * of the runtime. A real runtime, a real Mosquitto (the external broker, with
 * the camera's persistent session kept on disk) and a real MQTT.js camera.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess } from '../support/cli';
import { CAMERA, connected, topics } from '../support/fixtures';
import { skipWithoutMosquitto, startMosquitto } from '../support/mosquitto';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const skip = skipWithoutMosquitto;
const LOGIN = LOGINS.devices;
const dir = tempDir('picam-commands-e2e-');
const brokerDir = join(dir, 'mosquitto');
let ports: { http: number; mqtt: number; ws: number };
let runtime: CliProcess | undefined;
let broker: ChildProcess | undefined;
let camera: MqttClient | undefined;
const received: Array<{ topic: string; requestId: string }> = [];

const api = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${ports.http}${path}`, { ...init, headers: { authorization: API_AUTH, ...init.headers } });

function startBroker(): void {
  broker = startMosquitto(brokerDir, ports.mqtt, LOGIN, (passwords) =>
    [
      `listener ${ports.mqtt} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwords}`,
      // The camera's session (its subscription and what is queued for it) survives the outage.
      'persistence true',
      `persistence_location ${join(brokerDir, 'data')}/`,
      '',
    ].join('\n'),
  );
}

async function stopBroker(): Promise<void> {
  const p = broker;
  if (!p || p.exitCode !== null) return;
  await new Promise((r) => {
    p.once('exit', r);
    p.kill('SIGTERM');
  });
}

async function startRuntime(): Promise<void> {
  runtime = startCli(['start', '--role', 'cloud'], cloudRoleEnv(dir, ports, { PICAM_MQTT_BROKER: 'external' }));
  await waitFor('the API', async () => ((await api('/api/status').catch(() => undefined))?.ok ? true : undefined), 60_000);
}

async function stopRuntime(): Promise<void> {
  if (runtime) assert.equal(await runtime.stop(), 0, runtime.output());
  runtime = undefined;
}

const command = async (id: string) => {
  const res = await api(`/api/commands/${id}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { command: { state: string; reason: string | null; sentMs: number | null } }).command;
};

const postReboot = async () => {
  const res = await api(`/api/control/reboot/${CAMERA}`, { method: 'POST' });
  assert.equal(res.status, 202);
  const body = (await res.json()) as { status: string; data: { requestId: string; state: string } };
  assert.equal(body.data.state, 'queued');
  return body.data.requestId;
};

before(async () => {
  if (skip) return;
  ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  mkdirSync(join(brokerDir, 'data'), { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(join(brokerDir, 'data'), 0o777); // Mosquitto writes its sessions as the "mosquitto" user
  startBroker();
  await startRuntime();
  // The camera as the firmware is: a persistent session subscribed to its command topics.
  camera = await waitFor('Mosquitto', () =>
    mqtt
      .connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { ...LOGIN, clientId: CAMERA, clean: false, reconnectPeriod: 0 })
      .catch(() => undefined),
  );
  camera.options.reconnectPeriod = 200; // from now on it comes back by itself, as a camera does
  await camera.subscribeAsync(`prod/honeycomb/${CAMERA}/#`, { qos: 1 });
  camera.on('message', (topic, payload) => received.push({ topic, requestId: String(JSON.parse(payload.toString()).requestId) }));
  // The runtime commands only devices it knows: repeat the hello until its mqtt in has subscribed.
  await waitFor('the camera known to the runtime', async () => {
    await camera!.publishAsync(topics.connection(), JSON.stringify(connected()), { qos: 1 });
    const res = await api(`/api/control/mode/${CAMERA}/ARMED`, { method: 'POST' });
    return res.status === 202 ? true : undefined;
  });
});

after(async () => {
  await camera?.endAsync(true);
  await stopRuntime();
  await stopBroker();
});

it('queues a reboot while the broker is away and delivers it exactly once when the broker returns', { skip }, async () => {
  await stopBroker();
  const id = await postReboot();
  assert.equal((await command(id)).state, 'queued');

  startBroker();
  await waitFor('the camera to get the reboot', async () => received.find((m) => m.requestId === id));
  const sent = await waitFor('state sent', async () => {
    const c = await command(id);
    return c.state === 'sent' ? c : undefined;
  });
  assert.ok(sent.sentMs);
  // A later command comes after it on the same session: the reboot came once.
  const later = await postReboot();
  await waitFor('the later command', async () => received.find((m) => m.requestId === later));
  assert.equal(received.filter((m) => m.requestId === id).length, 1);
  const list = (await (await api(`/api/commands?device=${CAMERA}&state=sent`)).json()) as { commands: Array<{ id: string }> };
  assert.ok(list.commands.some((c) => c.id === id));
});

it('delivers a command queued before the runtime restarted', { skip }, async () => {
  await stopBroker();
  const id = await postReboot();
  await stopRuntime();
  startBroker();
  await startRuntime();
  await waitFor('the camera to get the reboot', async () => received.find((m) => m.requestId === id), 30_000);
  await waitFor('state sent', async () => ((await command(id)).state === 'sent' ? true : undefined));
  assert.equal(received.filter((m) => m.requestId === id).length, 1);
});
