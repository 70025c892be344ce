/**
 * A local fake of the Telegram Bot API (https://core.telegram.org/bots/api) for tests.
 *
 * It follows the wire contract closely enough that code passing against it should pass
 * against Telegram: POST /bot<token>/<method>, parameters from the query string and a
 * urlencoded, multipart or JSON body, answers `{ok: true, result}` or
 * `{ok: false, error_code, description, parameters?}` with the same HTTP status. Where it
 * must guess it is stricter than Telegram, never laxer. Behaviour marked "tdlib" follows
 * the Bot API server's source (github.com/tdlib/telegram-bot-api, Client.cpp).
 *
 * It only knows the methods our alerting uses; any other method answers 404 as Telegram
 * does for an unknown one.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';
import type { CallbackQuery, InlineKeyboardButton, Message, PhotoSize, Update, User, Video } from 'node-telegram-bot-api';
import { BodyError, parseRequestBody, typedParams, type UploadedFile } from './multipart';

export type { UploadedFile };

export type Failure =
  { status: 429; retryAfter: number } | { status: 500 | 502 } | { status: 400 | 403; description: string } | { hang: true };

export interface RecordedCall {
  method: string;
  token: string;
  /** typed as Telegram reads them: JSON-carrying fields parsed, integer fields numbers, flags booleans */
  params: Record<string, unknown>;
  files: Record<string, UploadedFile>;
  atMs: number;
  contentType: string;
  /** HTTP status of the answer; undefined while held (long poll) or hanging */
  status?: number;
  /** set when the answer was an injected failure (failNext) */
  injected?: string;
}

export interface SentMessage {
  chatId: number;
  messageId: number;
  method: 'sendMessage' | 'sendPhoto' | 'sendVideo' | 'editMessageMedia' | 'editMessageCaption';
  /** as sent, markup included */
  text?: string;
  caption?: string;
  parseMode?: string;
  /** text or caption as the user sees it (HTML markup removed, entities decoded) */
  plain?: string;
  photoBytes?: Buffer;
  photoFileId?: string;
  /** the message's video after this call (sendVideo, or editMessageMedia to a video) */
  videoBytes?: Buffer;
  /** the inline keyboard the message carries after this call */
  buttons?: InlineKeyboardButton[][];
  replyTo?: number;
  silent: boolean;
  atMs: number;
}

/** A message update, as userSays() queues it. */
export type MessageUpdate = Update & { message: Message };
/** A button press, as userPresses() queues it. */
export type CallbackUpdate = Update & { callback_query: CallbackQuery };
type AnyUpdate = MessageUpdate | CallbackUpdate;

/** What answerCallbackQuery was told for one press. */
export interface CallbackAnswer {
  queryId: string;
  text?: string;
  showAlert: boolean;
  atMs: number;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: { retry_after: number },
  ) {
    super(description);
  }
}
const bad = (why: string): ApiError => new ApiError(400, `Bad Request: ${why}`);
const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

type Params = Record<string, unknown>;
type Files = Record<string, UploadedFile>;
interface StoredMessage {
  msg: Message;
  byBot: boolean;
}
interface Held {
  limit: number;
  resolve: (updates: AnyUpdate[]) => void;
  reject: (e: ApiError) => void;
  timer: NodeJS.Timeout;
}

const MAX_POLL_TIMEOUT = 50; // tdlib's LONG_POLL_MAX_TIMEOUT; larger timeouts are clamped

export class FakeTelegram {
  readonly calls: RecordedCall[] = [];
  readonly violations: string[] = [];
  /** the last setMyCommands list */
  commands: unknown[] = [];
  /** long polls terminated by a competing getUpdates */
  conflicts = 0;
  readonly token: string;
  readonly bot: User & { can_join_groups: boolean; can_read_all_group_messages: boolean; supports_inline_queries: boolean };

  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private port = 0;
  private readonly enforceLimits: boolean;
  /** when a call arrives, for its record and for Telegram's limits (a test's clock may run faster than the wall's) */
  private readonly clock: () => number;
  private readonly chats = new Map<number, { nextId: number; messages: Map<number, StoredMessage> }>();
  private readonly photos = new Map<string, { size: PhotoSize; bytes: Buffer }>();
  private readonly videos = new Map<string, { video: Video; bytes: Buffer }>();
  /** presses not answered yet: Telegram accepts one answer per query */
  private readonly openQueries = new Set<string>();
  /** getUpdates' allowed_updates, remembered between calls as Telegram does; undefined = the default (all but a few) */
  private allowedUpdates?: string[];
  /** every answerCallbackQuery accepted, in order */
  readonly callbackAnswers: CallbackAnswer[] = [];
  private readonly log: SentMessage[] = [];
  private recent: Array<{ chatId: number; atMs: number }> = []; // accepted sends of the last minute, for the limits
  private updates: AnyUpdate[] = [];
  private nextUpdateId = 1;
  private held?: Held;
  private nextConflictAtMs = 0;
  private failures: Array<{ left: number; failure: Failure; methods?: string[] }> = [];
  private readonly handlers: Record<string, (p: Params, files: Files, res: http.ServerResponse) => unknown>;

