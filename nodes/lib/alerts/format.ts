/**
 * How an alert reads in a chat: Telegram HTML (tags b, i, code only), a photo
 * caption, and a plain line for logs and status text. Input comes from any flow,
 * so nothing here trusts a field's type, and nothing throws on an odd alert.
 */
import type { Alert } from '../types';

export interface FormatOptions {
  /** IANA zone; default: the process's */
  timeZone?: string;
  /** default 'en-GB' */
  locale?: string;
}

export interface FormattedAlert {
  /** the message, HTML parse mode, ≤ 4096 chars */
  html: string;
  /** the same for a photo caption, ≤ 1024 chars */
  caption: string;
  /** no markup, one or two lines */
  plain: string;
}

const MESSAGE_MAX = 4096;
const CAPTION_MAX = 1024;
// Plain text lands in logs and node status: a hostile 1 MB "text" must not.
const PLAIN_MAX = 1024;
// One digest line may not crowd out the others.
const DIGEST_LINE_MAX = 400;

type Tag = 'b' | 'i' | 'code';
/**
 * Text stays raw until rendering, so shortening cuts characters before they are
 * escaped: an entity or a tag can never be cut in half. `fixed` is our own text.
 */
type Piece = { text: string; tag?: Tag; fixed?: boolean };
type Line = Piece[];

/** `head` is the headline (bold unless it is a flow's free text); `what` is the same without the device name, for digests. */
type Described = { icon: string; head: Piece[]; what: Piece[]; details: Piece[] };

export function formatAlert(alert: Alert, opts: FormatOptions = {}): FormattedAlert {
  const a: Partial<Alert> = isObject(alert) ? alert : {};
  const d = describe(a);
  const time: Piece = { text: localTime(a.timeMs as number, opts), fixed: true };
  const first: Line = [{ text: `${d.icon} ${a.severity === 'critical' ? '‼️ ' : ''}`, fixed: true }, ...d.head];
  const html = (): Line[] => clone([first, [{ ...time, tag: 'i' }], ...(d.details.length ? [d.details] : [])]);
  const plain = clone([[...first, { text: ' · ', fixed: true }, time], ...(d.details.length ? [d.details] : [])]);
  return { html: fit(html(), MESSAGE_MAX, true), caption: fit(html(), CAPTION_MAX, true), plain: fit(plain, PLAIN_MAX, false) };
}

export function formatDigest(alerts: readonly Alert[], opts: FormatOptions = {}): { html: string; included: number } {
  const total = alerts.length;
  if (total === 0) return { html: '', included: 0 };
  const header = (n: number) => `🔔 <b>${n < total ? `${n} of ${total}` : total} alert${total === 1 ? '' : 's'}</b>`;
  let room = MESSAGE_MAX - header(total - 1).length;
  const lines: string[] = [];
  for (const alert of alerts) {
    const a: Partial<Alert> = isObject(alert) ? alert : {};
    const d = describe(a);
    const line: Line = [
      { text: `${d.icon} ${a.severity === 'critical' ? '‼️ ' : ''}`, fixed: true },
      { text: deviceName(a), tag: 'b' },
      { text: ': ', fixed: true },
      ...d.what,
      { text: ' · ', fixed: true },
      { text: localTime(a.timeMs as number, opts), tag: 'i', fixed: true },
    ];
    const html = fit(clone([line]), DIGEST_LINE_MAX, true);
    if (html.length + 1 > room) break;
    room -= html.length + 1;
    lines.push(html);
  }
  return { html: [header(lines.length), ...lines].join('\n'), included: lines.length };
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();
// hourCycle, not hour12:false, which prints "24:05" in some locales
const TIME_FIELDS = {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
} as const;

/** "Fri 27 Nov, 02:28:58": the date too, so an alert delivered late is not misread. */
export function localTime(ms: number, opts: FormatOptions = {}): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return 'unknown time';
  const locale = opts.locale ?? 'en-GB';
  const key = `${locale}\u0000${opts.timeZone ?? ''}`;
  let f = timeFormats.get(key);
  if (!f) {
    // Building a formatter costs far more than using one; a digest uses one per line.
    if (timeFormats.size >= 16) timeFormats.clear();
    f = new Intl.DateTimeFormat(locale, { ...TIME_FIELDS, timeZone: opts.timeZone });
    timeFormats.set(key, f);
  }
  return f.format(ms);
}

/** "12 s", "4 min 12 s", "3 h 5 min" */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  const min = Math.floor(s / 60) % 60;
  return `${Math.floor(s / 3600)} h${min ? ` ${min} min` : ''}`;
}

/** Activity types as devices report them (VBC01: MOTION, MOTION_SMART, AUDIO_ALL; seed 004) and how they read. */
const ACTIVITIES: Record<string, { icon: string; what?: string }> = {
  MOTION: { icon: '🏃' },
  MOTION_SMART: { icon: '🧍', what: 'Smart motion' },
  AUDIO_ALL: { icon: '🔊', what: 'Sound' },
  PERSON: { icon: '🧍' },
  SOUND: { icon: '🔊' },
  VEHICLE: { icon: '🚗' },
  PET: { icon: '🐾' },
  ANIMAL: { icon: '🐾' },
};
const SENSOR_ICONS: Record<string, string> = { temperature: '🌡️', humidity: '💧', pressure: '🧭' };

