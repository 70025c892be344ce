/**
 * The channel every HTTP alert service shares (webhook, ntfy, Pushover, Web Push): one request
 * per outbox row, built by the service's own `request`; this class sends it and says what a
 * failure means. 2xx is delivered; 408, 429 (with Retry-After) and 5xx and network errors are
 * retried from the outbox; any other status is a refusal no retry will change.
 */
import type { OutboxRow } from '../store/outbox';
import type { Channel, DeliveryResult, Failure } from './dispatcher';

export interface HttpRequest {
  method: 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body: string | Buffer | FormData;
  /** whether this request carries the row's picture (the delivery report says so) */
  hasPhoto?: boolean;
}

/** No requests: nobody to send to (the row fails with this reason). */
export type HttpRequests = HttpRequest | HttpRequest[];

export interface HttpChannelOptions {
  name: string;
  /** the receiver as failure reasons name it (its host) */
  host: string;
  timeoutMs: number;
  /** the request for one outbox row; `alert` is the sent alert a snapshot or clip adds to */
  request(row: OutboxRow, alert?: OutboxRow): HttpRequests | Promise<HttpRequests>;
  /**
   * A refusal that means more (Web Push: 404/410, the browser unsubscribed): true when it is
   * handled and that request counts as done.
   */
  onRefused?(status: number, row: OutboxRow, req: HttpRequest): boolean | Promise<boolean>;
}

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
    /** what the receiver said, shortened, for the report */
    readonly detail = '',
  ) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ''}`);
  }
}

/** A row nobody can receive (Web Push with no browser subscribed): failed at once, not retried. */
export class NobodyToSendTo extends Error {}

export class HttpChannel implements Channel {
  readonly name: string;
  // These services publish no limits we must keep; one request at a time per target keeps the order.
  readonly limits = { perTargetMs: 0, groupPerMinute: 0, globalPerSecond: 0 };
  readonly maxDigest = 1;

  constructor(private readonly opts: HttpChannelOptions) {
    this.name = opts.name;
  }

  canDigest(): boolean {
    return false;
  }

  /**
   * One request, or several (Web Push: one per browser). With several, every one is tried; a
   * transient failure of any retries the row (the others then get it again: the push services'
   * notifications replace an earlier one with the same tag), else the first refusal fails it.
   */
  async deliver(rows: OutboxRow[], alert?: OutboxRow): Promise<DeliveryResult> {
    const row = rows[0]!;
    const built = await this.opts.request(row, alert);
    const requests = Array.isArray(built) ? built : [built];
    const results = await Promise.allSettled(requests.map((req) => this.send(req, row)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    const transient = failures.find((f) => this.classify(f).retry);
    if (transient !== undefined || failures.length > 0) throw transient ?? failures[0];
    return { delivered: 1, hasPhoto: requests.some((r) => r.hasPhoto) };
  }

  private async send(req: HttpRequest, row: OutboxRow): Promise<void> {
    const res = await fetch(req.url, {
      method: req.method,
      headers: { 'user-agent': 'picam-guardian', ...req.headers },
      body: Buffer.isBuffer(req.body) ? new Uint8Array(req.body) : req.body,
      // A redirect would be followed as a GET without the body: the alert would be lost yet look delivered.
      redirect: 'manual',
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    const answer = await res.text(); // read in full, so the connection can be reused
    if (res.ok) return;
    if (res.status < 500 && res.status !== 408 && res.status !== 429) {
      if (await this.opts.onRefused?.(res.status, row, req)) return;
    }
    throw new HttpStatusError(res.status, retryAfterMs(res.headers.get('retry-after')), answer.replace(/\s+/g, ' ').slice(0, 120));
  }

  classify(err: unknown): Failure {
    if (err instanceof NobodyToSendTo) return { retry: false, reason: err.message };
    if (err instanceof HttpStatusError) {
      const reason = `${this.opts.host} answered ${err.message}`;
      if (err.status === 429 || err.status === 408 || err.status >= 500) return { retry: true, retryAfterMs: err.retryAfterMs, reason };
      return { retry: false, reason };
    }
    const e = err as Error & { cause?: { code?: string } };
    const detail =
      e?.name === 'TimeoutError' ? `no answer within ${this.opts.timeoutMs} ms` : (e?.cause?.code ?? e?.message ?? String(err));
    return { retry: true, reason: `${this.opts.host}: ${detail}` };
  }
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The API path under the public address (kept as a prefix: the runtime may sit under a path behind a proxy). */
export function absoluteUrl(path: string, publicUrl: string | undefined): string {
  if (!publicUrl || /^https?:\/\//.test(path)) return path;
  return `${publicUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** The host of an http(s) URL, or why it is not one (for the node's status at deploy). */
export function httpHost(url: string, what: string): string {
  if (!url) throw new Error(`no ${what}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not an http(s) ${what}: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`not an http(s) ${what}: ${url}`);
  return parsed.host;
}