  private constructor(opts: { token?: string; enforceLimits?: boolean; clock?: () => number }) {
    this.token = opts.token ?? '123456:TEST-token';
    this.enforceLimits = opts.enforceLimits ?? false;
    this.clock = opts.clock ?? Date.now;
    const id = Number(this.token.split(':')[0]) || 123456;
    this.bot = {
      id,
      is_bot: true,
      first_name: 'PiCam Test',
      username: 'picam_test_bot',
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
    };
    // Keys are lower case: Telegram matches method names case-insensitively.
    this.handlers = {
      getme: () => this.bot,
      deletewebhook: (p) => {
        if (p.drop_pending_updates === true) this.updates = [];
        return true;
      },
      setmycommands: (p) => this.setMyCommands(p),
      sendmessage: (p) => this.sendMessage(p),
      sendphoto: (p, files) => this.sendPhoto(p, files),
      sendvideo: (p, files) => this.sendVideo(p, files),
      answercallbackquery: (p) => this.answerCallbackQuery(p),
      editmessagemedia: (p, files) => this.editMessageMedia(p, files),
      editmessagecaption: (p) => this.editMessageCaption(p),
      getupdates: (p, _files, res) => this.getUpdates(p, res),
    };
  }

  static async start(opts: { token?: string; port?: number; enforceLimits?: boolean; clock?: () => number } = {}): Promise<FakeTelegram> {
    const fake = new FakeTelegram(opts);
    await fake.listen(opts.port ?? 0);
    return fake;
  }

  /** The apiRoot to give the client. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Closes the server and every connection, held long polls and hanging requests included. State is kept. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.held = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port with all recorded state (stop + restart = an outage). */
  async restart(): Promise<void> {
    if (this.server) throw new Error('FakeTelegram.restart: still running; stop() first');
    await this.listen(this.port);
  }

  /** Messages created or edited successfully, in order. */
  sent(chatId?: number): SentMessage[] {
    return this.log.filter((m) => chatId === undefined || m.chatId === chatId);
  }

  /** A user writes to the bot: queues a message update and wakes a held getUpdates. */
  userSays(chatId: number, text: string, fromId = chatId): MessageUpdate {
    const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
    const msg: Message = { message_id: this.chat(chatId).nextId++, date: unixNow(), chat: chatOf(chatId), text };
    msg.from = { id: fromId, is_bot: false, first_name: `User ${fromId}` };
    if (command) msg.entities = [{ type: 'bot_command', offset: 0, length: command[0].length }];
    this.chat(chatId).messages.set(msg.message_id, { msg, byBot: false });
    const update = { update_id: this.nextUpdateId++, message: msg };
    this.updates.push(update);
    if (this.held) this.release(this.held);
    return update;
  }

  /**
   * A user presses an inline button of a bot message: queues a callback_query update as Telegram
   * does, which it only does for a button the message really has. Returns the query id.
   */
  userPresses(chatId: number, messageId: number, data: string, fromId = chatId): string {
    const stored = this.chats.get(chatId)?.messages.get(messageId);
    if (!stored?.byBot) throw new Error(`FakeTelegram.userPresses: no bot message ${messageId} in chat ${chatId}`);
    const buttons = (stored.msg.reply_markup?.inline_keyboard ?? []).flat();
    if (!buttons.some((b) => b.callback_data === data)) {
      throw new Error(`FakeTelegram.userPresses: message ${messageId} has no button with data "${data}"`);
    }
    const id = `${this.bot.id}${this.nextUpdateId}${Date.now() % 100000}`;
    this.openQueries.add(id);
    const query: CallbackQuery = {
      id,
      from: { id: fromId, is_bot: false, first_name: `User ${fromId}` },
      message: stored.msg,
      chat_instance: `ci${chatId}`,
      data,
    };
    this.updates.push({ update_id: this.nextUpdateId++, callback_query: query });
    if (this.held) this.release(this.held);
    return id;
  }

