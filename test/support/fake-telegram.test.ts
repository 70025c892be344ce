import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  Api,
  InputFile,
  longPoll,
  NetworkError,
  TelegramApiError,
  TimeoutError,
  type TransportOptions,
  type Update,
} from 'node-telegram-bot-api';
import { FakeTelegram, parseHtml, testPng } from './fake-telegram';

let fake: FakeTelegram;
beforeEach(async () => {
  fake = await FakeTelegram.start();
});
afterEach(() => fake.stop());

/** The real client against the fake; no retries unless a test asks for them. */
const client = (opts: TransportOptions = {}): Api => new Api(fake.token, { apiRoot: fake.url, maxRetries: 0, timeoutMs: 5000, ...opts });
/** Update is a union over the update kinds; these tests only see messages. */
const messageOf = (u: Update | undefined) => (u && 'message' in u ? u.message : undefined);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Matches a TelegramApiError with this code and (optionally) description. */
function apiError(code: number, description?: string | RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof TelegramApiError, `expected TelegramApiError, got ${String(e)}`);
    assert.equal(e.errorCode, code);
    if (typeof description === 'string') assert.equal(e.description, description);
    else if (description) assert.match(e.description, description);
    return true;
  };
}

describe('FakeTelegram through node-telegram-bot-api', () => {
  it('answers sendMessage like Telegram and records the call', async () => {
    const api = client();
    const msg = await api.sendMessage({ chat_id: 42, text: 'hello', disable_notification: true });
    assert.equal(msg.message_id, 1);
    assert.deepEqual(msg.chat, { id: 42, type: 'private' });
    assert.equal(msg.text, 'hello');
    assert.equal(msg.from?.username, 'picam_test_bot');
    assert.equal((await api.sendMessage({ chat_id: -100, text: 'group' })).message_id, 1, 'message ids are per chat');

    const call = fake.calls[0]!;
    assert.equal(call.method, 'sendMessage');
    assert.equal(call.token, fake.token);
    assert.equal(call.status, 200);
    // The library sends no JSON: a request without files is urlencoded, every value a string,
    // which the fake types back the way Telegram reads them.
    assert.match(call.contentType, /^application\/x-www-form-urlencoded/);
    assert.deepEqual(call.params, { chat_id: 42, text: 'hello', disable_notification: true });
    assert.deepEqual(
      fake.sent(42).map((m) => [m.method, m.messageId, m.text, m.silent]),
      [['sendMessage', 1, 'hello', true]],
    );
    assert.equal(fake.sent(-100)[0]?.chatId, -100);
    assert.equal((await api.getMe()).username, 'picam_test_bot');
  });

  it('validates HTML like Telegram: a bare < is refused, &lt; accepted', async () => {
    const api = client();
    await assert.rejects(
      api.sendMessage({ chat_id: 1, text: 'a < b', parse_mode: 'HTML' }),
      apiError(400, `Bad Request: can't parse entities: Unsupported start tag "" at byte offset 2`),
    );
    const ok = await api.sendMessage({ chat_id: 2, text: '<b>a</b> &lt; b', parse_mode: 'HTML' });
    assert.equal(ok.text, 'a < b', 'Telegram answers the text without markup');
    assert.equal(fake.sent(2)[0]?.text, '<b>a</b> &lt; b');
    await assert.rejects(
      api.sendMessage({ chat_id: 3, text: 'x', parse_mode: 'Fancy' }),
      apiError(400, 'Bad Request: unsupported parse_mode'),
    );
    await assert.rejects(api.sendMessage({ chat_id: 4, text: '  ' }), apiError(400, 'Bad Request: message text is empty'));
    await assert.rejects(api.sendMessage({ chat_id: 5, text: 'x'.repeat(4097) }), apiError(400, 'Bad Request: message is too long'));
    assert.equal(fake.sent().length, 1, 'refused messages are not sent');
  });

  it('parses the HTML subset: tags balanced, entities, links, spoilers', () => {
    assert.equal(
      parseHtml('<a href="https://x.test/?a=1&amp;b=2">cam</a> &amp; <tg-spoiler>s</tg-spoiler> &#233;&#x1F4F7;'),
      'cam & s é📷',
    );
    assert.equal(parseHtml('<pre><code class="language-json">{}</code></pre><span class="tg-spoiler">x</span>'), '{}x');
    assert.throws(() => parseHtml('<b>x</i>'), /Unmatched end tag at byte offset 4, expected "<\/b>", found "<\/i>"/);
    assert.throws(() => parseHtml('<b>x'), /Can't find end tag corresponding to start tag "b"/);
    assert.throws(() => parseHtml('fish & chips'), /character entity expected/);
    assert.throws(() => parseHtml('a > b'), /unescaped ">"/);
    assert.throws(() => parseHtml('<div>x</div>'), /Unsupported start tag "div" at byte offset 0/);
    assert.throws(() => parseHtml('<a>x</a>'), /must have attribute "href"/);
    assert.throws(() => parseHtml('<span>x</span>'), /must have class "tg-spoiler"/);
  });

  it('sendPhoto records the exact uploaded bytes and filename', async () => {
    const png = testPng(4, 3, 10);
    const msg = await client().sendPhoto({
      chat_id: 7,
      photo: new InputFile(png, { filename: 'snap.png' }),
      caption: '<b>Motion</b> at gate',
      parse_mode: 'HTML',
    });
    assert.equal(msg.caption, 'Motion at gate');
    assert.deepEqual([msg.photo?.[0]?.width, msg.photo?.[0]?.height, msg.photo?.[0]?.file_size], [4, 3, png.length]);
    const call = fake.calls.at(-1)!;
    assert.match(call.contentType, /^multipart\/form-data; boundary=/);
    assert.equal(call.files.photo?.filename, 'snap.png');
    assert.ok(call.files.photo?.bytes.equals(png));
    assert.equal(call.params.caption, '<b>Motion</b> at gate');
    assert.ok(fake.sent(7)[0]?.photoBytes?.equals(png));

    // Telegram decodes photos: bytes that are no image are refused.
    await assert.rejects(
      client().sendPhoto({ chat_id: 8, photo: new InputFile(Buffer.from('not a jpeg'), { filename: 'x.jpg' }) }),
      apiError(400, 'Bad Request: IMAGE_PROCESS_FAILED'),
    );
    // A file_id handed out earlier can be sent again without uploading.
    const again = await client().sendPhoto({ chat_id: 9, photo: msg.photo![0]!.file_id });
    assert.ok(fake.sent(9)[0]?.photoBytes?.equals(png));
    assert.equal(again.photo?.[0]?.file_id, msg.photo?.[0]?.file_id);
  });

  it('editMessageMedia replaces the photo of a photo message and refuses a text message', async () => {
    const api = client();
    const first = await api.sendPhoto({ chat_id: 11, photo: new InputFile(testPng(2, 2, 1), { filename: 'a.png' }), caption: 'before' });
    const next = testPng(2, 2, 200);
    const edited = await api.editMessageMedia({
      chat_id: 11,
      message_id: first.message_id,
      media: { type: 'photo', media: new InputFile(next, { filename: 'b.png' }), caption: 'after' },
    });
    // The nested InputFile travels as an attach:// reference inside the JSON field plus a part of that name.
    const call = fake.calls.at(-1)!;
    assert.deepEqual(call.params.media, { type: 'photo', media: 'attach://media_0', caption: 'after' });
    assert.ok(call.files.media_0?.bytes.equals(next));
    assert.equal(call.files.media_0?.filename, 'b.png');
    assert.ok(typeof edited === 'object');
    assert.equal(edited.caption, 'after');
    assert.notEqual(edited.photo?.[0]?.file_id, first.photo?.[0]?.file_id);
    const last = fake.sent(11).at(-1)!;
    assert.deepEqual([last.method, last.messageId, last.caption], ['editMessageMedia', first.message_id, 'after']);
    assert.ok(last.photoBytes?.equals(next));

    const text = await api.sendMessage({ chat_id: 12, text: 'motion, no snapshot yet' });
    await assert.rejects(
      api.editMessageMedia({
        chat_id: 12,
        message_id: text.message_id,
        media: { type: 'photo', media: new InputFile(next, { filename: 'c.png' }) },
      }),
      apiError(400, 'Bad Request: there is no media in the message to edit'),
    );
    await assert.rejects(
      api.editMessageMedia({ chat_id: 12, message_id: 99, media: { type: 'photo', media: new InputFile(next, { filename: 'c.png' }) } }),
      apiError(400, 'Bad Request: message to edit not found'),
    );
    await assert.rejects(
      api.editMessageCaption({ chat_id: 11, message_id: first.message_id, caption: 'after' }),
      apiError(400, /message is not modified/),
    );
  });

  it('sendVideo takes an MP4 and editMessageMedia turns a photo into a video; anything else is refused', async () => {
    const api = client();
    // The smallest thing that starts like an MP4: a box size and 'ftyp'.
    const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from('ftypisom'), Buffer.alloc(8)]);
    const photo = await api.sendPhoto({ chat_id: 42, photo: new InputFile(testPng(2, 2), { filename: 'a.png' }) });
    await api.editMessageMedia({
      chat_id: 42,
      message_id: photo.message_id,
      media: { type: 'video', media: new InputFile(mp4, { filename: 'c.mp4' }), caption: 'clip' },
    });
    const edited = fake.sent()[1]!;
    assert.equal(edited.method, 'editMessageMedia');
    assert.deepEqual(edited.videoBytes, mp4);
    assert.equal(edited.photoBytes, undefined, 'the photo is gone');
    const reply = await api.sendVideo({
      chat_id: 42,
      video: new InputFile(mp4, { filename: 'c.mp4' }),
      reply_parameters: { message_id: photo.message_id },
    });
    assert.equal(reply.reply_to_message?.message_id, photo.message_id);
    assert.equal(fake.sent()[2]!.replyTo, photo.message_id);
    await assert.rejects(
      api.sendVideo({ chat_id: 42, video: new InputFile(testPng(2, 2), { filename: 'not.mp4' }) }),
      apiError(400, 'Bad Request: VIDEO_CONTENT_TYPE_INVALID'),
    );
    const text = await api.sendMessage({ chat_id: 42, text: 'text' });
    await assert.rejects(
      api.editMessageMedia({
        chat_id: 42,
        message_id: text.message_id,
        media: { type: 'video', media: new InputFile(mp4, { filename: 'c.mp4' }) },
      }),
      apiError(400, 'Bad Request: there is no media in the message to edit'),
    );
  });

  it('checks inline keyboards, delivers button presses by allowed_updates and takes one answer per press', async () => {
    const api = client();
    const keyboard = {
      inline_keyboard: [[{ text: 'Disarm', callback_data: 'disarm:1' }], [{ text: 'Open', url: 'https://cams.example.org/x' }]],
    };
    const msg = await api.sendMessage({ chat_id: 42, text: 'alert', reply_markup: keyboard });
    assert.deepEqual(fake.sent()[0]!.buttons, keyboard.inline_keyboard);
    for (const [button, why] of [
      [{ text: 'x', callback_data: 'd'.repeat(65) }, 'BUTTON_DATA_INVALID'],
      [{ text: 'x', url: 'javascript:alert(1)' }, 'BUTTON_URL_INVALID'],
      [{ text: 'x' }, 'text buttons are unallowed in the inline keyboard'],
    ] as const) {
      await assert.rejects(
        api.sendMessage({ chat_id: 42, text: 'bad', reply_markup: { inline_keyboard: [[button as never]] } }),
        apiError(400, `Bad Request: ${why}`),
      );
    }
    assert.throws(() => fake.userPresses(42, msg.message_id, 'snap:1'), /no button with data "snap:1"/);

    const id = fake.userPresses(42, msg.message_id, 'disarm:1', 7);
    // A bot that asks only for messages never sees the press.
    assert.deepEqual(await api.getUpdates({ allowed_updates: ['message'], timeout: 0 }), []);
    fake.userPresses(42, msg.message_id, 'disarm:1', 7);
    const [update] = await api.getUpdates({ allowed_updates: ['message', 'callback_query'], timeout: 0 });
    assert.ok(update && 'callback_query' in update);
    const query = update.callback_query!;
    assert.equal(query.data, 'disarm:1');
    assert.equal(query.from.id, 7);
    assert.equal(query.message?.message_id, msg.message_id);
    await api.answerCallbackQuery({ callback_query_id: query.id, text: 'Disarming' });
    assert.deepEqual(
      fake.callbackAnswers.map((a) => a.text),
      ['Disarming'],
    );
    await assert.rejects(
      api.answerCallbackQuery({ callback_query_id: query.id }),
      apiError(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid'),
    );
    assert.notEqual(id, query.id, 'the press filtered out is gone with its update');
  });

  it('reply_parameters must name a message of that chat', async () => {
    const api = client();
    await assert.rejects(
      api.sendMessage({ chat_id: 5, text: 'x', reply_parameters: { message_id: 99 } }),
      apiError(400, 'Bad Request: message to be replied not found'),
    );
    assert.deepEqual(fake.calls.at(-1)?.params.reply_parameters, { message_id: 99 }, 'arrives as a JSON string field');
    const asked = fake.userSays(5, 'status?');
    const reply = await api.sendMessage({ chat_id: 5, text: 'all quiet', reply_parameters: { message_id: asked.message.message_id } });
    assert.equal(reply.reply_to_message?.message_id, asked.message.message_id);
    assert.equal(reply.message_id, 2, 'user and bot messages share the chat numbering');
    assert.equal(fake.sent(5)[0]?.replyTo, 1);
  });

  it('injects 429, 500, 502 and hangs as the library sees them', async () => {
    fake.failNext(1, { status: 429, retryAfter: 7 }, ['sendMessage']);
    await assert.rejects(client().sendMessage({ chat_id: 1, text: 'x' }), (e: unknown) => {
      assert.ok(e instanceof TelegramApiError);
      assert.deepEqual([e.errorCode, e.retryAfter, e.description], [429, 7, 'Too Many Requests: retry after 7']);
      return true;
    });
    assert.equal(fake.calls.at(-1)?.injected, '429 retry after 7');

    fake.failNext(1, { status: 500 });
    await assert.rejects(client().sendMessage({ chat_id: 2, text: 'x' }), apiError(500, 'Internal Server Error'));
    // 502 is an HTML page from Telegram's front end: no envelope, so a NetworkError once retries are spent.
    fake.failNext(1, { status: 502 });
    await assert.rejects(client().sendMessage({ chat_id: 3, text: 'x' }), NetworkError);
    fake.failNext(1, { status: 502 });
    await client({ maxRetries: 1, retryBackoffMs: 10 }).sendMessage({ chat_id: 3, text: 'retried' });
    assert.deepEqual(
      fake.sent().map((m) => m.text),
      ['retried'],
    );

    fake.failNext(1, { status: 403, description: 'Forbidden: bot was blocked by the user' });
    await assert.rejects(client().sendMessage({ chat_id: 4, text: 'x' }), apiError(403, 'Forbidden: bot was blocked by the user'));

    fake.failNext(1, { hang: true });
    await assert.rejects(client({ timeoutMs: 200 }).sendMessage({ chat_id: 5, text: 'x' }), TimeoutError);
    assert.equal(fake.calls.at(-1)?.injected, 'hang');
    assert.equal(fake.calls.at(-1)?.status, undefined);
  });

  it('refuses a wrong token and unknown methods like Telegram', async () => {
    await assert.rejects(new Api('999:wrong', { apiRoot: fake.url, maxRetries: 0 }).getMe(), apiError(401, 'Unauthorized'));
    await assert.rejects(client().getChat({ chat_id: 1 }), apiError(404, 'Not Found'));
    assert.equal(await client().setMyCommands({ commands: [{ command: 'status', description: 'Cameras and sensors' }] }), true);
    assert.deepEqual(fake.commands, [{ command: 'status', description: 'Cameras and sensors' }]);
    await assert.rejects(
      client().setMyCommands({ commands: [{ command: 'Status', description: 'x' }] }),
      apiError(400, 'Bad Request: BOT_COMMAND_INVALID'),
    );
  });

  it('getUpdates returns queued updates, confirms by offset and holds a long poll until a user speaks', async () => {
    const api = client();
    const queued = fake.userSays(42, '/status@picam_test_bot now');
    const [update] = await api.getUpdates({ timeout: 0 });
    assert.equal(update?.update_id, queued.update_id);
    assert.equal(messageOf(update)?.text, '/status@picam_test_bot now');
    assert.deepEqual(messageOf(update)?.entities, [{ type: 'bot_command', offset: 0, length: 22 }]);
    assert.deepEqual(messageOf(update)?.from, { id: 42, is_bot: false, first_name: 'User 42' });
    const offset = queued.update_id + 1;
    assert.deepEqual(await api.getUpdates({ offset, timeout: 0 }), [], 'the offset confirmed it');

    const started = Date.now();
    const poll = api.getUpdates({ offset, timeout: 5 });
    await fake.waitFor((f) => f.calls.some((c) => c.method === 'getUpdates' && c.status === undefined), 2000, 'a held long poll');
    await sleep(150);
    assert.equal(fake.calls.at(-1)?.status, undefined, 'still held');
    fake.userSays(42, 'hello');
    const updates = await poll;
    assert.deepEqual(
      updates.map((u) => messageOf(u)?.text),
      ['hello'],
    );
    assert.ok(Date.now() - started < 2000, 'answered as soon as the update arrived');

    // The library's longPoll generator over the same fake.
    const ac = new AbortController();
    setTimeout(() => fake.userSays(-7, 'from the group', 1001), 100);
    for await (const u of longPoll(api, { timeout: 5, offset: updates[0]!.update_id + 1 }, ac.signal)) {
      assert.deepEqual([messageOf(u)?.chat.id, messageOf(u)?.chat.type, messageOf(u)?.from?.id], [-7, 'group', 1001]);
      ac.abort();
    }
  });

  it('a new long poll terminates the held one with 409 Conflict, as Telegram does', async () => {
    const api = client();
    const first = api.getUpdates({ timeout: 5 });
    await fake.waitFor((f) => f.calls.length === 1, 2000, 'the first poll');
    const second = api.getUpdates({ timeout: 5 });
    await assert.rejects(
      first,
      apiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'),
    );
    assert.equal(fake.conflicts, 1);
    fake.userSays(1, 'still polling');
    assert.equal(messageOf((await second)[0])?.text, 'still polling');
  });

  it('records a violation for two messages to one chat 100 ms apart, none for 1 s apart', async () => {
    const api = client();
    await api.sendMessage({ chat_id: 42, text: 'one' });
    await sleep(100);
    await api.sendMessage({ chat_id: 42, text: 'two' });
    assert.equal(fake.violations.length, 1);
    assert.match(fake.violations[0]!, /^chat 42: 2 messages \d+ ms apart$/);

    await api.sendMessage({ chat_id: 43, text: 'one' });
    await sleep(1000);
    await api.sendMessage({ chat_id: 43, text: 'two' });
    assert.equal(fake.violations.length, 1, 'a second apart is allowed');
  });

  it('records more than 30 messages a second over all chats', async () => {
    const api = client();
    await Promise.all(Array.from({ length: 31 }, (_, i) => api.sendMessage({ chat_id: 1000 + i, text: 'burst' })));
    assert.deepEqual(fake.violations, ['all chats: 31 messages within 1 s']);
  });

  it('with enforceLimits refuses a breach with 429 and the seconds to wait', async () => {
    const strict = await FakeTelegram.start({ enforceLimits: true });
    try {
      const s = new Api(strict.token, { apiRoot: strict.url, maxRetries: 0 });
      await s.sendMessage({ chat_id: 42, text: 'one' });
      await assert.rejects(
        s.sendMessage({ chat_id: 42, text: 'two' }),
        (e: unknown) => e instanceof TelegramApiError && e.errorCode === 429 && e.retryAfter === 1,
      );
      assert.equal(strict.sent().length, 1);
      assert.match(strict.violations[0]!, /^chat 42: 2 messages \d+ ms apart \(refused with 429\)$/);
    } finally {
      await strict.stop();
    }
  });

  it('stop and restart keep the port and the recorded messages; requests in between fail with NetworkError', async () => {
    const api = client();
    await api.sendMessage({ chat_id: 42, text: 'before' });
    const url = fake.url;
    const held = api.getUpdates({ timeout: 5 });
    await fake.waitFor((f) => f.calls.some((c) => c.method === 'getUpdates'), 2000, 'a held long poll');
    await fake.stop();
    await assert.rejects(held, NetworkError, 'stop() drops held polls');
    await assert.rejects(api.sendMessage({ chat_id: 42, text: 'during' }), NetworkError);
    await fake.restart();
    assert.equal(fake.url, url);
    const after = await api.sendMessage({ chat_id: 42, text: 'after' });
    assert.equal(after.message_id, 2);
    assert.deepEqual(
      fake.sent(42).map((m) => m.text),
      ['before', 'after'],
    );
  });
});
