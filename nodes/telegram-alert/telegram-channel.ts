/**
 * How outbox rows become Bot API calls: an alert is a text message, or one
 * photo with a caption when its picture is already there; a backlog is one
 * digest message; a snapshot that arrives after its alert replaces the photo
 * of a photo message (editMessageMedia) or, since Telegram cannot turn a text
 * message into a photo, answers the text message with the photo.
 *
 * An event's clip (issue 19) replaces the alert's photo with the video the same way
 * (editMessageMedia, InputMediaVideo, uploaded from the recorder's file), or answers the
 * alert where Telegram refuses the edit (400: a text alert, a message too old or deleted).
 * Activity alerts carry buttons (buttons.ts) and, when the node has the dashboard's public
 * address, a signed link to the event (nodes/lib/event-links.ts) in the caption.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InputFile, TelegramApiError, type Api, type InlineKeyboardMarkup } from 'node-telegram-bot-api';
import type { ClipReadyPayload } from '../lib/contract/recordings';
import type { EventRef } from '../lib/event-links';
import type { Channel, DeliveryResult, Failure } from '../lib/alerts/dispatcher';
import { escapeHtml, formatAlert, formatDigest, htmlToPlain, localTime, type FormatOptions } from '../lib/alerts/format';
import { TELEGRAM_LIMITS } from '../lib/alerts/send-limiter';
import { alertKeyboard } from './buttons';
import type { Alert, AlertSnapshot } from '../lib/types';
import type { OutboxRow } from '../lib/store/outbox';

/** The subset of the client we call, so tests and the node agree on it. */
export type TelegramApi = Pick<Api, 'sendMessage' | 'sendPhoto' | 'sendVideo' | 'editMessageMedia'>;

/** What the node adds to activity alerts beyond the text. */
export interface AlertExtras {
  /** the signed dashboard link of an event, when the node knows the dashboard's address */
  link?(ref: EventRef): string | undefined;
  /** Disarm / Snapshot now / Open in dashboard under activity alerts (default on) */
  buttons?: boolean;
}

/** Bots may upload files up to 50 MB (Bot API, "Sending files"). */
export const MAX_VIDEO_BYTES = 50 * 1024 * 1024;

/** Telegram's limit is 4096 characters; a digest of 50 short lines stays well inside it. */
const MAX_DIGEST = 50;

/** A failure no retry can fix, raised by the channel itself. */
class Permanent extends Error {}

export class TelegramChannel implements Channel {
  readonly name = 'telegram';
  readonly limits = TELEGRAM_LIMITS;
  readonly maxDigest = MAX_DIGEST;
  readonly recordsEvents = true;

  constructor(
    private readonly api: TelegramApi,
    private readonly format: FormatOptions,
    private readonly extras: AlertExtras = {},
  ) {}

  canDigest(row: OutboxRow): boolean {
    return row.item === 'alert' && !row.image;
  }

  async deliver(rows: OutboxRow[], alert?: OutboxRow): Promise<DeliveryResult> {
    const row = rows[0]!;
    const chat_id = row.target;
    if (rows.length > 1) {
      const { html, included } = formatDigest(
        rows.map((r) => r.payload as Alert),
        this.format,
      );
      const silent = rows.slice(0, included).every((r) => r.silent);
      const message = await this.text(chat_id, html, silent);
      return { messageId: message.message_id, delivered: Math.max(1, included) };
    }
    if (row.item === 'alert') {
      const f = formatAlert(row.payload as Alert, this.format);
      const link = this.linkOf(row);
      const reply_markup = this.keyboard(row, link);
      if (row.image) {
        const message = await this.api.sendPhoto({
          chat_id,
          photo: this.photo(row),
          caption: withLink(f.caption, link, CAPTION_MAX),
          parse_mode: 'HTML',
          disable_notification: row.silent,
          ...(reply_markup && { reply_markup }),
        });
        return { messageId: message.message_id, hasPhoto: true, delivered: 1 };
      }
      const message = await this.text(chat_id, withLink(f.html, link, MESSAGE_MAX), row.silent, f.plain, reply_markup);
      return { messageId: message.message_id, delivered: 1 };
    }
    if (row.item === 'clip') return this.clip(row, alert);
    return this.snapshot(row, alert);
  }

