/** TelegramChannel against the Bot API fake: the fallbacks and how failures are classified. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Api, NetworkError, TelegramApiError } from 'node-telegram-bot-api';
import type { Alert } from '../../../nodes/lib/types';
import type { OutboxRow } from '../../../nodes/lib/store/outbox';
import { TelegramChannel } from '../../../nodes/telegram-alert/telegram-channel';
import { FakeTelegram, testPng } from '../../support/fake-telegram';
import { motionAlert } from '../../support/fixtures';

let fake: FakeTelegram;
let channel: TelegramChannel;
beforeEach(async () => {
  fake = await FakeTelegram.start();
  channel = new TelegramChannel(new Api(fake.token, { apiRoot: fake.url, maxRetries: 0, timeoutMs: 2000 }), { timeZone: 'UTC' });
});
afterEach(() => fake.stop());

let nextId = 1;
const row = (payload: Alert, extra: Partial<OutboxRow> = {}): OutboxRow => ({
  id: nextId++,
  target: '42',
  item: 'alert',
  deviceId: payload.deviceId,
  eventId: payload.eventId,
  payload,
  silent: false,
  state: 'sending',
  attempts: 0,
  nextAttemptMs: 0,
  createdMs: 0,
  hasPhoto: false,
  ...extra,
});

describe('telegram channel', () => {
  it('sends the alert as plain text when Telegram cannot parse its HTML, rather than lose it', async () => {
    fake.failNext(1, { status: 400, description: "Bad Request: can't parse entities: unexpected end tag" }, ['sendMessage']);
    const result = await channel.deliver([row(motionAlert('e1', { deviceName: 'Tom & Jerry <3' }))]);
    const [sent] = fake.sent(42);
    assert.equal(result.messageId, sent!.messageId);
    assert.equal(sent!.parseMode, undefined);
    assert.match(sent!.text!, /Motion at Tom & Jerry <3/);
  });

  it('sends a snapshot as a reply when the message it belongs to has no photo to replace', async () => {
    const alert = row(motionAlert('e2'), { state: 'sent' });
    const first = await channel.deliver([alert]);
    // The digest case: the alert row thinks it has a photo, the message does not.
    const update = await channel.deliver(
      [
        row(motionAlert('e2'), {
          item: 'snapshot',
          image: testPng(2, 2),
          payload: { kind: 'snapshot', deviceId: 'cam', eventId: 'e2', image: '' },
        }),
      ],
      { ...alert, messageId: first.messageId, hasPhoto: true },
    );
    const photo = fake.sent(42).at(-1)!;
    assert.equal(photo.method, 'sendPhoto');
    assert.equal(photo.replyTo, first.messageId);
    assert.equal(update.messageId, photo.messageId);
  });

  it('tells transient failures from refusals', () => {
    const retry = (e: unknown) => channel.classify(e);
    assert.deepEqual(retry(new TelegramApiError(429, 'Too Many Requests: retry after 7', { retry_after: 7 })), {
      retry: true,
      retryAfterMs: 7000,
      reason: 'Telegram 429: Too Many Requests: retry after 7',
    });
    assert.equal(retry(new TelegramApiError(502, 'Bad Gateway')).retry, true);
    assert.equal(retry(new TelegramApiError(401, 'Unauthorized')).retry, true, 'a wrong token is fixed by the user: keep the alert');
    assert.equal(retry(new TelegramApiError(403, 'Forbidden: bot was blocked by the user')).retry, false);
    assert.equal(retry(new TelegramApiError(400, 'Bad Request: chat not found')).retry, false);
    assert.equal(retry(new NetworkError('Network request failed: sendMessage')).retry, true);
  });
});