function describe(a: Partial<Alert>): Described {
  const name = deviceName(a);
  const bold = (text: string): Piece[] => [{ text, tag: 'b' }];
  const plain = (text: string): Piece[] => [{ text }];
  switch (a.kind) {
    case 'activity': {
      const type = clean(a.activityType).toUpperCase() || 'MOTION';
      const known = ACTIVITIES[type];
      const what = known?.what ?? words(type);
      const details: Piece[] = [];
      const mode = clean(a.mode);
      if (mode) details.push({ text: 'Mode: ', fixed: true }, { text: mode });
      const eventId = clean(a.eventId);
      if (eventId) details.push({ text: `${details.length ? ' · ' : ''}Event `, fixed: true }, { text: eventId, tag: 'code' });
      return { icon: known?.icon ?? '⚠️', head: bold(`${what} at ${name}`), what: plain(what), details };
    }
    case 'camera-online':
      return { icon: '✅', head: bold(`${name} is back online`), what: plain('back online'), details: [] };
    case 'camera-offline':
      return { icon: '📴', head: bold(`${name} went offline`), what: plain('went offline'), details: [] };
    case 'stream-down':
    case 'stream-up': {
      const up = a.kind === 'stream-up';
      const stream: Record<string, unknown> = isObject(a.stream) ? a.stream : {};
      const path = clean(stream.path);
      const details: Piece[] = path
        ? [
            { text: 'Path ', fixed: true },
            { text: path, tag: 'code' },
          ]
        : [];
      const downFor = stream.downForMs;
      if (up && typeof downFor === 'number' && Number.isFinite(downFor) && downFor >= 0) {
        details.push({ text: `${details.length ? ' · ' : ''}down for ${humanDuration(downFor)}`, fixed: true });
      }
      const what = up ? 'Stream back' : 'Stream down';
      return { icon: up ? '🟢' : '🔴', head: bold(`${what}: ${name}`), what: plain(what), details };
    }
    case 'sensor-out-of-range': {
      const s: Record<string, unknown> = isObject(a.sensor) ? a.sensor : {};
      const metric = clean(s.metric).toLowerCase();
      const unit = clean(s.unit);
      const u = unit ? ` ${unit}` : '';
      const value = finite(s.value);
      const [min, max] = [finite(s.min), finite(s.max)];
      const what = `${words(metric) || 'Sensor reading'} ${value === undefined ? 'out of range' : `${value.toFixed(1)}${u}`}`;
      const limit = (x: number) => `${Number(x.toFixed(1))}${u}`;
      let detail = '';
      if (value !== undefined && max !== undefined && value > max) detail = `above the ${limit(max)} limit`;
      else if (value !== undefined && min !== undefined && value < min) detail = `below the ${limit(min)} limit`;
      const details: Piece[] = detail ? [{ text: detail }] : [];
      return { icon: SENSOR_ICONS[metric] ?? '⚠️', head: bold(`${what} at ${name}`), what: plain(what), details };
    }
    default: {
      // 'text', and any kind a flow made up: the alert's own line is all we can say.
      const icon = a.kind === 'text' ? 'ℹ️' : '⚠️';
      const text = clean(a.text);
      if (!text) return { icon, head: bold(`Alert from ${name}`), what: plain('Alert'), details: [] };
      const from: Piece[] = text.includes(name) ? [] : [{ text: 'from ', fixed: true }, { text: name }];
      return { icon, head: plain(text), what: plain(text), details: from };
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function deviceName(a: Partial<Alert>): string {
  return clean(a.deviceName) || clean(a.deviceId) || 'unknown device';
}

/**
 * A device's string, made safe to lay out: control characters (a newline in a
 * name would break the one-line layout) become spaces, and lone surrogates,
 * which Telegram rejects as invalid UTF-8, become U+FFFD.
 */
function clean(v: unknown): string {
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
  return s
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .trim();
}

/** LINE_CROSSING → "Line crossing" */
function words(type: string): string {
  const w = type.toLowerCase().replace(/[_-]+/g, ' ').trim();
  return w.charAt(0).toUpperCase() + w.slice(1);
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** What a reader sees of our HTML: no tags, entities decoded. */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function clone(lines: Line[]): Line[] {
  return lines.map((line) => line.map((p) => ({ ...p })));
}

function renderPiece(p: Piece, html: boolean): string {
  if (!html) return p.text;
  const text = escapeHtml(p.text);
  return p.tag ? `<${p.tag}>${text}</${p.tag}>` : text;
}

function render(lines: Line[], html: boolean): string {
  return lines.map((line) => line.map((p) => renderPiece(p, html)).join('')).join('\n');
}

/**
 * Render within `max` chars: while too long, cut the longest device text and
 * end it with "…". The longest is what overflows (a huge name or free text), so
 * the icon, time and details usually survive.
 */
function fit(lines: Line[], max: number, html: boolean): string {
  let out = render(lines, html);
  while (out.length > max) {
    let longest: Piece | undefined;
    for (const p of lines.flat()) if (!p.fixed && p.text.length > 1 && (!longest || p.text.length > longest.text.length)) longest = p;
    if (!longest) break; // our own text alone is far below any limit
    const inner = renderPiece({ text: longest.text }, html).length;
    longest.text = cut(longest.text, inner - (out.length - max), html);
    out = render(lines, html);
  }
  return out;
}

/** The longest prefix whose rendering plus "…" takes at most `budget` chars, never splitting a character. */
function cut(text: string, budget: number, html: boolean): string {
  let used = 1; // the ellipsis
  let end = 0;
  for (const ch of text) {
    const size = html ? escapeHtml(ch).length : ch.length;
    if (used + size > budget) break;
    used += size;
    end += ch.length;
  }
  return `${text.slice(0, end).trimEnd()}…`;
}
