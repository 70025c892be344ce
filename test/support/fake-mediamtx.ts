/**
 * A local fake of the MediaMTX control API (v3) for tests: `/v3/info`,
 * `/v3/paths/list` (paged), `/v3/paths/get/{name}`, the path configuration
 * (`/v3/config/paths/list|add|replace|delete`), Basic auth. Configuration
 * bodies sent to it are checked against the PathConf schema too, and may
 * only hold fields it names.
 *
 * Every JSON answer is validated against the real OpenAPI file
 * (test/fixtures/mediamtx-openapi.yaml, a copy of shared/reference/) with ajv before it is sent;
 * one that does not validate throws a `ContractError` (recorded in
 * `contractErrors`, the connection is dropped) so the fake cannot drift from
 * the contract. Only answers a test flags on purpose skip it (`malformed`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv, { type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

const SPEC_FILE = process.env.MEDIAMTX_OPENAPI ?? join(__dirname, '..', 'fixtures', 'mediamtx-openapi.yaml');
const SCHEMA_BASE = 'https://mediamtx.fake/schemas/';

export interface FakePath {
  name: string;
  /** default true */
  online?: boolean;
  source?: { type: string; id: string } | null;
  tracks?: { codec: string; codecProps?: Record<string, unknown> | null }[];
  readers?: { type: string; id: string }[];
  inboundBytes?: number;
  outboundBytes?: number;
  inboundFramesInError?: number;
  /** raw fields laid over the rendered answer, to break the contract on purpose */
  override?: Record<string, unknown>;
}

export class ContractError extends Error {
  override readonly name = 'ContractError';
}

// ---------------------------------------------------------------- the contract

interface Spec {
  components: { schemas: Record<string, unknown> & { PathConf: { properties: Record<string, unknown> } } };
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
}

/**
 * OpenAPI 3.0 schemas are not JSON Schema: `nullable: true` sits beside `type`
 * (and beside `allOf`, which ajv's own `nullable` support cannot see into), so
 * each becomes `anyOf: [null, schema]`. PathTrackCodecProps is a `oneOf` of
 * variants whose properties are all optional with no discriminator: a real H264
 * codecProps matches H264, H265, Opus, … at once, so `oneOf` could never pass; it
 * is read as `anyOf`. Refs point at one ajv schema per component.
 */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') out.$ref = value.replace('#/components/schemas/', SCHEMA_BASE);
    else if (key === 'oneOf') out.anyOf = toJsonSchema(value);
    else if (key !== 'nullable') out[key] = toJsonSchema(value);
  }
  return (node as { nullable?: unknown }).nullable === true ? { anyOf: [{ type: 'null' }, out] } : out;
}

let contract: { spec: Spec; ajv: Ajv; compiled: Map<string, ValidateFunction> } | undefined;

