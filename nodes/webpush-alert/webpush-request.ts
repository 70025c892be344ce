/**
 * One push message per subscribed browser (RFC 8030): the notification as JSON, encrypted for
 * that browser (RFC 8291), with the VAPID authorization (RFC 8292). The payload carries links,
 * never picture bytes: push services take about 4 KB.
 */
import { NobodyToSendTo, type HttpRequest } from '../lib/alerts/http-channel';
import type { Notification } from '../lib/alerts/notification';
import { webPushRequest } from '../lib/alerts/web-push';
import type { PushSubscriptionStore } from '../lib/store/push-subscriptions';
import type { OutboxRow } from '../lib/store/outbox';

/** What the dashboard's service worker receives and shows. */
export interface WebPushPayload {
  title: string;
  body: string;
  /** where a tap leads */
  url?: string;
  /**
   * the event's picture: a signed link that expires with the event link (PICAM_PUBLIC_URL and a
   * credential secret set), which the phone loads without the dashboard's login
   */
  image?: string;
  /** one notification per event: a later picture or clip replaces it */
  tag: string;
  timeMs: number;
  silent: boolean;
}

export async function webPushRequests(
  row: OutboxRow,
  n: Notification,
  store: PushSubscriptionStore,
  subject: string,
): Promise<HttpRequest[]> {
  const [keys, subs] = await Promise.all([store.vapidKeys(), store.list()]);
  if (subs.length === 0) throw new NobodyToSendTo('no browser has subscribed (the bell on the dashboard)');
  const payload: WebPushPayload = {
    title: n.title,
    body: n.message,
    url: n.click,
    image: n.pictureUrl,
    tag: row.eventId ?? `alert-${row.id}`,
    timeMs: (row.payload as { timeMs?: number }).timeMs ?? row.createdMs,
    silent: n.silent,
  };
  const plain = Buffer.from(JSON.stringify(payload));
  const urgency = n.severity === 'critical' ? 'high' : n.silent ? 'low' : 'normal';
  return subs.map((sub) => webPushRequest(sub, plain, keys, subject, urgency));
}