  /** The next n requests (to `methods`, default any) fail this way. */
  failNext(n: number, failure: Failure, methods?: string[]): void {
    this.failures.push({ left: n, failure, methods: methods?.map((m) => m.toLowerCase()) });
  }

  clearFailures(): void {
    this.failures = [];
  }

  async waitForSent(count: number, timeoutMs = 5000): Promise<SentMessage[]> {
    await this.waitFor(() => this.log.length >= count, timeoutMs, `${count} sent messages`);
    return this.sent();
  }

  /** The first line of each sent message, for a failure's message: what came, not only how many. */
  private sentSummary(): string {
    return this.log.map((m) => JSON.stringify((m.plain ?? '(no text)').split('\n')[0]!.slice(0, 60))).join(', ') || 'none';
  }

  async waitFor(predicate: (fake: FakeTelegram) => boolean, timeoutMs = 5000, what = predicate.toString()): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > until) {
        const calls = this.calls.map((c) => `${c.method}→${c.injected ? `${c.injected} ` : ''}${c.status ?? 'pending'}`).join(', ');
        throw new Error(
          `FakeTelegram: timed out after ${timeoutMs} ms waiting for ${what}; ${this.log.length} sent: ${this.sentSummary()}; calls: ${calls || 'none'}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // ---- HTTP ----

  private async listen(port: number): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = /^\/bot([^/]*)\/([^/]+)$/.exec(url.pathname);
    if (!route) return this.answer(res, undefined, new ApiError(404, 'Not Found'));
    let body;
    try {
      body = parseRequestBody(req.headers['content-type'], Buffer.concat(chunks), url.searchParams);
    } catch (e) {
      if (e instanceof BodyError) return this.answer(res, undefined, bad(`can't parse request: ${e.message}`));
      throw e;
    }
    const token = route[1]!;
    const method = route[2]!;
    const contentType = req.headers['content-type'] ?? '';
    const call: RecordedCall = { method, token, params: typedParams(body.fields), files: body.files, atMs: this.clock(), contentType };
    this.calls.push(call);
    if (token !== this.token) return this.answer(res, call, new ApiError(401, 'Unauthorized'));
    const handler = this.handlers[method.toLowerCase()];
    if (!handler) return this.answer(res, call, new ApiError(404, 'Not Found'));
    const rule = this.failures.find((f) => f.left > 0 && (!f.methods || f.methods.includes(method.toLowerCase())));
    if (rule) {
      rule.left--;
      return this.inject(res, call, rule.failure);
    }
    try {
      this.answer(res, call, { result: await handler(call.params, call.files, res) });
    } catch (e) {
      this.answer(res, call, e instanceof ApiError ? e : new ApiError(500, `Internal Server Error: ${String(e)}`));
    }
  }

  private inject(res: http.ServerResponse, call: RecordedCall, f: Failure): void {
    if ('hang' in f) {
      call.injected = 'hang'; // never answered; stop() destroys the socket
    } else if (f.status === 429) {
      call.injected = `429 retry after ${f.retryAfter}`;
      this.answer(res, call, new ApiError(429, `Too Many Requests: retry after ${f.retryAfter}`, { retry_after: f.retryAfter }));
    } else if (f.status === 502) {
      // A 502 comes from Telegram's nginx front, as an HTML page: the client finds no JSON envelope in it.
      call.injected = '502';
      call.status = 502;
      res
        .writeHead(502, { 'content-type': 'text/html' })
        .end('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\r\n');
    } else {
      call.injected = String(f.status);
      this.answer(res, call, 'description' in f ? new ApiError(f.status, f.description) : new ApiError(500, 'Internal Server Error'));
    }
  }

  private answer(res: http.ServerResponse, call: RecordedCall | undefined, outcome: ApiError | { result: unknown }): void {
    const status = outcome instanceof ApiError ? outcome.status : 200;
    if (call) call.status = status;
    const body = JSON.stringify(
      outcome instanceof ApiError
        ? { ok: false, error_code: outcome.status, description: outcome.description, parameters: outcome.parameters }
        : { ok: true, result: outcome.result },
    );
    if (!res.destroyed && !res.writableEnded) res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  }

  // ---- methods ----

  private setMyCommands(p: Params): true {
    if (!Array.isArray(p.commands)) throw bad("can't parse commands JSON object");
    for (const c of p.commands as Array<{ command?: unknown; description?: unknown }>) {
      // Telegram refuses upper case, hyphens and the leading slash.
      if (typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command)) throw bad('BOT_COMMAND_INVALID');
      if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256)
        throw bad('command description must be non-empty');
    }
    this.commands = p.commands;
    return true;
  }

  private sendMessage(p: Params): Message {
    const chatId = chatIdOf(p);
    const plain = formatted(p.text === undefined ? '' : String(p.text), p.parse_mode);
    if (plain.trim() === '') throw bad('message text is empty');
    // "1-4096 characters after entities parsing"; counted in UTF-16 units, which is never laxer.
    if (plain.length > 4096) throw bad('message is too long');
    const markup = inlineKeyboard(p.reply_markup);
    const replyTo = this.replyTarget(chatId, p);
    this.admit(chatId);
    const msg = this.newMessage(chatId, replyTo);
    msg.text = plain; // Telegram answers the parsed text (and its entities, left out here)
    if (markup) msg.reply_markup = markup;
    return this.record('sendMessage', msg, p, p.disable_notification === true);
  }

  private sendPhoto(p: Params, files: Files): Message {
    const chatId = chatIdOf(p);
    // A top-level upload arrives as a file part named after its field.
    const photo = this.photo(p.photo ?? (files.photo ? 'attach://photo' : undefined), files);
    const caption = this.caption(p.caption, p.parse_mode);
    const markup = inlineKeyboard(p.reply_markup);
    const replyTo = this.replyTarget(chatId, p);
    this.admit(chatId);
    const msg = this.newMessage(chatId, replyTo);
    msg.photo = [photo.size];
    if (caption !== undefined) msg.caption = caption;
    if (markup) msg.reply_markup = markup;
    return this.record('sendPhoto', msg, p, p.disable_notification === true);
  }

  private editMessageMedia(p: Params, files: Files): Message {
    const { chatId, msg } = this.editable(p);
    // Telegram cannot turn a text message into a photo: a text alert can never gain its snapshot later.
    if (!msg.photo && !msg.video) throw bad('there is no media in the message to edit');
    if (typeof p.media !== 'object' || p.media === null) throw bad("can't parse InputMedia JSON object");
    const media = p.media as Params;
    if (media.type !== 'photo' && media.type !== 'video') {
      throw bad(`the fake only edits to photos and videos, not media of type "${String(media.type)}"`);
    }
    const markup = inlineKeyboard(p.reply_markup);
    const caption = this.caption(media.caption, media.parse_mode);
    // An InputFile inside `media` arrives as "attach://<part>" plus a file part of that name.
    if (media.type === 'photo') {
      const photo = this.photo(media.media, files);
      if (photo.size.file_id === msg.photo?.[0]?.file_id && caption === msg.caption) throw bad(NOT_MODIFIED);
      this.admit(chatId);
      msg.photo = [photo.size];
      delete msg.video;
    } else {
      const video = this.video(media.media, files, media.duration);
      if (video.video.file_id === msg.video?.file_id && caption === msg.caption) throw bad(NOT_MODIFIED);
      this.admit(chatId);
      msg.video = video.video;
      delete msg.photo;
    }
    // Telegram keeps no keyboard an edit does not send again.
    if (markup) msg.reply_markup = markup;
    else delete msg.reply_markup;
    // The new media replaces the caption too: none in `media` means none at all.
    return this.record('editMessageMedia', edited(msg, caption), media);
  }

  private editMessageCaption(p: Params): Message {
    const { chatId, msg } = this.editable(p);
    if (!msg.photo) throw bad('there is no caption in the message to edit');
    const caption = this.caption(p.caption, p.parse_mode);
    if (caption === msg.caption) throw bad(NOT_MODIFIED);
    this.admit(chatId);
    return this.record('editMessageCaption', edited(msg, caption), p);
  }

  private getUpdates(p: Params, res: http.ServerResponse): AnyUpdate[] | Promise<AnyUpdate[]> {
    if (p.allowed_updates !== undefined) {
      if (!Array.isArray(p.allowed_updates)) throw bad("can't parse allowed_updates JSON array");
      // An empty list means "all but the opt-in kinds", as no list does.
      this.allowedUpdates = p.allowed_updates.length ? p.allowed_updates.map(String) : undefined;
    }
    let offset = typeof p.offset === 'number' ? p.offset : 0;
    const limit = Math.min(100, Math.max(1, typeof p.limit === 'number' ? p.limit : 100));
    const timeout = Math.min(MAX_POLL_TIMEOUT, Math.max(0, typeof p.timeout === 'number' ? p.timeout : 0));
    // An offset confirms every earlier update; a negative one counts from the end of the queue.
    if (offset < 0) offset += this.nextUpdateId;
    if (offset > 0) this.updates = this.updates.filter((u) => u.update_id >= offset);
    // Updates of a kind the bot did not ask for are dropped, as Telegram drops them.
    this.updates = this.deliverable();
    if (this.updates.length > 0 || timeout === 0) return this.updates.slice(0, limit);
    // tdlib: a new long poll terminates the one already held (the OLDER request gets the 409) and takes
    // its place; conflict answers are spaced at least 3 s apart, a later one waits its turn.
    const previous = this.held;
    if (previous) {
      this.conflicts++;
      clearTimeout(previous.timer);
      const conflict = new ApiError(
        409,
        'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      );
      const now = Date.now();
      if (now >= this.nextConflictAtMs) {
        this.nextConflictAtMs = now + 3000;
        previous.reject(conflict);
      } else this.later(() => previous.reject(conflict), 3000);
    }
    return new Promise((resolve, reject) => {
      const held: Held = { limit, resolve, reject, timer: this.later(() => this.release(held), timeout * 1000) };
      this.held = held;
      res.on('close', () => {
        if (this.held === held) this.release(held); // the client went away
      });
    });
  }

  private sendVideo(p: Params, files: Files): Message {
    const chatId = chatIdOf(p);
    const video = this.video(p.video ?? (files.video ? 'attach://video' : undefined), files, p.duration);
    const caption = this.caption(p.caption, p.parse_mode);
    const markup = inlineKeyboard(p.reply_markup);
    const replyTo = this.replyTarget(chatId, p);
    this.admit(chatId);
    const msg = this.newMessage(chatId, replyTo);
    msg.video = video.video;
    if (caption !== undefined) msg.caption = caption;
    if (markup) msg.reply_markup = markup;
    return this.record('sendVideo', msg, p, p.disable_notification === true);
  }

  private answerCallbackQuery(p: Params): true {
    const id = typeof p.callback_query_id === 'string' ? p.callback_query_id : String(p.callback_query_id ?? '');
    // tdlib: an unknown, already answered or stale query id is QUERY_ID_INVALID, shown as this.
    if (!this.openQueries.delete(id)) throw bad('query is too old and response timeout expired or query ID is invalid');
    if (p.text !== undefined && String(p.text).length > 200) throw bad('MESSAGE_TOO_LONG');
    this.callbackAnswers.push({
      queryId: id,
      ...(p.text !== undefined ? { text: String(p.text) } : {}),
      showAlert: p.show_alert === true,
      atMs: Date.now(),
    });
    return true;
  }

  // ---- helpers ----

  private deliverable(): AnyUpdate[] {
    const allowed = this.allowedUpdates;
    return allowed ? this.updates.filter((u) => allowed.some((kind) => kind in u)) : this.updates;
  }

  /** A video given as "attach://<part>" (an upload: an MP4, up to the bots' 50 MB) or as a file_id this fake handed out. */
  private video(ref: unknown, files: Files, duration: unknown): { video: Video; bytes: Buffer } {
    if (typeof ref !== 'string' || ref === '') throw bad('there is no video in the request');
    if (!ref.startsWith('attach://')) {
      const known = this.videos.get(ref);
      if (!known) throw bad('wrong file identifier/HTTP URL specified');
      return known;
    }
    const upload = files[ref.slice('attach://'.length)];
    if (!upload) throw bad(`file "${ref}" was not attached to the request`);
    if (upload.bytes.length === 0) throw bad('file must be non-empty');
    if (upload.bytes.length > 50 * 1024 * 1024) throw new ApiError(413, 'Request Entity Too Large');
    // An MP4 starts with its ftyp box; anything else would not play in the chat.
    if (upload.bytes.length < 12 || upload.bytes.toString('latin1', 4, 8) !== 'ftyp') throw bad('VIDEO_CONTENT_TYPE_INVALID');
    const n = this.videos.size + 1;
    const video: Video = {
      file_id: `fake-video-${n}-${Date.now().toString(36)}`,
      file_unique_id: `fake-v${n}`,
      width: 0,
      height: 0,
      duration: typeof duration === 'number' ? duration : 0,
      mime_type: 'video/mp4',
      file_size: upload.bytes.length,
    };
    const stored = { video, bytes: upload.bytes };
    this.videos.set(video.file_id, stored);
    return stored;
  }

  private release(held: Held): void {
    if (this.held === held) this.held = undefined;
    clearTimeout(held.timer);
    this.timers.delete(held.timer);
    held.resolve(this.deliverable().slice(0, held.limit));
  }

  private later(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private chat(chatId: number): { nextId: number; messages: Map<number, StoredMessage> } {
    let chat = this.chats.get(chatId);
    if (!chat) this.chats.set(chatId, (chat = { nextId: 1, messages: new Map() }));
    return chat;
  }

  private newMessage(chatId: number, replyTo: Message | undefined): Message {
    // A message's `from` is a plain User; the can_* fields belong to getMe only.
    const { id, is_bot, first_name, username } = this.bot;
    const msg: Message = {
      message_id: this.chat(chatId).nextId++,
      from: { id, is_bot, first_name, username },
      chat: chatOf(chatId),
      date: unixNow(),
    };
    if (replyTo) msg.reply_to_message = { ...replyTo, reply_to_message: undefined };
    this.chat(chatId).messages.set(msg.message_id, { msg, byBot: true });
    return msg;
  }

  /** Logs a created or edited message for sent(); `given` holds the text, caption and parse_mode as sent. */
  private record(method: SentMessage['method'], msg: Message, given: Params, silent = false): Message {
    const photo = msg.photo && this.photos.get(msg.photo[0]!.file_id);
    const entry: SentMessage = { chatId: msg.chat.id, messageId: msg.message_id, method, silent, atMs: this.clock() };
    if (given.text !== undefined) entry.text = String(given.text);
    if (given.caption !== undefined) entry.caption = String(given.caption);
    if (given.parse_mode !== undefined) entry.parseMode = String(given.parse_mode);
    if ((msg.text ?? msg.caption) !== undefined) entry.plain = msg.text ?? msg.caption;
    if (photo) Object.assign(entry, { photoBytes: photo.bytes, photoFileId: photo.size.file_id });
    const video = msg.video && this.videos.get(msg.video.file_id);
    if (video) entry.videoBytes = video.bytes;
    if (msg.reply_markup) entry.buttons = msg.reply_markup.inline_keyboard;
    if (msg.reply_to_message && method.startsWith('send')) entry.replyTo = msg.reply_to_message.message_id;
    this.log.push(entry);
    return msg;
  }

  private editable(p: Params): { chatId: number; msg: Message } {
    const chatId = chatIdOf(p);
    const stored = typeof p.message_id === 'number' ? this.chats.get(chatId)?.messages.get(p.message_id) : undefined;
    if (!stored) throw bad('message to edit not found');
    if (!stored.byBot) throw bad("message can't be edited");
    return { chatId, msg: stored.msg };
  }

  /** reply_parameters (or the older reply_to_message_id): the message must exist in that chat. */
  private replyTarget(chatId: number, p: Params): Message | undefined {
    const rp = p.reply_parameters ?? (p.reply_to_message_id !== undefined ? { message_id: p.reply_to_message_id } : undefined);
    if (rp === undefined) return undefined;
    if (typeof rp !== 'object' || rp === null) throw bad("can't parse reply parameters JSON object");
    const { message_id: id, chat_id: inChat, allow_sending_without_reply: anyway } = rp as Params;
    const target = typeof inChat === 'number' ? inChat : chatId;
    const found = typeof id === 'number' ? this.chats.get(target)?.messages.get(id) : undefined;
    if (!found && anyway !== true) throw bad('message to be replied not found');
    return found?.msg;
  }

  private caption(raw: unknown, parseMode: unknown): string | undefined {
    if (raw === undefined || raw === '') return undefined;
    const plain = formatted(String(raw), parseMode);
    if (plain.length > 1024) throw bad('message caption is too long');
    return plain;
  }

  /** A photo given as "attach://<part>" (an upload) or as a file_id this fake handed out. */
  private photo(ref: unknown, files: Files): { size: PhotoSize; bytes: Buffer } {
    if (typeof ref !== 'string' || ref === '') throw bad('there is no photo in the request');
    if (!ref.startsWith('attach://')) {
      const known = this.photos.get(ref);
      if (!known) throw bad('wrong file identifier/HTTP URL specified');
      return known;
    }
    const upload = files[ref.slice('attach://'.length)];
    if (!upload) throw bad(`file "${ref}" was not attached to the request`);
    if (upload.bytes.length === 0) throw bad('file must be non-empty');
    if (upload.bytes.length > 10 * 1024 * 1024) throw bad('file is too big');
    // Telegram decodes every photo: bytes that are not an image fail, so the fake refuses them too.
    const dims = imageSize(upload.bytes);
    if (!dims) throw bad('IMAGE_PROCESS_FAILED');
    if (dims.width + dims.height > 10000 || Math.max(dims.width, dims.height) > 20 * Math.min(dims.width, dims.height)) {
      throw bad('PHOTO_INVALID_DIMENSIONS');
    }
    const n = this.photos.size + 1;
    const size = {
      file_id: `fake-photo-${n}-${Date.now().toString(36)}`,
      file_unique_id: `fake-u${n}`,
      ...dims,
      file_size: upload.bytes.length,
    };
    const stored = { size, bytes: upload.bytes };
    this.photos.set(size.file_id, stored);
    return stored;
  }

  /**
   * Telegram's limits: about 1 message a second in one chat, 20 a minute in a group,
   * 30 a second overall. Every breach is recorded; with enforceLimits it is refused with
   * a 429 carrying the seconds to wait, as Telegram does, instead of being accepted.
   */
  private admit(chatId: number): void {
    const now = this.clock();
    this.recent = this.recent.filter((r) => now - r.atMs < 60_000);
    const breaches: Array<{ why: string; waitMs: number }> = [];
    const last = this.recent.findLast((r) => r.chatId === chatId);
    // 950, not 1000: 50 ms of tolerance for timer jitter in the code under test.
    if (last && now - last.atMs < 950)
      breaches.push({ why: `chat ${chatId}: 2 messages ${now - last.atMs} ms apart`, waitMs: last.atMs + 1000 - now });
    const inChat = this.recent.filter((r) => r.chatId === chatId);
    if (chatId < 0 && inChat.length >= 20) {
      breaches.push({
        why: `group chat ${chatId}: ${inChat.length + 1} messages within 60 s`,
        waitMs: inChat[inChat.length - 20]!.atMs + 60_000 - now,
      });
    }
    const inSecond = this.recent.filter((r) => now - r.atMs < 1000);
    if (inSecond.length >= 30) {
      breaches.push({
        why: `all chats: ${inSecond.length + 1} messages within 1 s`,
        waitMs: inSecond[inSecond.length - 30]!.atMs + 1000 - now,
      });
    }
    for (const b of breaches) this.violations.push(this.enforceLimits ? `${b.why} (refused with 429)` : b.why);
    if (breaches.length > 0 && this.enforceLimits) {
      const seconds = Math.max(1, Math.ceil(Math.max(...breaches.map((b) => b.waitMs)) / 1000));
      throw new ApiError(429, `Too Many Requests: retry after ${seconds}`, { retry_after: seconds });
    }
    this.recent.push({ chatId, atMs: now });
  }
}

/** A valid grayscale PNG of the given size; `shade` (0-255) makes different images. */
export function testPng(width = 1, height = 1, shade = 128): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.concat([Buffer.alloc(4), Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
    head.writeUInt32BE(data.length, 0);
    head.writeUInt32BE(crc32(head.subarray(4, 8 + data.length)), 8 + data.length);
    return head;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth 8, colour type 0 (grayscale), default compression, filter, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width, shade)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Width and height of a PNG or JPEG; undefined for anything else (the fake knows no other format). */
function imageSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') {
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  for (let i = 2; i + 9 < b.length && b[i] === 0xff; i += 2 + b.readUInt16BE(i + 2)) {
    const marker = b[i + 1]!;
    // SOF0..SOF15 carry the frame size; C4, C8 and CC are other segments in that range.
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
  }
  return undefined;
}

/**
 * Validates Telegram's HTML subset like the Bot API server (tdlib's parse_html) and returns
 * the text without markup. Stricter than Telegram on purpose where Telegram is lenient
 * but its documentation says otherwise: a bare `&` or `>` is refused (the docs require
 * &amp; and &gt;), `<a>` needs an href.
 */
export function parseHtml(html: string): string {
  const fail = (why: string, at?: number): ApiError =>
    bad(`can't parse entities: ${why}${at === undefined ? '' : ` at byte offset ${Buffer.byteLength(html.slice(0, at))}`}`);
  const TAGS = ['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'code', 'pre', 'a', 'tg-spoiler', 'blockquote', 'span'];
  const open: string[] = [];
  let plain = '';
  for (let i = 0; i < html.length;) {
    const c = html[i]!;
    if (c === '&') {
      const e = /^&(?:(lt|gt|amp|quot)|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));/.exec(html.slice(i, i + 12));
      const code = e ? (e[1] ? { lt: 60, gt: 62, amp: 38, quot: 34 }[e[1] as 'lt'] : parseInt(e[2] ?? e[3]!, e[2] ? 10 : 16)) : 0;
      if (!e || code === 0 || code > 0x10ffff) throw fail('character entity expected after "&"', i);
      plain += String.fromCodePoint(code);
      i += e[0].length;
    } else if (c === '>') {
      throw fail('unescaped ">" (write &gt;)', i);
    } else if (c !== '<') {
      plain += c;
      i++;
    } else if (html[i + 1] === '/') {
      const end = html.indexOf('>', i);
      if (end < 0) throw fail('Unclosed end tag', i);
      const name = html
        .slice(i + 2, end)
        .trim()
        .toLowerCase();
      const expected = open.pop();
      if (expected === undefined) throw fail('Unexpected end tag', i);
      if (name !== expected)
        throw fail(
          `Unmatched end tag at byte offset ${Buffer.byteLength(html.slice(0, i))}, expected "</${expected}>", found "</${name}>"`,
        );
      i = end + 1;
    } else {
      const name = /^<([^\s>]*)/.exec(html.slice(i))![1]!.toLowerCase();
      if (!TAGS.includes(name)) throw fail(`Unsupported start tag "${name}"`, i);
      const attrs = new Map<string, string>();
      const attr = /\s+([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/y;
      let j = i + 1 + name.length;
      for (;;) {
        attr.lastIndex = j;
        const a = attr.exec(html);
        if (!a) break;
        attrs.set(a[1]!.toLowerCase(), a[2] ?? a[3] ?? a[4] ?? '');
        j = attr.lastIndex;
      }
      while (/\s/.test(html[j] ?? '')) j++;
      if (html[j] !== '>') throw fail('Unclosed start tag', i);
      if (name === 'a' && !attrs.get('href')) throw fail('Tag "a" must have attribute "href"', i);
      if (name === 'span' && attrs.get('class') !== 'tg-spoiler') throw fail('Tag "span" must have class "tg-spoiler"', i);
      open.push(name);
      i = j + 1;
    }
  }
  if (open.length > 0) throw fail(`Can't find end tag corresponding to start tag "${open[open.length - 1]}"`);
  return plain;
}

function formatted(text: string, parseMode: unknown): string {
  if (parseMode === undefined || parseMode === '') return text;
  const mode = String(parseMode).toLowerCase();
  if (mode === 'html') return parseHtml(text);
  if (mode === 'markdown' || mode === 'markdownv2') return text; // not validated by the fake
  throw bad('unsupported parse_mode');
}

function chatIdOf(p: Params): number {
  if (p.chat_id === undefined || p.chat_id === '') throw bad('chat_id is empty');
  if (typeof p.chat_id !== 'number' || !Number.isSafeInteger(p.chat_id) || p.chat_id === 0) throw bad('chat not found');
  return p.chat_id;
}

function edited(msg: Message, caption: string | undefined): Message {
  if (caption === undefined) delete msg.caption;
  else msg.caption = caption;
  msg.edit_date = unixNow();
  return msg;
}

const chatOf = (id: number): Message['chat'] => ({ id, type: id < 0 ? 'group' : 'private' });
const unixNow = (): number => Math.floor(Date.now() / 1000);

/**
 * reply_markup as an inline keyboard, checked as Telegram checks it: rows of buttons, each with
 * a text and exactly one action; callback_data 1-64 bytes (BUTTON_DATA_INVALID), url http(s) or
 * tg:// (BUTTON_URL_INVALID). Other markup kinds (reply keyboards) are not ours to send.
 */
function inlineKeyboard(markup: unknown): { inline_keyboard: InlineKeyboardButton[][] } | undefined {
  if (markup === undefined) return undefined;
  if (typeof markup !== 'object' || markup === null) throw bad("can't parse reply keyboard markup JSON object");
  const rows = (markup as { inline_keyboard?: unknown }).inline_keyboard;
  if (!Array.isArray(rows) || !rows.every(Array.isArray))
    throw bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
  for (const b of rows.flat() as Array<Record<string, unknown>>) {
    if (typeof b?.text !== 'string' || b.text === '') throw bad('text buttons are unallowed in the inline keyboard');
    const actions = ['url', 'callback_data', 'web_app', 'login_url', 'switch_inline_query', 'copy_text', 'pay'].filter((k) => k in b);
    if (actions.length !== 1) throw bad('text buttons are unallowed in the inline keyboard');
    if ('callback_data' in b) {
      const n = typeof b.callback_data === 'string' ? Buffer.byteLength(b.callback_data) : 0;
      if (n < 1 || n > 64) throw bad('BUTTON_DATA_INVALID');
    }
    if ('url' in b) {
      let ok = false;
      try {
        const u = new URL(String(b.url));
        ok = (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'tg:') && String(b.url).length <= 2048;
      } catch {
        ok = false;
      }
      if (!ok) throw bad('BUTTON_URL_INVALID');
    }
  }
  return { inline_keyboard: rows as InlineKeyboardButton[][] };
}
