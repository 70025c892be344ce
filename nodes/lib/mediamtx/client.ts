/**
 * A small typed client for the MediaMTX control API (v3, MediaMTX v1.20; see
 * shared/reference/mediamtx-openapi.yaml). It knows only what health
 * polling needs: `/v3/info` and every page of `/v3/paths/list`, normalised so
 * callers never see the deprecated field names older servers still send.
 */

export interface MediamtxClientOptions {
  /** e.g. `http://127.0.0.1:9997` (the `/v3/...` paths are appended) */
  apiUrl: string;
  username?: string;
  password?: string;
  /** per request, body included. Keep above 4 s: MediaMTX delays answers to wrong credentials by up to 4 s. */
  timeoutMs: number;
}

export interface Info {
  version: string;
  started: string;
}

/** One MediaMTX path, the same shape whatever version answered. */
export interface PathInfo {
  name: string;
  /** a source is ready to be read (`available`, formerly `ready`) */
  available: boolean;
  /** a publisher or source is online (`online`, formerly `ready`) */
  online: boolean;
  /** `rpiCameraSource`, `rtspSession`, …; undefined when nothing publishes */
  sourceType?: string;
  /** codec names: `H264`, `Opus`, … */
  tracks: string[];
  /** readers per reader type (`webRTCSession`, `rtspSession`, …) */
  readers: Record<string, number>;
  inboundBytes: number;
  outboundBytes: number;
  framesInError: number;
  /** from the first video track whose codecProps give it */
  size?: { width: number; height: number };
}

export type MediamtxErrorKind = 'unauthorized' | 'not-found' | 'timeout' | 'unreachable' | 'bad-response';

export class MediamtxError extends Error {
  override readonly name = 'MediamtxError';
  constructor(
    readonly kind: MediamtxErrorKind,
    message: string,
    /** HTTP status, when there was an answer */
    readonly status?: number,
  ) {
    super(message);
  }
}

const ITEMS_PER_PAGE = 100;
/** A guard against a server whose pageCount never ends (2,000 pages = 200,000 paths). */
const MAX_PAGES = 2000;

type Json = Record<string, unknown>;

export class MediamtxClient {
  private readonly base: string;
  private readonly auth?: string;

  constructor(private readonly options: MediamtxClientOptions) {
    this.base = options.apiUrl.replace(/\/+$/, '');
    if (options.username !== undefined && options.username !== '') {
      const pair = `${options.username}:${options.password ?? ''}`;
      this.auth = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
    }
  }

  async info(): Promise<Info> {
    const body = await this.get('/v3/info');
    return { version: str(body.version) ?? 'unknown', started: str(body.started) ?? '' };
  }

  /**
   * The names of the configured paths whose source starts on demand (sourceOnDemand):
   * idle while nobody reads them, which is not an outage.
   */
  async onDemandPaths(): Promise<Set<string>> {
    const names = new Set<string>();
    let pageCount = 1;
    for (let page = 0; page < pageCount && page < MAX_PAGES; page++) {
      const body = await this.get(`/v3/config/paths/list?page=${page}&itemsPerPage=${ITEMS_PER_PAGE}`);
      if (!Array.isArray(body.items) || typeof body.pageCount !== 'number') {
        throw new MediamtxError('bad-response', 'MediaMTX answered /v3/config/paths/list without items or pageCount');
      }
      for (const item of body.items)
        if (isObject(item) && item.sourceOnDemand === true && typeof item.name === 'string') names.add(item.name);
      pageCount = body.pageCount;
    }
    return names;
  }

  /**
   * Adds the path configuration, or replaces it when the path exists. The API
   * does not persist: callers apply their paths again whenever they start.
   */
  async putPath(name: string, conf: Record<string, unknown>): Promise<void> {
    const route = encodeURIComponent(name);
    try {
      await this.request('POST', `/v3/config/paths/add/${route}`, conf);
    } catch (err) {
      // MediaMTX answers 400 "path already exists" to an add of a configured path.
      if (!(err instanceof MediamtxError && err.status === 400)) throw err;
      await this.request('POST', `/v3/config/paths/replace/${route}`, conf);
    }
  }

  /** Removes a path configuration; one that is not there is fine. */
  async deletePath(name: string): Promise<void> {
    try {
      await this.request('DELETE', `/v3/config/paths/delete/${encodeURIComponent(name)}`);
    } catch (err) {
      if (!(err instanceof MediamtxError && err.kind === 'not-found')) throw err;
    }
  }