function loadContract(): NonNullable<typeof contract> {
  if (contract) return contract;
  const spec = parse(readFileSync(SPEC_FILE, 'utf8')) as Spec;
  const ajv = new Ajv({ strict: true, allErrors: true });
  // formats the file uses; uint64 counters must not go negative
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('uint64', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  for (const [name, schema] of Object.entries(spec.components.schemas)) {
    ajv.addSchema({ ...(toJsonSchema(schema) as object), $id: SCHEMA_BASE + name });
  }
  contract = { spec, ajv, compiled: new Map() };
  return contract;
}

/** Throws a ContractError unless `body` is a PathConf (known fields only, each of its type). */
export function validatePathConf(body: unknown): void {
  const { spec, ajv } = loadContract();
  const validate = ajv.getSchema(`${SCHEMA_BASE}PathConf`)!;
  if (!validate(body)) throw new ContractError(`a path configuration breaks the MediaMTX contract: ${ajv.errorsText(validate.errors)}`);
  const unknown = Object.keys(body as object).filter((k) => !(k in spec.components.schemas.PathConf.properties));
  if (unknown.length) throw new ContractError(`a path configuration has fields MediaMTX does not know: ${unknown.join(', ')}`);
}

/** Throws a ContractError unless `body` is what the spec allows for `method` `route` answering `status`. */
export function validateAnswer(route: string, status: number, body: unknown, method = 'get'): void {
  const { spec, ajv, compiled } = loadContract();
  const key = `${method} ${route} ${status}`;
  let validate = compiled.get(key);
  if (!validate) {
    // the spec lists no 401: MediaMTX checks auth before any route, answering its Error schema
    const schema =
      spec.paths[route]?.[method]?.responses[String(status)]?.content?.['application/json']?.schema ??
      (status === 401 ? { $ref: '#/components/schemas/Error' } : undefined);
    if (!schema) throw new ContractError(`the spec has no JSON answer ${status} for ${method.toUpperCase()} ${route}`);
    validate = ajv.compile(toJsonSchema(schema) as object);
    compiled.set(key, validate);
  }
  if (!validate(body)) {
    throw new ContractError(`${method.toUpperCase()} ${route} ${status} breaks the MediaMTX contract: ${ajv.errorsText(validate.errors)}`);
  }
}

// ---------------------------------------------------------------- the fake

export interface FakeMediamtxOptions {
  username?: string;
  password?: string;
}

export class FakeMediamtx {
  readonly paths = new Map<string, FakePath>();
  /** path configurations added through the API, by name */
  readonly configs = new Map<string, Record<string, unknown>>();
  /** answer as a server older than v1.17: only the deprecated names (ready, tracks, bytesReceived, bytesSent) */
  legacyFields = false;
  /** wait this long before each answer */
  delayMs = 0;
  /** deliberately broken: sent as it is, unvalidated, with HTTP 200 */
  malformed: string | undefined;
  readonly requests: string[] = [];
  readonly contractErrors: ContractError[] = [];
  version = 'v1.20.0';
  started = new Date().toISOString();
  private readonly server: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(private readonly options: FakeMediamtxOptions) {
    this.server = http.createServer((req, res) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.answer(req, res);
      }, this.delayMs);
      this.timers.add(timer);
    });
  }

  static async start(options: FakeMediamtxOptions = {}): Promise<FakeMediamtx> {
    const fake = new FakeMediamtx(options);
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds or replaces a path (fields not given keep their earlier value). */
  setPath(path: FakePath): void {
    this.paths.set(path.name, { ...this.paths.get(path.name), ...path });
  }

  removePath(name: string): void {
    this.paths.delete(name);
  }

  /** Traffic: adds to a path's byte counters. */
  addBytes(name: string, inbound: number, outbound = 0): void {
    const p = this.paths.get(name);
    if (!p) throw new Error(`no path ${name}`);
    p.inboundBytes = (p.inboundBytes ?? 0) + inbound;
    p.outboundBytes = (p.outboundBytes ?? 0) + outbound;
  }

  /** MediaMTX restarted: counters back to 0, readers gone, a new start time. */
  restart(): void {
    for (const p of this.paths.values()) Object.assign(p, { inboundBytes: 0, outboundBytes: 0, inboundFramesInError: 0, readers: [] });
    this.started = new Date().toISOString();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push(url.pathname + url.search);
    try {
      if (!this.authorised(req.headers.authorization)) {
        res.setHeader('www-authenticate', 'Basic realm="mediamtx"');
        return this.send(res, url.pathname, 401, { status: 'error', error: 'authentication error' });
      }
      if (this.malformed !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(this.malformed);
      }
      if (url.pathname.startsWith('/v3/config/paths/')) return this.config(req, res, url);
      if (url.pathname === '/v3/info') return this.send(res, '/v3/info', 200, { version: this.version, started: this.started });
      if (url.pathname === '/v3/paths/list') return this.list(res, url.searchParams);
      const got = /^\/v3\/paths\/get\/(.+)$/.exec(url.pathname);
      if (got?.[1] !== undefined) {
        const path = this.paths.get(decodeURIComponent(got[1]));
        if (!path) return this.send(res, '/v3/paths/get/{name}', 404, { status: 'error', error: 'path not found' });
        return this.send(res, '/v3/paths/get/{name}', 200, this.render(path));
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found');
    } catch (err) {
      if (!(err instanceof ContractError)) throw err;
      this.contractErrors.push(err);
      res.destroy();
    }
  }

  private config(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (url.pathname === '/v3/config/paths/list' && req.method === 'GET') {
      const items = [...this.configs].map(([name, conf]) => ({ ...conf, name }));
      return this.send(res, '/v3/config/paths/list', 200, { itemCount: items.length, pageCount: items.length ? 1 : 0, items });
    }
    const m = /^\/v3\/config\/paths\/(add|replace|delete)\/(.+)$/.exec(url.pathname);
    const [action, name] = [m?.[1], decodeURIComponent(m?.[2] ?? '')];
    const route = `/v3/config/paths/${action}/{name}`;
    const method = action === 'delete' ? 'delete' : 'post';
    if (!m || req.method !== method.toUpperCase()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('404 page not found');
    }
    const fail = (status: number, error: string) => this.send(res, route, status, { status: 'error', error }, method);
    if (action === 'delete') {
      if (!this.configs.delete(name)) return fail(404, 'path not found');
      return this.send(res, route, 200, { status: 'ok' }, method);
    }
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      try {
        const conf = JSON.parse(text) as Record<string, unknown>;
        validatePathConf(conf);
        if (action === 'add' && this.configs.has(name)) return fail(400, 'path already exists');
        if (action === 'replace' && !this.configs.has(name)) return fail(404, 'path not found');
        this.configs.set(name, conf);
        this.send(res, route, 200, { status: 'ok' }, method);
      } catch (err) {
        if (err instanceof ContractError) {
          this.contractErrors.push(err);
          return void res.destroy();
        }
        fail(400, 'invalid JSON');
      }
    });
  }

  private list(res: http.ServerResponse, query: URLSearchParams): void {
    const page = Number(query.get('page') ?? 0);
    const perPage = Number(query.get('itemsPerPage') ?? 100);
    if (!Number.isInteger(page) || page < 0 || !Number.isInteger(perPage) || perPage < 1) {
      return this.send(res, '/v3/paths/list', 400, { status: 'error', error: 'invalid pagination' });
    }
    const all = [...this.paths.values()].sort((a, b) => a.name.localeCompare(b.name));
    const items = all.slice(page * perPage, (page + 1) * perPage).map((p) => this.render(p));
    this.send(res, '/v3/paths/list', 200, { itemCount: all.length, pageCount: Math.ceil(all.length / perPage), items });
  }

  private render(p: FakePath): Record<string, unknown> {
    const online = p.online ?? true;
    const since = online ? this.started : null;
    const tracks = online ? (p.tracks ?? [{ codec: 'H264', codecProps: { width: 1280, height: 720, profile: 'High', level: '4.1' } }]) : [];
    const source = online ? (p.source ?? { type: 'rtspSession', id: '7f3c1b62-5a0e-4b7a-9d11-0e2f8c4a6b21' }) : null;
    const common = { name: p.name, confName: p.name, source, readers: p.readers ?? [] };
    const inbound = p.inboundBytes ?? 0;
    const outbound = p.outboundBytes ?? 0;
    const body = this.legacyFields
      ? { ...common, ready: online, readyTime: since, tracks: tracks.map((t) => t.codec), bytesReceived: inbound, bytesSent: outbound }
      : {
          ...common,
          available: online,
          availableTime: since,
          online,
          onlineTime: since,
          tracks2: tracks.map((t) => ({ codec: t.codec, codecProps: t.codecProps ?? null })),
          inboundBytes: inbound,
          outboundBytes: outbound,
          inboundFramesInError: p.inboundFramesInError ?? 0,
          // v1.20 still sends the deprecated names beside the new ones
          ready: online,
          readyTime: since,
          tracks: tracks.map((t) => t.codec),
          bytesReceived: inbound,
          bytesSent: outbound,
        };
    return { ...body, ...p.override };
  }

  private authorised(header: string | undefined): boolean {
    if (this.options.username === undefined) return true;
    const expected = `Basic ${Buffer.from(`${this.options.username}:${this.options.password ?? ''}`).toString('base64')}`;
    return header === expected;
  }

  private send(res: http.ServerResponse, route: string, status: number, body: unknown, method = 'get'): void {
    validateAnswer(route, status, body, method);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
