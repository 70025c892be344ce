/**
 * One Pushover message (https://pushover.net/api): a multipart POST of token, user, title,
 * message, url and priority, with the picture as `attachment` (Pushover takes images up to
 * 5 MB; ours are at most a camera's snapshot).
 */
import type { HttpRequest } from '../lib/alerts/http-channel';
import type { Notification } from '../lib/alerts/notification';
import type { OutboxRow } from '../lib/store/outbox';
import type { AlertSeverity } from '../lib/types';

/** Pushover's application tokens and user/group keys */
export { PUSHOVER_KEY } from '../lib/contract/alert-connection';

export interface PushoverOptions {
  url: string;
  token: string;
  user: string;
  devices?: string;
}

/** Pushover priorities: 1 high (bypasses the user's quiet hours), 0 normal, -1 quiet */
const PRIORITY: Record<AlertSeverity, number> = { critical: 1, warning: 0, info: 0 };

export function pushoverRequest(row: OutboxRow, n: Notification, opts: PushoverOptions): HttpRequest {
  const form = new FormData();
  form.set('token', opts.token);
  form.set('user', opts.user);
  if (opts.devices) form.set('device', opts.devices);
  form.set('title', n.title.slice(0, 250));
  form.set('message', n.message.slice(0, 1024));
  form.set('priority', String(n.silent ? -1 : PRIORITY[n.severity]));
  form.set('timestamp', String(Math.round(((row.payload as { timeMs?: number }).timeMs ?? row.createdMs) / 1000)));
  if (n.click) {
    form.set('url', n.click);
    form.set('url_title', row.item === 'clip' ? 'Play the clip' : 'Open in dashboard');
  }
  if (n.image) form.set('attachment', new Blob([new Uint8Array(n.image)], { type: 'image/jpeg' }), `${row.eventId ?? row.deviceId}.jpg`);
  return { method: 'POST', url: opts.url, body: form, hasPhoto: !!n.image };
}
