/**
 * The dashboard's settings, from environment variables (read by settingsFor in
 * roles.ts, so a bad value stops the runtime before it starts):
 *
 *   PICAM_API_USER / PICAM_API_PASSWORD_HASH   the API login, which also logs in to the dashboard
 *   PICAM_DASHBOARD_USERS   more dashboard users: "alice:$2b$12$...,bob:$2b$12$...:viewer" (bcrypt hashes;
 *                           admins unless a third field names a role: viewer, operator or admin)
 *   PICAM_API_TOKENS        API tokens for scripts: "name:<sha256 hex of the token>[:role],..." (admin by default)
 *   PICAM_WEBRTC_URL        MediaMTX's WebRTC server as the browser reaches it (http://host:8889)
 *   PICAM_DASHBOARD_MJPEG   MJPEG previews when there is no WebRTC: "picam-1=/picam/preview,..."
 */
import { API_ROLES, type ApiRole } from '../../nodes/lib/contract/api-routes';
import { parseLoginList } from '../../nodes/lib/logins';
import { parseList } from '../../nodes/lib/settings';
import { DEVICE_ID_PATTERN } from '../../nodes/lib/types';

type Env = Record<string, string | undefined>;

export interface ApiToken {
  /** shown in logs, never the token */
  name: string;
  /** SHA-256 of the token, hex: tokens are long random strings, so a fast hash is enough */
  sha256: string;
  /** admin unless the entry names a role (existing installs keep what they could do) */
  role: ApiRole;
}

export interface DashboardConfig {
  /** the demo: no logins, as its API has none */
  open: boolean;
  /** user name → bcrypt hash */
  users: Map<string, string>;
  /** user name → role: admin unless PICAM_DASHBOARD_USERS names another */
  roles: Map<string, ApiRole>;
  tokens: ApiToken[];
  /** with no trailing slash; '' when there is no MediaMTX for the browser */
  webrtcUrl: string;
  /** device id → MJPEG URL (absolute or on this server) */
  mjpeg: Record<string, string>;
  /** cameras the runtime serves over its own WHEP (/api/live): RTSP sources of the live node */
  runtimeLive: string[];
}

const USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const list = (raw: string | undefined): string[] => parseList(raw);

export function dashboardConfig(
  env: Env,
  role: { open: boolean; apiUser?: string; apiHash?: string; demoMjpeg?: Record<string, string>; runtimeLive?: string[] },
  problems: string[],
): DashboardConfig {
  const users = new Map<string, string>();
  const roles = new Map<string, ApiRole>();
  if (role.apiUser && role.apiHash) (users.set(role.apiUser, role.apiHash), roles.set(role.apiUser, 'admin'));
  try {
    for (const login of parseLoginList('PICAM_DASHBOARD_USERS', env.PICAM_DASHBOARD_USERS, { userPattern: USER_NAME, roles: API_ROLES })) {
      users.set(login.user, login.passwordHash);
      roles.set(login.user, (login.role as ApiRole | undefined) ?? 'admin');
    }
  } catch (err) {
    problems.push((err as Error).message);
  }

  const tokens: ApiToken[] = [];
  for (const entry of list(env.PICAM_API_TOKENS)) {
    const fields = entry.split(':');
    const [name, hex, tokenRole = 'admin'] = fields.length === 1 ? ['', fields[0]!] : fields;
    const sha256 = (hex ?? '').toLowerCase();
    if (
      fields.length > 3 ||
      !SHA256_HEX.test(sha256) ||
      (fields.length > 1 && !USER_NAME.test(name!)) ||
      !API_ROLES.includes(tokenRole as ApiRole)
    ) {
      // Never echo the entry: someone may have pasted the token itself.
      problems.push(
        `PICAM_API_TOKENS: entry ${tokens.length + 1} must be name:<64 hex digits, the SHA-256 of the token>[:viewer|operator|admin]`,
      );
      continue;
    }
    tokens.push({ name: name || `token-${tokens.length + 1}`, sha256, role: tokenRole as ApiRole });
  }

  let webrtcUrl = (env.PICAM_WEBRTC_URL ?? '').trim().replace(/\/+$/, '');
  if (webrtcUrl && !/^https?:\/\/[^/]+/.test(webrtcUrl)) {
    problems.push(`PICAM_WEBRTC_URL must be an http(s) URL such as http://cams.example.org:8889 (got "${webrtcUrl}")`);
    webrtcUrl = '';
  }

  const mjpeg: Record<string, string> = { ...role.demoMjpeg };
  for (const entry of list(env.PICAM_DASHBOARD_MJPEG)) {
    const eq = entry.indexOf('=');
    const id = entry.slice(0, Math.max(eq, 0));
    const url = entry.slice(eq + 1);
    if (eq < 0 || !DEVICE_ID_PATTERN.test(id) || !/^(https?:\/\/|\/)/.test(url)) {
      problems.push(`PICAM_DASHBOARD_MJPEG: "${entry}" must be deviceId=URL (http(s)://… or /path on this server)`);
      continue;
    }
    mjpeg[id] = url;
  }

  return { open: role.open, users, roles, tokens, webrtcUrl, mjpeg, runtimeLive: role.runtimeLive ?? [] };
}
