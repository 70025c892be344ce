/**
 * A small client for the Node-RED Admin API (https://nodered.org/docs/api/admin/),
 * the part `picam-guardian deploy` uses. Every failure becomes an AdminApiError
 * whose message is one line a user can act on.
 */
import type { FlowNode } from '../flows/flow-file';

export type AdminApiErrorKind = 'unreachable' | 'not-node-red' | 'auth' | 'stale' | 'http';

export class AdminApiError extends Error {
  override name = 'AdminApiError';
  constructor(
    message: string,
    readonly kind: AdminApiErrorKind,
  ) {
    super(message);
  }
}

export interface Login {
  user?: string;
  password?: string;
  /** a bearer token from an earlier login; used instead of user and password */
  token?: string;
}

/** One entry of GET /nodes: a node set of a module. */
export interface NodeSet {
  id: string;
  name: string;
  types: string[];
  enabled: boolean;
  module: string;
  version?: string;
  err?: string;
}

export interface RuntimeFlows {
  rev: string;
  flows: FlowNode[];
}

const TIMEOUT_MS = 30_000;

/** Why fetch() failed, in words: Node's fetch hides the system error in `cause`. */
function networkProblem(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (is Node-RED running, and on this port?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET') return 'the connection was reset';
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `host unreachable (${code})`;
  return e.cause?.message ?? e.message ?? String(err);
}

export class AdminApi {
  private constructor(
    /** the admin root, without a trailing slash: http://host:1880/admin */
    readonly url: string,
    private readonly token: string | undefined,
    /** we logged in, so we revoke the token when done */
    private readonly ownToken: boolean,
  ) {}

  /** Checks that `url` is a Node-RED admin root and logs in if the runtime asks for it. */
  static async connect(url: string, login: Login): Promise<AdminApi> {
    let base: string;
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
      base = parsed.toString().replace(/\/+$/, '');
    } catch {
      throw new AdminApiError(`"${url}" is not an http(s) URL of a Node-RED editor (e.g. http://host:1880/admin)`, 'not-node-red');
    }
    const anonymous = new AdminApi(base, undefined, false);
    // Every Node-RED editor answers GET /auth/login without a login; anything else is the wrong address.
    const probe = await anonymous.request('GET', '/auth/login');
    const scheme = probe.ok ? ((await probe.json().catch(() => undefined)) as { type?: string } | undefined) : undefined;
    if (!scheme) {
      throw new AdminApiError(
        `${base} does not answer like a Node-RED editor (GET /auth/login: HTTP ${probe.status}${probe.ok ? ', not JSON' : ''}): is the admin path right, e.g. http://host:1880/admin?`,
        'not-node-red',
      );
    }
    if (!scheme.type) return anonymous; // the runtime has no adminAuth
    if (login.token) {
      const api = new AdminApi(base, login.token, false);
      await api.settings(); // a refused token fails here, before anything else is read
      return api;
    }
    if (scheme.type !== 'credentials') {
      throw new AdminApiError(`the runtime at ${base} logs in through "${scheme.type}": use --token with a token from it`, 'auth');
    }
    if (!login.user) {
      throw new AdminApiError(
        `the runtime at ${base} requires a login: use --user NAME (password in PICAM_DEPLOY_PASSWORD) or --token`,
        'auth',
      );
    }
    const body = new URLSearchParams({
      client_id: 'node-red-admin',
      grant_type: 'password',
      scope: '*',
      username: login.user,
      password: login.password ?? '',
    });
    const res = await anonymous.request('POST', '/auth/token', body);
    if (res.status === 401 || res.status === 403) {
      throw new AdminApiError(`login refused at ${base}: wrong user name or password for "${login.user}"`, 'auth');
    }
    if (!res.ok) throw await anonymous.httpError('POST', '/auth/token', res);
    const { access_token } = (await res.json()) as { access_token?: string };
    if (!access_token) throw new AdminApiError(`login at ${base} returned no token`, 'auth');
    return new AdminApi(base, access_token, true);
  }

  settings(): Promise<{ version?: string; httpNodeRoot?: string }> {
    return this.json('GET', '/settings');
  }

  nodes(): Promise<NodeSet[]> {
    return this.json('GET', '/nodes');
  }

  /** The flows with their revision (API v2), without credentials: the runtime never gives them out. */
  async flows(): Promise<RuntimeFlows> {
    const result = await this.json<RuntimeFlows>('GET', '/flows');
    if (!Array.isArray(result.flows) || typeof result.rev !== 'string') {
      throw new AdminApiError(`GET ${this.url}/flows did not answer with {rev, flows}`, 'not-node-red');
    }
    return result;
  }

  /**
   * A full deploy, accepted only while the runtime is still at `rev`; returns the new rev.
   * Full, not "nodes": every node restarts, as after a restart of the runtime.
   */
  async setFlows(rev: string, flows: FlowNode[]): Promise<string> {
    const res = await this.request('POST', '/flows', JSON.stringify({ rev, flows }), { 'Node-RED-Deployment-Type': 'full' });
    if (res.status === 409) {
      throw new AdminApiError(
        `the runtime's flows changed since revision ${rev} was read (someone deployed in between): nothing deployed; run the command again and review the new diff`,
        'stale',
      );
    }
    if (!res.ok) throw await this.httpError('POST', '/flows', res);
    return ((await res.json()) as { rev: string }).rev;
  }

  /** A node's credentials as the editor sees them: text fields in clear, passwords only as `has_<name>`. */
  credentials(type: string, id: string): Promise<Record<string, unknown>> {
    return this.json('GET', `/credentials/${encodeURIComponent(type)}/${encodeURIComponent(id)}`);
  }

  /** Revokes the token we logged in with (a token lives for days on the runtime otherwise). */
  async close(): Promise<void> {
    if (!this.ownToken || !this.token) return;
    await this.request('POST', '/auth/revoke', new URLSearchParams({ token: this.token })).catch(() => undefined);
  }

  private async json<T>(method: string, path: string): Promise<T> {
    const res = await this.request(method, path);
    if (!res.ok) throw await this.httpError(method, path, res);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new AdminApiError(
        `${method} ${this.url}${path} did not answer with JSON: is ${this.url} the editor's address (its admin path, e.g. /admin)?`,
        'not-node-red',
      );
    }
  }

  private async request(
    method: string,
    path: string,
    body?: string | URLSearchParams,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, {
        method,
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: {
          accept: 'application/json',
          'Node-RED-API-Version': 'v2',
          ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...headers,
        },
      });
    } catch (err) {
      throw new AdminApiError(`cannot reach Node-RED at ${this.url}: ${networkProblem(err)}`, 'unreachable');
    }
  }

  private async httpError(method: string, path: string, res: Response): Promise<AdminApiError> {
    if (res.status === 401) {
      return new AdminApiError(`${method} ${this.url}${path} refused the login (401): the token is wrong or has expired`, 'auth');
    }
    const text = (await res.text().catch(() => '')).slice(0, 300);
    let detail = text.replace(/\s+/g, ' ').trim();
    try {
      const parsed = JSON.parse(text) as { message?: string; code?: string };
      detail = parsed.message || parsed.code || detail;
    } catch {
      // not JSON: keep the text
    }
    return new AdminApiError(`${method} ${this.url}${path} failed: HTTP ${res.status}${detail ? ` (${detail})` : ''}`, 'http');
  }
}
