/**
 * How outbox rows become Bot API calls: an alert is a text message, or one
 * photo with a caption when its picture is already there; a backlog is one
 * digest message; a snapshot that arrives after its alert replaces the photo
 * of a photo message (editMessageMedia) or, since Telegram cannot turn a text
 * message into a photo, answers the text message with the photo.
 */
import { InputFile, TelegramApiError, type Api } from 'node-telegram-bot-api';
import type { Channel, DeliveryResult, Failure } from '../lib/alerts/dispatcher';
import { escapeHtml, formatAlert, formatDigest, htmlToPlain, localTime, type FormatOptions } from '../lib/alerts/format';
import { TELEGRAM_LIMITS } from '../lib/alerts/send-limiter';
import type { Alert, AlertSnapshot } from '../lib/types';
import type { OutboxRow } from '../lib/store/outbox';

/** The subset of the client we call, so tests and the node agree on it. */
export type TelegramApi = Pick<Api, 'sendMessage' | 'sendPhoto' | 'editMessageMedia'>;

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
      if (row.image) {
        const message = await this.api.sendPhoto({
          chat_id,
          photo: this.photo(row),
          caption: f.caption,
          parse_mode: 'HTML',
          disable_notification: row.silent,
        });
        return { messageId: message.message_id, hasPhoto: true, delivered: 1 };
      }
      const message = await this.text(chat_id, f.html, row.silent, f.plain);
      return { messageId: message.message_id, delivered: 1 };
    }
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
            caption: formatAlert(alert.payload as Alert, this.format).caption,
            parse_mode: 'HTML',
          },
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

  /** A text message; if Telegram cannot parse our HTML, the alert still goes out as plain text. */
  private async text(chat_id: string, html: string, silent: boolean, plain?: string) {
    const base = { chat_id, disable_notification: silent, link_preview_options: { is_disabled: true } };
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
