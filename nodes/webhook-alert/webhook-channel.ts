/**
 * The second alert channel, and the proof that the alert contract is enough
 * for one: each outbox row is POSTed as JSON to a URL. 2xx is delivered; 429
 * (with Retry-After) and 5xx and network errors are retried from the outbox;
 * any other status is a refusal no retry will change.
 *
 * An event's clip (issue 19) is a second call of item `clip` once the recorder made it, after
 * the alert's call: `clip` holds the clip as the API describes it (EventClip) and `clipUrl`
 * where to fetch the MP4 (an absolute URL under the node's public address, or the API path).
 */
import type { EventClip } from '../lib/contract/recordings';
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
  /** the runtime's public address (https://cams.example.org): clip URLs are absolute under it; none: the API path alone */
  publicUrl?: string;
}

/** The JSON body a webhook receives: the alert or snapshot as it arrived, plus a readable line. */
export interface WebhookBody {
  /** the outbox row: a receiver can use it to spot a retry of something it already has */
  id: number;
  item: 'alert' | 'snapshot' | 'clip';
  /** the alert (or snapshot) on the contract, without image bytes; for a clip, the clip (EventClip, no file path) */
  alert: OutboxRow['payload'] | EventClip;
  /** item `clip`: where the MP4 is (behind the API login, range requests answered) */
  clipUrl?: string;
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
    const body: WebhookBody =
      row.item === 'clip'
        ? this.clipBody(row)
        : {
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

  private clipBody(row: OutboxRow): WebhookBody {
    // The file path is this runtime's business, not the receiver's.
    const { file: _file, ...clip } = row.payload as EventClip & { file?: string | null };
    const seconds = clip.durationMs !== null ? ` (${Math.round(clip.durationMs / 1000)} s)` : '';
    return {
      id: row.id,
      item: 'clip',
      alert: clip,
      clipUrl: absoluteUrl(clip.url, this.opts.publicUrl),
      summary:
        clip.state === 'ready'
          ? `clip of event ${clip.eventId} from ${clip.cameraId} ready${seconds}`
          : `clip of event ${clip.eventId} from ${clip.cameraId} failed: ${clip.reason ?? 'no reason given'}`,
    };
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

/** The API path under the public address (kept as a prefix: the runtime may sit under a path behind a proxy). */
export function absoluteUrl(path: string, publicUrl: string | undefined): string {
  if (!publicUrl || /^https?:\/\//.test(path)) return path;
  return `${publicUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