  classify(err: unknown): Failure {
    if (err instanceof Permanent) return { retry: false, reason: err.message };
    if (err instanceof TelegramApiError) {
      const reason = `Telegram ${err.errorCode}: ${err.description}`;
      if (err.errorCode === 429) return { retry: true, retryAfterMs: (err.retryAfter ?? 1) * 1000, reason };
      // 401/404 mean the token is wrong: the alert is fine, the setup is not. Keep it until the token is fixed.
      if (err.errorCode >= 500 || err.errorCode === 401 || err.errorCode === 404) return { retry: true, reason };
      // 400 (no such chat, bad request) and 403 (the bot was blocked or removed): no retry will change that.
      return { retry: false, reason };
    }
    // NetworkError, TimeoutError, ParseError (a proxy's error page): transient.
    return { retry: true, reason: (err as Error)?.message ?? String(err) };
  }

  private async snapshot(row: OutboxRow, alert: OutboxRow | undefined): Promise<DeliveryResult> {
    if (!row.image) throw new Permanent('the snapshot has no image');
    const chat_id = row.target;
    const snap = row.payload as AlertSnapshot;
    if (alert?.messageId !== undefined && alert.hasPhoto) {
      try {
        await this.api.editMessageMedia({
          chat_id,
          message_id: alert.messageId,
          media: {
            type: 'photo',
            media: this.photo(row),
            caption: withLink(formatAlert(alert.payload as Alert, this.format).caption, this.linkOf(alert), CAPTION_MAX),
            parse_mode: 'HTML',
          },
          // An edit without reply_markup takes the buttons away.
          ...this.markupOf(alert),
        });
        return { messageId: alert.messageId, hasPhoto: true, delivered: 1 };
      } catch (err) {
        // A digest that carried this alert has no photo to replace: answer it instead.
        if (!(err instanceof TelegramApiError && err.errorCode === 400)) throw err;
      }
    }
    const name = (alert?.payload as Alert | undefined)?.deviceName ?? snap.deviceName ?? snap.deviceId;
    const message = await this.api.sendPhoto({
      chat_id,
      photo: this.photo(row),
      caption: `📷 ${escapeHtml(name)} · ${localTime(snap.timeMs ?? Date.now(), this.format)}`,
      parse_mode: 'HTML',
      disable_notification: alert?.silent ?? false,
      ...(alert?.messageId !== undefined ? { reply_parameters: { message_id: alert.messageId, allow_sending_without_reply: true } } : {}),
    });
    return { messageId: message.message_id, hasPhoto: true, delivered: 1 };
  }

  /**
   * The clip in place of the alert's photo, or as an answer to the alert where that cannot be
   * (a text alert, a digest, or Telegram's 400 for a message too old, deleted or not ours).
   */
  private async clip(row: OutboxRow, alert: OutboxRow | undefined): Promise<DeliveryResult> {
    const clip = row.payload as ClipReadyPayload;
    if (!alert) throw new Permanent('the clip has no sent alert to follow');
    const video = await this.video(clip);
    const a = alert.payload as Alert;
    const seconds = clip.durationMs !== null ? ` · ${Math.round(clip.durationMs / 1000)} s` : '';
    const alertCaption = formatAlert(a, this.format).caption;
    // The clip line goes where it fits; the alert's own text never gets cut for it.
    const clipLine = `\n🎬 <i>clip${seconds}</i>`;
    const fits = htmlToPlain(alertCaption).length + htmlToPlain(clipLine).length <= CAPTION_MAX;
    const caption = withLink(fits ? alertCaption + clipLine : alertCaption, this.linkOf(alert), CAPTION_MAX);
    const chat_id = row.target;
    const markup = this.markupOf(alert);
    if (alert.messageId !== undefined && alert.hasPhoto) {
      try {
        await this.api.editMessageMedia({
          chat_id,
          message_id: alert.messageId,
          media: { type: 'video', media: video, caption, parse_mode: 'HTML', supports_streaming: true, ...videoMeta(clip) },
          ...markup,
        });
        return { messageId: alert.messageId, delivered: 1 };
      } catch (err) {
        if (!(err instanceof TelegramApiError && err.errorCode === 400)) throw err;
      }
    }
    const message = await this.api.sendVideo({
      chat_id,
      video: await this.video(clip), // a fresh stream: the failed edit may have read the first one
      caption,
      parse_mode: 'HTML',
      supports_streaming: true,
      ...videoMeta(clip),
      disable_notification: alert.silent,
      ...(alert.messageId !== undefined ? { reply_parameters: { message_id: alert.messageId, allow_sending_without_reply: true } } : {}),
      ...markup,
    });
    return { messageId: message.message_id, delivered: 1 };
  }