  /** Every path, all pages fetched. A path listed twice (the list moved while paging) counts once. */
  async paths(): Promise<PathInfo[]> {
    const byName = new Map<string, PathInfo>();
    let pageCount = 1;
    for (let page = 0; page < pageCount && page < MAX_PAGES; page++) {
      const body = await this.get(`/v3/paths/list?page=${page}&itemsPerPage=${ITEMS_PER_PAGE}`);
      if (!Array.isArray(body.items) || typeof body.pageCount !== 'number') {
        throw new MediamtxError('bad-response', 'MediaMTX answered /v3/paths/list without items or pageCount');
      }
      for (const item of body.items) {
        const path = normalisePath(item);
        byName.set(path.name, path);
      }
      pageCount = body.pageCount;
    }
    return [...byName.values()];
  }

  private get(route: string): Promise<Json> {
    return this.request('GET', route);
  }

  private async request(method: 'GET' | 'POST' | 'DELETE', route: string, json?: unknown): Promise<Json> {
    const url = this.base + route;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.auth) headers.authorization = this.auth;
    if (json !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    try {
      const body = json === undefined ? undefined : JSON.stringify(json);
      const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.options.timeoutMs) });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw fetchError(err, url, this.options.timeoutMs);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined; // judged below: fine for an error status, bad-response for a 2xx
    }
    const detail = isObject(body) ? str(body.error) : undefined;
    if (status === 401) {
      throw new MediamtxError('unauthorized', `MediaMTX refused the credentials (${detail ?? 'HTTP 401'})`, status);
    }
    if (status === 404) throw new MediamtxError('not-found', `MediaMTX: ${detail ?? 'not found'} (${route})`, status);
    if (status < 200 || status > 299) {
      throw new MediamtxError('bad-response', `MediaMTX answered HTTP ${status} to ${route}: ${detail ?? text.slice(0, 80)}`, status);
    }
    if (body === undefined) {
      throw new MediamtxError(
        'bad-response',
        `MediaMTX answered ${route} with something that is not JSON: ${JSON.stringify(text.slice(0, 80))}`,
        status,
      );
    }
    if (!isObject(body)) throw new MediamtxError('bad-response', `MediaMTX answered ${route} with JSON that is not an object`, status);
    return body;
  }
}

function fetchError(err: unknown, url: string, timeoutMs: number): MediamtxError {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new MediamtxError('timeout', `MediaMTX did not answer ${url} within ${timeoutMs} ms`);
  }
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  const code = cause && 'code' in cause ? String(cause.code) : undefined;
  const why = code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new MediamtxError('unreachable', `MediaMTX is unreachable at ${url} (${why})`);
}

/** Maps a v1.20 path, or an older one (`ready`, `tracks`, `bytesReceived`, `bytesSent`), to one shape. */
export function normalisePath(raw: unknown): PathInfo {
  if (!isObject(raw) || typeof raw.name !== 'string') {
    throw new MediamtxError('bad-response', 'MediaMTX listed a path without a name');
  }
  const ready = bool(raw.ready);
  const source = isObject(raw.source) ? raw.source : undefined;
  const tracks2 = Array.isArray(raw.tracks2) ? raw.tracks2.filter(isObject) : undefined;
  const tracks = tracks2
    ? tracks2.map((t) => str(t.codec) ?? 'unknown')
    : Array.isArray(raw.tracks)
      ? raw.tracks.filter((t): t is string => typeof t === 'string')
      : [];
  const readers: Record<string, number> = {};
  for (const r of Array.isArray(raw.readers) ? raw.readers : []) {
    const type = (isObject(r) && str(r.type)) || 'unknown';
    readers[type] = (readers[type] ?? 0) + 1;
  }
  const path: PathInfo = {
    name: raw.name,
    available: bool(raw.available) ?? ready ?? false,
    online: bool(raw.online) ?? ready ?? false,
    tracks,
    readers,
    inboundBytes: num(raw.inboundBytes) ?? num(raw.bytesReceived) ?? 0,
    outboundBytes: num(raw.outboundBytes) ?? num(raw.bytesSent) ?? 0,
    framesInError: num(raw.inboundFramesInError) ?? 0,
  };
  const sourceType = source && str(source.type);
  if (sourceType) path.sourceType = sourceType;
  for (const t of tracks2 ?? []) {
    const props = isObject(t.codecProps) ? t.codecProps : undefined;
    const width = props && num(props.width);
    const height = props && num(props.height);
    if (width !== undefined && height !== undefined) {
      path.size = { width, height };
      break;
    }
  }
  return path;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
