/**
 * Where each alert channel sends, as the admin page sets it (issue 23): the Telegram bot token
 * and chats, the webhook URL, the ntfy server, topic and token, the Pushover keys. What the page
 * sets wins over the node's own settings and credentials (`${ENV}` from cloud.env), which stay
 * the default for every field the page leaves alone or clears. Secrets are write-only: the
 * server keeps them sealed with the runtime's credential secret (secret-box.ts) and answers
 * only whether one is set and a harmless hint (its last characters, or a URL's host).
 * Checked here, so the page and the server refuse the same values with the same reasons.
 * Browser-safe.
 */
import { SettingsProblem, type AlertChannel, type ConnectionView } from './admin-settings';

export interface ConnectionField {
  name: string;
  label: string;
  /** never sent back: the page gets `set` and a hint */
  secret: boolean;
  /** what a good value looks like, for the page's placeholder */
  example: string;
  /** the value as stored (trimmed, lists normalised); throws SettingsProblem with the reason */
  check(value: string): string;
}

const MAX_TEXT = 2000;
const bad = (m: string) => new SettingsProblem(m);

/** A user or group id (groups are negative), or a public channel's @username. */
export const CHAT_ID = /^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$/;
export const TELEGRAM_TOKEN = /^\d+:[A-Za-z0-9_-]{30,}$/;
export const NTFY_TOPIC = /^[-_A-Za-z0-9]{1,64}$/;
export const PUSHOVER_KEY = /^[A-Za-z0-9]{30}$/;
const PRINTABLE = /^[\x21-\x7e]{1,500}$/;

/** An http(s) URL; `plain`: no login and no query (a server address shown on the page). */
function httpUrl(label: string, plain: boolean) {
  return (value: string): string => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw bad(`${label} is not a URL (expected http://… or https://…)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`${label} must start with http:// or https://`);
    if (/\s/.test(value)) throw bad(`${label} must not contain spaces`);
    if (plain && (url.username || url.password || url.search))
      throw bad(`${label} must be a plain address, without a login or a query (the access token has its own field)`);
    return plain ? value.replace(/\/+$/, '') : value;
  };
}

function matching(label: string, shape: RegExp, reason: string) {
  return (value: string): string => {
    if (!shape.test(value)) throw bad(`${label} ${reason}`);
    return value;
  };
}

function chatIds(value: string): string {
  const ids = [...new Set(value.split(/[\s,;]+/).filter(Boolean))];
  const wrong = ids.filter((id) => !CHAT_ID.test(id));
  if (wrong.length) throw bad(`chat ids must be numbers or @channel names; not a chat id: ${wrong.slice(0, 5).join(', ')}`);
  if (ids.length === 0 || ids.length > 50) throw bad('chat ids must list 1 to 50 chats');
  return ids.join(', ');
}

export const CONNECTION_FIELDS: Record<AlertChannel, ConnectionField[]> = {
  telegram: [
    {
      name: 'botToken',
      label: 'Bot token',
      secret: true,
      example: '123456789:AA… from @BotFather',
      check: matching(
        'the bot token',
        TELEGRAM_TOKEN,
        'must look like 123456789:AA… (digits, a colon, 30 or more letters, digits, _ or -)',
      ),
    },
    { name: 'chatIds', label: 'Chat ids', secret: false, example: '12345, -100987654321, @my_channel', check: chatIds },
  ],
  // The whole URL is secret: its path or query often is the receiver's key.
  webhook: [
    { name: 'url', label: 'Webhook URL', secret: true, example: 'https://hub.example/hook/…', check: httpUrl('the webhook URL', false) },
  ],
  ntfy: [
    { name: 'server', label: 'ntfy server', secret: false, example: 'https://ntfy.sh', check: httpUrl('the ntfy server', true) },
    {
      name: 'topic',
      label: 'ntfy topic',
      secret: false,
      example: 'my-cameras',
      check: matching('the ntfy topic', NTFY_TOPIC, 'must be 1 to 64 letters, digits, - or _'),
    },
    {
      name: 'token',
      label: 'ntfy access token',
      secret: true,
      example: 'tk_…',
      check: matching('the ntfy access token', PRINTABLE, 'must be printable characters without spaces'),
    },
  ],
  pushover: [
    {
      name: 'appToken',
      label: 'Pushover API token',
      secret: true,
      example: '30 letters and digits',
      check: matching('the Pushover API token', PUSHOVER_KEY, 'must be 30 letters and digits, as Pushover makes them'),
    },
    {
      name: 'userKey',
      label: 'Pushover user key',
      secret: true,
      example: '30 letters and digits',
      check: matching('the Pushover user key', PUSHOVER_KEY, 'must be 30 letters and digits, as Pushover makes them'),
    },
  ],
  // Web Push needs nothing: its keys are made at install.
  webpush: [],
};

