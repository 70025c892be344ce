/**
 * One outbox row as a phone notification: a title, a message, where a tap leads and the
 * picture. The push services (ntfy, Pushover, Web Push) and the webhook's body template all
 * read an alert through this, so a motion alert reads the same on every channel.
 */
import { API_PATHS } from '../contract/api-routes';
import type { EventClip } from '../contract/recordings';
import type { EventRef } from '../event-links';
import type { OutboxRow } from '../store/outbox';
import type { Alert, AlertSeverity, AlertSnapshot } from '../types';
import { formatAlert, type FormatOptions } from './format';
import { absoluteUrl } from './http-channel';
import type { TemplateValues } from './body-template';

export interface NotificationOptions {
  format: FormatOptions;
  /** the runtime's public address (PICAM_PUBLIC_URL): links are absolute under it */
  publicUrl?: string;
  /** a signed dashboard link to an event, when the node can make one */
  eventLink?(ref: EventRef): string;
  /** a signed link to an event's picture that opens without a login (Web Push), when the node can make one */
  pictureLink?(ref: EventRef): string;
}

export interface Notification {
  /** the headline, without the time */
  title: string;
  /** the headline with the time, and the details line when there is one */
  message: string;
  severity: AlertSeverity;
  /** where a tap leads: the event in the dashboard, the clip, or the dashboard */
  click?: string;
  /** where the event's picture is: a signed link with `pictureLink`, else behind the API login */
  pictureUrl?: string;
  image?: Buffer;
  /** quiet hours said "silent" */
  silent: boolean;
}

export function notificationOf(row: OutboxRow, opts: NotificationOptions): Notification {
  const base = { image: row.image, silent: row.silent, pictureUrl: pictureUrl(row, opts) };
  if (row.item === 'clip') {
    const clip = row.payload as EventClip;
    const ready = clip.state === 'ready';
    const title = ready ? `🎬 Clip of ${clip.cameraId}` : `Clip of ${clip.cameraId} failed`;
    const message = ready
      ? `The clip of event ${clip.eventId} is ready`
      : `No clip of event ${clip.eventId}: ${clip.reason ?? 'no reason given'}`;
    return { ...base, title, message, severity: 'info', click: ready ? absoluteUrl(clip.url, opts.publicUrl) : undefined };
  }
  if (row.item === 'snapshot') {
    const s = row.payload as AlertSnapshot;
    return {
      ...base,
      title: `📷 Picture from ${row.deviceId}`,
      message: `📷 Picture from ${row.deviceId}`,
      severity: 'info',
      click: clickOf(s, opts),
    };
  }
  const alert = row.payload as Alert;
  const plain = formatAlert(alert, opts.format).plain;
  const title = plain.split('\n')[0]!.replace(/ · [^·]*$/, '');
  return { ...base, title, message: plain, severity: alert.severity, click: clickOf(alert, opts) };
}

/** The fields a body template may name, for one row. */
export function templateValues(row: OutboxRow, n: Notification, includeImage: boolean): TemplateValues {
  const p = row.payload as Partial<Alert> & { url?: string };
  const timeMs = typeof p.timeMs === 'number' ? p.timeMs : row.createdMs;
  return {
    id: row.id,
    item: row.item,
    kind: p.kind,
    deviceId: row.deviceId,
    deviceName: p.deviceName ?? row.deviceId,
    eventId: row.eventId,
    severity: n.severity,
    mode: p.mode,
    text: p.text ?? n.message,
    timeMs,
    time: new Date(timeMs).toISOString(),
    summary: n.message,
    headline: n.title,
    link: n.click,
    pictureUrl: n.pictureUrl,
    clipUrl: row.item === 'clip' ? n.click : undefined,
    imageBase64: includeImage ? row.image?.toString('base64') : undefined,
  };
}

function clickOf(a: { deviceId?: string; eventId?: string; timeMs?: number }, opts: NotificationOptions): string | undefined {
  if (a.eventId && a.deviceId && typeof a.timeMs === 'number' && opts.eventLink) {
    return opts.eventLink({ cameraId: a.deviceId, eventId: a.eventId, timeMs: a.timeMs });
  }
  return opts.publicUrl ? absoluteUrl('/dashboard/', opts.publicUrl) : undefined;
}

function pictureUrl(row: OutboxRow, opts: NotificationOptions): string | undefined {
  const { eventId, deviceId } = row;
  if (!eventId || !opts.publicUrl) return undefined;
  if (opts.pictureLink && deviceId) {
    const timeMs = (row.payload as { timeMs?: unknown }).timeMs;
    return opts.pictureLink({ cameraId: deviceId, eventId, timeMs: typeof timeMs === 'number' ? timeMs : row.createdMs });
  }
  return absoluteUrl(API_PATHS.mediaThumbnail.replace(':eventId', encodeURIComponent(eventId)), opts.publicUrl);
}
