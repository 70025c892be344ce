/**
 * The second alert channel, and the proof that the alert contract is enough
 * for one: each outbox row is POSTed as JSON to a URL. 2xx is delivered; 429
 * (with Retry-After) and 5xx and network errors are retried from the outbox;
 * any other status is a refusal no retry will change.
 */
import type { Channel, DeliveryResult, Failure } from '../lib/alerts/dispatcher';
import { formatAlert, type FormatOptions } from '../lib/alerts/format';
import type { Alert } from '../lib/types';
import type { OutboxRow } from '../lib/store/outbox';

export interface WebhookOptions {
  url: string;
  /** sent as the Authorization header (e.g. "Bearer …") */
  authorization?: string;
  timeoutMs: number;
  /** include JPEGs as base64 in the body */
  includeImages: boolean;
  format: FormatOptions;
}

/** The JSON body a webhook receives: the alert or snapshot as it arrived, plus a readable line. */
export interface WebhookBody {
  /** the outbox row: a receiver can use it to spot a retry of something it already has */
  id: number;
  item: 'alert' | 'snapshot';
  /** the alert (or snapshot) on the contract, without image bytes */
  alert: OutboxRow['payload'];
  /** the alert as plain text (a headline line, and a details line when there are details) */
  summary: string;
  image?: { contentType: 'image/jpeg'; base64: string };
}

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(`HTTP ${status}`);
  }
}

export class WebhookChannel implements Channel {
  readonly name = 'webhook';
  // A webhook has no published limits; one request at a time per URL keeps the receiver's order.
  readonly limits = { perTargetMs: 0, groupPerMinute: 0, globalPerSecond: 0 };
  readonly maxDigest = 1;

  constructor(private readonly opts: WebhookOptions) {}

  canDigest(): boolean {
    return false;
  }

  async deliver(rows: OutboxRow[]): Promise<DeliveryResult> {
    const row = rows[0]!;
    const body: WebhookBody = {
      id: row.id,
      item: row.item,
      alert: row.payload,
      summary: row.item === 'alert' ? formatAlert(row.payload as Alert, this.opts.format).plain : `snapshot from ${row.deviceId}`,
    };
    if (row.image && this.opts.includeImages) body.image = { contentType: 'image/jpeg', base64: row.image.toString('base64') };
    const res = await fetch(this.opts.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'picam-guardian-webhook',
        ...(this.opts.authorization ? { authorization: this.opts.authorization } : {}),
      },
      body: JSON.stringify(body),
      // A redirect would be followed as a GET without the body: the alert would be lost yet look delivered.
      redirect: 'manual',
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    await res.arrayBuffer(); // drain, so the connection can be reused
    if (!res.ok) throw new HttpStatusError(res.status, retryAfterMs(res.headers.get('retry-after')));
    return { delivered: 1, hasPhoto: !!body.image };
  }

  classify(err: unknown): Failure {
    if (err instanceof HttpStatusError) {
      const reason = `${new URL(this.opts.url).host} answered ${err.message}`;
      if (err.status === 429 || err.status === 408 || err.status >= 500) return { retry: true, retryAfterMs: err.retryAfterMs, reason };
      return { retry: false, reason };
    }
    const e = err as Error & { cause?: { code?: string } };
    const detail =
      e?.name === 'TimeoutError' ? `no answer within ${this.opts.timeoutMs} ms` : (e?.cause?.code ?? e?.message ?? String(err));
    return { retry: true, reason: `${new URL(this.opts.url).host}: ${detail}` };
  }
}

/** Retry-After is seconds or an HTTP date. */
function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
