/**
 * ntfy's two ways to publish (https://docs.ntfy.sh/publish/), one per case: an alert without a
 * picture is a JSON publish to the server root ({topic, title, message, tags, priority, click});
 * one with a picture is a PUT of the JPEG to the topic with the fields as headers, the only
 * form that uploads the picture as an attachment and still carries the click URL. Header values
 * that are not ASCII (the alerts' emoji) are RFC 2047 encoded, which ntfy decodes.
 */
import type { HttpRequest } from '../lib/alerts/http-channel';
import type { Notification } from '../lib/alerts/notification';
import type { OutboxRow } from '../lib/store/outbox';
import type { AlertSeverity } from '../lib/types';

/** ntfy's topic names */
export { NTFY_TOPIC } from '../lib/contract/alert-connection';

export interface NtfyOptions {
  server: string;
  topic: string;
  /** an access token (tk_…), sent as Bearer */
  token?: string;
}

/** ntfy priorities: 5 max, 4 high, 3 default, 2 low (no sound) */
const PRIORITY: Record<AlertSeverity, number> = { critical: 5, warning: 4, info: 3 };

export function ntfyRequest(row: OutboxRow, n: Notification, opts: NtfyOptions): HttpRequest {
  const priority = n.silent ? 2 : PRIORITY[n.severity];
  const tags = ['picam', (row.payload as { kind?: string }).kind ?? row.item];
  const auth: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  if (!n.image) {
    const body = { topic: opts.topic, title: n.title, message: n.message, tags, priority, ...(n.click ? { click: n.click } : {}) };
    return { method: 'POST', url: `${opts.server}/`, headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) };
  }
  const headers: Record<string, string> = {
    ...auth,
    'content-type': 'image/jpeg',
    filename: `${row.eventId ?? row.deviceId}.jpg`.replace(/[^\w.-]/g, '_'),
    title: rfc2047(n.title),
    message: rfc2047(n.message.replace(/\n/g, '\\n')),
    tags: tags.join(','),
    priority: String(priority),
    ...(n.click ? { click: n.click } : {}),
  };
  return { method: 'PUT', url: `${opts.server}/${opts.topic}`, headers, body: n.image, hasPhoto: true };
}

/** A header value as it is, or as an RFC 2047 encoded word when it is not printable ASCII. */
function rfc2047(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
