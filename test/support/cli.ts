/** Runs the built `picam-guardian` CLI as a child process, the way users start it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

export const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'picam-guardian.js');

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code */
  stop(): Promise<number | null>;
}

export function startCli(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * How long a test waits for a runtime it started to listen: a bound, not a speed target. Idle,
 * a cloud runtime listens within a few seconds; on a machine running other tests beside it, at
 * a load of 15, it took more than the 15 s a wait gives by default.
 */
export const RUNTIME_START_MS = 90_000;

/** The logins every cloud-role test runtime is started with. */
export const LOGINS = {
  devices: { username: 'devices', password: 'mqtt-secret-for-tests' },
  admin: { username: 'admin', password: 'admin-secret-for-tests' },
  api: { username: 'viewer', password: 'api-secret-for-tests' },
};

/** The Authorization header for the API and dashboard. */
export const API_AUTH = `Basic ${Buffer.from(`${LOGINS.api.username}:${LOGINS.api.password}`).toString('base64')}`;

/** The editor's login through Node-RED's Admin API (`POST {adminUrl}/auth/token`), as the editor and the deploy CLI do it. */
export function adminLogin(adminUrl: string, login = LOGINS.admin): Promise<Response> {
  return fetch(`${adminUrl}/auth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: 'node-red-admin',
      grant_type: 'password',
      scope: '*',
      username: login.username,
      password: login.password,
    }),
  });
}

/** Environment for `picam-guardian start --role cloud`, as an installer's env file would set it. */
export function cloudRoleEnv(
  dataDir: string,
  /**
   * `gateway`: the VBC01 gateway's port; `internal`: the 127.0.0.1 listener for MediaMTX's auth
   * hook. Unset, the OS picks one (no test shares a fixed port).
   */
  ports: { http: number; mqtt: number; ws: number; gateway?: number; internal?: number },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PICAM_DATA_DIR: dataDir,
    PICAM_HOST: '127.0.0.1',
    PICAM_HTTP_PORT: String(ports.http),
    PICAM_MQTT_PORT: String(ports.mqtt),
    PICAM_MQTT_WS_PORT: String(ports.ws),
    PICAM_GATEWAY_PORT: String(ports.gateway ?? 0),
    // Plain HTTP and no camera TLS listener unless a test makes certificates (the cloud role's
    // defaults, HTTPS on 80 and TLS on 8883, need them and fixed ports).
    PICAM_GATEWAY_HTTPS: 'false',
    PICAM_MQTT_TLS_PORT: '',
    PICAM_INTERNAL_PORT: String(ports.internal ?? 0),
    PICAM_LOG_LEVEL: 'warn',
    MQTT_USERNAME: LOGINS.devices.username,
    MQTT_PASSWORD: LOGINS.devices.password,
    PICAM_CREDENTIAL_SECRET: 'credential-secret-for-tests',
    PICAM_ADMIN_USER: LOGINS.admin.username,
    PICAM_ADMIN_PASSWORD_HASH: bcrypt.hashSync(LOGINS.admin.password, 8),
    PICAM_API_USER: LOGINS.api.username,
    PICAM_API_PASSWORD_HASH: bcrypt.hashSync(LOGINS.api.password, 8),
    ...extra,
  };
}
