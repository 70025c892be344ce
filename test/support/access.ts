/** A cloud runtime for the role tests (issue 23), and a dashboard login through the API as the page makes it. */
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import mqtt, { type MqttClient } from 'mqtt';
import { settingsFor } from '../../cli/runtime/roles';
import { startRuntime, type RunningRuntime } from '../../cli/runtime/runtime';
import type { SessionInfo } from '../../nodes/lib/contract/dashboard-api';
import { cloudRoleEnv, LOGINS } from './cli';
import { connected, topics } from './fixtures';
import { freePort } from './ports';
import { tempDir } from './tmp';
import { waitFor } from './wait';

export interface CloudPorts {
  http: number;
  mqtt: number;
  ws: number;
}

/** The role tests' logins below admin (the environment's API user is the admin). */
export const VIEWER = { username: 'vera', password: 'vera-password-1' };
export const OPERATOR = { username: 'otto', password: 'otto-password-1' };

/** PICAM_DASHBOARD_USERS with `logins`, each with its role (`user:hash:role`). */
export function dashboardUsers(logins: Array<[{ username: string; password: string }, 'viewer' | 'operator']>): string {
  return logins.map(([who, role]) => `${who.username}:${bcrypt.hashSync(who.password, 4)}:${role}`).join(',');
}

/** Starts a cloud runtime and waits until its access-control node has read the store's users. */
export async function startAccessCloud(
  extra: Record<string, string>,
  dataDir = tempDir('picam-access-'),
): Promise<{ runtime: RunningRuntime; ports: CloudPorts; dataDir: string }> {
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  const runtime = await startRuntime(settingsFor(cloudRoleEnv(dataDir, ports, { PICAM_ROLE: 'cloud', ...extra })));
  await waitFor('the store’s users read', async () => ((await fetch(`${runtime.url}/api/first-run`)).status === 200 ? true : undefined));
  return { runtime, ports, dataDir };
}

export interface Login {
  cookie: string;
  csrf: string;
  info: SessionInfo;
}

/** POST /api/login: the session cookie and the CSRF token. */
export async function apiLogin(url: string, who: { username: string; password: string }): Promise<Login> {
  const res = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...who, remember: false }),
  });
  assert.equal(res.status, 200, `${who.username} logs in: ${await res.clone().text()}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const info = (await res.json()) as SessionInfo;
  return { cookie, csrf: info.csrfToken, info };
}

/** A camera on the broker as a device comes: its connection message (with its name, if any) and its ARMED state. */
export async function connectCamera(mqttPort: number, camera: { id: string; name?: string }): Promise<MqttClient> {
  const client = await waitFor('the broker', () =>
    mqtt
      .connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { ...LOGINS.devices, clientId: camera.id, reconnectPeriod: 0 })
      .catch(() => undefined),
  );
  const hello = connected(Math.floor(Date.now() / 1000), camera.name === undefined ? undefined : { name: camera.name });
  await client.publishAsync(topics.connection(camera.id, 'picam'), JSON.stringify(hello), { qos: 1 });
  await client.publishAsync(topics.state(camera.id, 'picam'), JSON.stringify({ mode: 'ARMED' }), { qos: 1 });
  return client;
}

/** The cloud role's environment with the role tests' viewer and operator as dashboard users. */
export const withViewerAndOperator = (): Record<string, string> => ({
  PICAM_ROLE: 'cloud',
  PICAM_DASHBOARD_USERS: dashboardUsers([
    [VIEWER, 'viewer'],
    [OPERATOR, 'operator'],
  ]),
});

/** A cloud runtime with a viewer and an operator, and `camera` connected (so mode commands have somewhere to go). */
export async function startRolesCloud(camera: string): Promise<{ runtime: RunningRuntime; ports: CloudPorts; dataDir: string }> {
  const started = await startAccessCloud(withViewerAndOperator());
  await (await connectCamera(started.ports.mqtt, { id: camera })).endAsync();
  return started;
}