/** The store's key of a channel's connection (beside its noise control, alertScope). */
export const connectionScope = (channel: AlertChannel) => `alerts.${channel}.connection`;

/** A change as sent: a field's new value, or null for the environment's default again; absent fields stay. */
export type ConnectionChange = Record<string, string | null>;

/** Checks a change for `channel`; throws SettingsProblem with the reason. */
export function parseConnectionChange(channel: AlertChannel, body: unknown): ConnectionChange {
  const fields = CONNECTION_FIELDS[channel];
  if (fields.length === 0) throw bad(`${channel} has no connection settings (its keys are made at install)`);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('send a JSON object');
  const o = body as Record<string, unknown>;
  const known = fields.map((f) => f.name);
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  if (extra.length) throw bad(`unknown ${channel} setting ${extra.map((k) => JSON.stringify(k)).join(', ')} (known: ${known.join(', ')})`);
  const out: ConnectionChange = {};
  for (const f of fields) {
    const v = o[f.name];
    if (v === undefined) continue;
    if (v === null) {
      out[f.name] = null;
      continue;
    }
    if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_TEXT)
      throw bad(`${f.label.toLowerCase()} must be text of 1 to ${MAX_TEXT} characters, or null for the environment's`);
    out[f.name] = f.check(v.trim());
  }
  return out;
}

/** A secret as stored: sealed (secret-box.ts), with the hint the page shows. */
export interface SealedValue {
  sealed: string;
  hint: string;
}
/** A channel's connection as stored: plain fields as text, secrets sealed. */
export type StoredConnection = Record<string, string | SealedValue>;

export const isSealedValue = (v: unknown): v is SealedValue =>
  !!v && typeof v === 'object' && typeof (v as SealedValue).sealed === 'string' && typeof (v as SealedValue).hint === 'string';

/** What the page may see of a secret: a URL's host, or the last 4 characters of a token or key. */
export function secretHint(value: string): string {
  if (/^https?:\/\//i.test(value)) {
    try {
      return new URL(value).host;
    } catch {
      return 'a URL';
    }
  }
  return value.length > 12 ? `…${value.slice(-4)}` : 'set';
}

/** The stored connection as GET answers it: never a secret's value. */
export function connectionView(channel: AlertChannel, stored: Record<string, unknown>): ConnectionView {
  const view: ConnectionView = {};
  for (const f of CONNECTION_FIELDS[channel]) {
    const v = stored[f.name];
    if (f.secret) view[f.name] = isSealedValue(v) ? { set: true, hint: v.hint } : { set: false };
    else view[f.name] = typeof v === 'string' ? { set: true, value: v } : { set: false };
  }
  return view;
}

/** "bot token changed; chat ids 12345" — the audit's words: a secret is only "changed". */
export function describeConnectionChange(channel: AlertChannel, change: ConnectionChange): string {
  const parts = CONNECTION_FIELDS[channel].flatMap((f) => {
    const v = change[f.name];
    if (v === undefined) return [];
    const what = f.label.toLowerCase();
    if (v === null) return [`${what} back to the environment's`];
    return [f.secret ? `${what} changed` : `${what} ${v}`];
  });
  return parts.length ? parts.join('; ') : 'nothing changed';
}