  /** The clip's MP4 as an upload read from disk as it is sent (up to 50 MB: not held in memory). */
  private async video(clip: ClipReadyPayload): Promise<InputFile> {
    const file = clip.file;
    if (!file) throw new Permanent('the clip has no file on this runtime');
    let bytes: number;
    try {
      bytes = (await stat(file)).size;
    } catch (err) {
      throw new Permanent(`the clip's file cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (bytes === 0) throw new Permanent("the clip's file is empty");
    if (bytes > MAX_VIDEO_BYTES) throw new Permanent(`the clip is ${bytes} bytes, over the Bot API's 50 MB upload limit`);
    const name = `${clip.cameraId}-${clip.eventId}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    return new InputFile(() => Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>, {
      filename: `${name}.mp4`,
      contentType: 'video/mp4',
    });
  }

  private linkOf(row: OutboxRow): string | undefined {
    const a = row.payload as Alert;
    if (row.item !== 'alert' || a.kind !== 'activity' || !row.eventId || !this.extras.link) return undefined;
    return this.extras.link({ cameraId: row.deviceId, eventId: row.eventId, timeMs: a.timeMs });
  }

  private keyboard(row: OutboxRow, link: string | undefined): InlineKeyboardMarkup | undefined {
    return this.extras.buttons === false ? undefined : alertKeyboard(row, link);
  }

  private markupOf(alert: OutboxRow | undefined): { reply_markup?: InlineKeyboardMarkup } {
    const reply_markup = alert && this.keyboard(alert, this.linkOf(alert));
    return reply_markup ? { reply_markup } : {};
  }

  /** A text message; if Telegram cannot parse our HTML, the alert still goes out as plain text. */
  private async text(chat_id: string, html: string, silent: boolean, plain?: string, reply_markup?: InlineKeyboardMarkup) {
    const base = {
      chat_id,
      disable_notification: silent,
      link_preview_options: { is_disabled: true },
      ...(reply_markup && { reply_markup }),
    };
    try {
      return await this.api.sendMessage({ ...base, text: html, parse_mode: 'HTML' });
    } catch (err) {
      if (!(err instanceof TelegramApiError && err.errorCode === 400 && /parse entities/i.test(err.description))) throw err;
      return this.api.sendMessage({ ...base, text: plain ?? htmlToPlain(html) });
    }
  }

  private photo(row: OutboxRow): InputFile {
    const name = (row.eventId ?? `snapshot-${row.id}`).replace(/[^A-Za-z0-9_.-]/g, '_');
    return new InputFile(new Uint8Array(row.image!), { filename: `${name}.jpg`, contentType: 'image/jpeg' });
  }
}

const CAPTION_MAX = 1024;
const MESSAGE_MAX = 4096;

/** The text with the event's dashboard link as a last line, when there is one and it fits. */
function withLink(html: string, link: string | undefined, max: number): string {
  if (!link) return html;
  const line = `\n<a href="${escapeHtml(link)}">Open in dashboard</a>`;
  // Telegram counts the text after parsing, so the href does not count; the visible words do.
  return htmlToPlain(html).length + 40 <= max ? html + line : html;
}

function videoMeta(clip: ClipReadyPayload): { duration?: number } {
  return clip.durationMs !== null ? { duration: Math.max(1, Math.round(clip.durationMs / 1000)) } : {};
}
