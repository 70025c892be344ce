/**
 * The webhook's request for one outbox row: POSTed as JSON to a URL, either the fixed body
 * below or the node's body template filled in with the row's fields.
 *
 * An event's clip (issue 19) is a second call of item `clip` once the recorder made it, after
 * the alert's call: `clip` holds the clip as the API describes it (EventClip) and `clipUrl`
 * where to fetch the MP4 (an absolute URL under the node's public address, or the API path).
 */
import type { BodyTemplate } from '../lib/alerts/body-template';
import { absoluteUrl, type HttpRequest } from '../lib/alerts/http-channel';
import { templateValues, type Notification } from '../lib/alerts/notification';
import type { EventClip } from '../lib/contract/recordings';
import type { OutboxRow } from '../lib/store/outbox';

export interface WebhookOptions {
  url: string;
  /** sent as the Authorization header (e.g. "Bearer …") */
  authorization?: string;
  /** include JPEGs as base64 in the body */
  includeImages: boolean;
  /** the body as the receiver wants it; none: WebhookBody */
  template?: BodyTemplate;
  /** the runtime's public address (https://cams.example.org): clip URLs are absolute under it; none: the API path alone */
  publicUrl?: string;
}

/** The JSON body a webhook receives without a template: the alert or snapshot as it arrived, plus a readable line. */
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

export function webhookRequest(row: OutboxRow, n: Notification, opts: WebhookOptions): HttpRequest {
  const image = !!row.image && opts.includeImages;
  const body = opts.template ? opts.template.render(templateValues(row, n, image)) : JSON.stringify(fixedBody(row, n, opts, image));
  return {
    method: 'POST',
    url: opts.url,
    headers: { 'content-type': 'application/json', ...(opts.authorization ? { authorization: opts.authorization } : {}) },
    body,
    hasPhoto: image,
  };
}

function fixedBody(row: OutboxRow, n: Notification, opts: WebhookOptions, image: boolean): WebhookBody {
  const body: WebhookBody =
    row.item === 'clip'
      ? clipBody(row, opts.publicUrl)
      : { id: row.id, item: row.item, alert: row.payload, summary: row.item === 'alert' ? n.message : `snapshot from ${row.deviceId}` };
  if (image) body.image = { contentType: 'image/jpeg', base64: row.image!.toString('base64') };
  return body;
}

function clipBody(row: OutboxRow, publicUrl: string | undefined): WebhookBody {
  // The file path is this runtime's business, not the receiver's.
  const { file: _file, ...clip } = row.payload as EventClip & { file?: string | null };
  const seconds = clip.durationMs !== null ? ` (${Math.round(clip.durationMs / 1000)} s)` : '';
  return {
    id: row.id,
    item: 'clip',
    alert: clip,
    clipUrl: absoluteUrl(clip.url, publicUrl),
    summary:
      clip.state === 'ready'
        ? `clip of event ${clip.eventId} from ${clip.cameraId} ready${seconds}`
        : `clip of event ${clip.eventId} from ${clip.cameraId} failed: ${clip.reason ?? 'no reason given'}`,
  };
}
