/**
 * The dashboard's live feed across runtimes (issue 21, item 5). Each runtime shows its browsers
 * the records its own store committed (sqlite-events output 1 → dashboard-feed → the hub). With
 * several runtimes on one PostgreSQL, a browser must also see what the others committed: each
 * runtime NOTIFYs what it showed, and LISTENs for what the others showed.
 *
 * What travels: the feed messages themselves (nodes/lib/contract/feed.ts: kind, device, event
 * id, times, a few figures; never raw payloads), packed into notifications of at most
 * MAX_PAYLOAD_BYTES (PostgreSQL refuses 8000 bytes or more) as `{"o": origin, "m": [messages]}`.
 * The receiver shows them as they are, without reading anything back. `origin` is this
 * process's random id: a runtime skips its own notifications, which it has shown already.
 *
 * NOTIFY reaches the sessions listening when it commits; a listener that was disconnected
 * misses what was sent meanwhile (the dashboard's lists, read from the store, have it). The
 * LISTEN session reconnects with backoff and says so in the log, both when it is lost and
 * when it listens again.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FeedMessage } from '../contract/feed';
import { backoffMs } from '../backoff';
import { PgConnection, scrubbed } from '../store/postgres';

export const FEED_CHANNEL = 'picam_feed';
/** PostgreSQL's limit is 8000 bytes; the rest is room for nothing surprising. */
export const MAX_PAYLOAD_BYTES = 7900;
/** A message too long for a notification has its texts cut to this many characters. */
const SHORT_TEXT = 200;

const FEED_TYPES = new Set<FeedMessage['type']>([
  'sensor',
  'event-start',
  'event-end',
  'camera-state',
  'connection',
  'heartbeat',
  'command',
  'stream-health',
]);

interface Envelope {
  /** the sending runtime's origin id */
  o: string;
  m: FeedMessage[];
}

export interface SharedFeedOptions {
  url: string;
  /** shows a message another runtime committed on this runtime's feed */
  deliver(message: FeedMessage): void;
  log?: (message: string) => void;
  warn?: (message: string) => void;
}

export interface SharedFeedStats {
  /** messages NOTIFYed */
  sent: number;
  /** messages from other runtimes shown here */
  received: number;
  /** messages that could not be sent (too large even shortened, or the database refused twice) */
  dropped: number;
  /** times the LISTEN session was lost */
  reconnects: number;
}

export class SharedFeed {
  /** this process's id in the notifications it sends */
  readonly origin = randomBytes(8).toString('hex');
  readonly stats: SharedFeedStats = { sent: 0, received: 0, dropped: 0, reconnects: 0 };
  /** the server process of the LISTEN session (tests terminate it) */
  listenerPid?: number;
  private queue: string[] = [];
  private flushing?: Promise<void>;
  private sender?: Promise<PgConnection>;
  private listener?: pg.Client;
  private listeningNow = false;
  private lostSinceMs?: number;
  private closed = false;
  private retryTimer?: NodeJS.Timeout;
  private waiters: Array<() => void> = [];

  constructor(private readonly opts: SharedFeedOptions) {
    void this.listen(0);
  }

  get listening(): boolean {
    return this.listeningNow;
  }

  /** Resolves once the LISTEN session is up (at once when it is). */
  whenListening(): Promise<void> {
    return this.listeningNow ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends a message this runtime has shown (committed by its store) to the other runtimes. */
  publish(message: FeedMessage): void {
    if (this.closed || message.type === 'hello') return;
    const text = fitted(message);
    if (!text) {
      this.stats.dropped++;
      this.opts.warn?.(`live feed: a ${message.type} message is too large for a notification even shortened; not sent to other runtimes`);
      return;
    }
    this.queue.push(text);
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
  }

  /** Sends what is queued, then ends both sessions. Safe twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushing;
    this.closed = true;
    clearTimeout(this.retryTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined /* lost already */);
    const sender = await this.sender?.catch(() => undefined);
    await sender?.close();
  }

  /** One statement per round: every queued message, packed into as few notifications as fit. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const payloads = pack(this.origin, batch);
      try {
        await this.notify(payloads).catch(() => this.notify(payloads)); // once more, on a fresh connection
        this.stats.sent += batch.length;
      } catch (err) {
        this.stats.dropped += batch.length;
        this.opts.warn?.(`live feed: ${batch.length} message(s) not sent to other runtimes: ${scrubbed(err, this.opts.url).message}`);
      }
    }
  }

  private async notify(payloads: string[]): Promise<void> {
    this.sender ??= PgConnection.open({ url: this.opts.url, applicationName: 'picam-guardian feed sender' });
    const conn = await this.sender.catch((err: Error) => {
      this.sender = undefined; // the next flush tries again
      throw err;
    });
    await conn.run('SELECT pg_notify(?, p) FROM jsonb_array_elements_text(?::jsonb) AS x(p)', [FEED_CHANNEL, JSON.stringify(payloads)]);
  }

  private async listen(attempt: number): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.opts.url, application_name: 'picam-guardian feed listener', keepAlive: true });
    client.on('notification', (n) => n.channel === FEED_CHANNEL && this.received(n.payload));
    client.on('error', (err) => this.lost(client, scrubbed(err, this.opts.url).message));
    client.on('end', () => this.lost(client, 'the connection ended'));
    try {
      await client.connect();
      this.listenerPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await client.query(`LISTEN ${FEED_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined /* never connected */);
      if (this.closed) return;
      if (attempt === 0)
        this.opts.warn?.(`live feed: cannot LISTEN for other runtimes' records: ${scrubbed(err, this.opts.url).message}; retrying`);
      this.retry(attempt + 1);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    this.listeningNow = true;
    if (this.lostSinceMs !== undefined) {
      const s = ((Date.now() - this.lostSinceMs) / 1000).toFixed(1);
      this.opts.log?.(`live feed: listening again after ${s} s; what other runtimes committed meanwhile was not shown live`);
    }
    this.lostSinceMs = undefined;
    for (const w of this.waiters.splice(0)) w();
  }

  private lost(client: pg.Client, reason: string): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.listeningNow = false;
    this.listenerPid = undefined;
    void client.end().catch(() => undefined /* lost already */);
    if (this.closed) return;
    this.stats.reconnects++;
    this.lostSinceMs = Date.now();
    this.opts.warn?.(`live feed: lost the LISTEN connection to PostgreSQL (${reason}); reconnecting`);
    this.retry(1);
  }

  private retry(attempt: number): void {
    this.retryTimer = setTimeout(() => void this.listen(attempt), backoffMs(attempt, { baseMs: 250, maxMs: 10_000 }));
  }

  private received(payload: string | undefined): void {
    const envelope = parsed(payload);
    if (!envelope) {
      this.opts.warn?.(`live feed: ignored a notification on ${FEED_CHANNEL} that is not one of ours`);
      return;
    }
    if (envelope.o === this.origin) return; // shown here already, when it was committed
    for (const m of envelope.m) {
      this.stats.received++;
      this.opts.deliver(m);
    }
  }
}

/** The message as JSON short enough for a notification of its own, or undefined. */
export function fitted(message: FeedMessage): string | undefined {
  const room = MAX_PAYLOAD_BYTES - 64; // the envelope around it
  let text = JSON.stringify(message);
  if (Buffer.byteLength(text) <= room) return text;
  // Only device-given texts (names, ids, types) can make it long: they are cut, the figures kept.
  const short = Object.fromEntries(Object.entries(message).map(([k, v]) => [k, typeof v === 'string' ? v.slice(0, SHORT_TEXT) : v]));
  text = JSON.stringify(short);
  return Buffer.byteLength(text) <= room ? text : undefined;
}

/** Messages (JSON each) → notification payloads of at most MAX_PAYLOAD_BYTES, in order. */
export function pack(origin: string, messages: readonly string[]): string[] {
  const head = `{"o":${JSON.stringify(origin)},"m":[`;
  const payloads: string[] = [];
  let parts: string[] = [];
  let bytes = Buffer.byteLength(head) + 2;
  for (const m of messages) {
    const size = Buffer.byteLength(m) + 1;
    if (parts.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) {
      payloads.push(`${head}${parts.join(',')}]}`);
      parts = [];
      bytes = Buffer.byteLength(head) + 2;
    }
    parts.push(m);
    bytes += size;
  }
  if (parts.length > 0) payloads.push(`${head}${parts.join(',')}]}`);
  return payloads;
}

function parsed(payload: string | undefined): Envelope | undefined {
  try {
    const e = JSON.parse(payload ?? '') as Partial<Envelope>;
    if (typeof e.o !== 'string' || !Array.isArray(e.m)) return undefined;
    const ok = (e.m as unknown[]).every(
      (m) => typeof m === 'object' && m !== null && FEED_TYPES.has((m as { type?: unknown }).type as FeedMessage['type']),
    );
    return ok ? (e as Envelope) : undefined;
  } catch {
    return undefined; // not JSON: someone else's NOTIFY on our channel, said by the caller
  }
}
