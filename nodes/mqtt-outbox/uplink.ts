/**
 * The Pi's one MQTT connection to the cloud: everything it publishes goes
 * through the outbox (committed first, sent with QoS 1 in the outbox's order,
 * deleted after the broker's PUBACK); its birth, Last Will and goodbye keep
 * the retained online/offline message; its subscription brings the commands.
 *
 * Order: the sender walks the outbox by sequence number with at most
 * `maxInFlight` messages unacknowledged, so a backlog goes out oldest first
 * and a new message never overtakes it. When the connection drops, mqtt.js
 * keeps the unacknowledged messages and resends them first on reconnect (it
 * emits `connect` only after that), then the walk resumes where it was. After
 * a restart the walk starts again from the oldest row: a message whose PUBACK
 * was lost goes again, and the cloud stores it once (natural keys, migration 6).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { OutboxStore, QueuedMessage } from './outbox-store';

export interface Announcement {
  topic: string;
  payload: string;
}

export interface UplinkOptions {
  url: string;
  /** login, client id, keep-alive, TLS, reconnect period; `will` and `clean` are set here */
  client: IClientOptions;
  /** published retained on every connect (the "online" message) */
  birth?: Announcement;
  /** the Last Will, and published retained on a clean close */
  goodbye?: Announcement;
  /** topic filter whose messages `onMessage` receives */
  subscribe?: string;
  maxInFlight: number;
  /** how long close() waits for outstanding PUBACKs and the goodbye */
  closeWaitMs?: number;
  /** how often messages past the age bound are dropped */
  expireEveryMs?: number;
}

export type LinkState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface UplinkEvents {
  /** connection state changes; `detail` is the broker's or the network's last error */
  onState(state: LinkState, detail?: string): void;
  /** the backlog changed (a message queued, acknowledged or dropped) */
  onProgress(): void;
  onMessage(topic: string, payload: Buffer, retain: boolean): void;
  /** a failure no message waits for (reading or cleaning the outbox) */
  onError(err: Error): void;
}

export interface UplinkSummary {
  state: LinkState;
  detail?: string;
  queued: number;
  oldestMs?: number;
  inFlight: number;
  /** acknowledged by the broker since start */
  delivered: number;
  /** why the outbox file cannot be written now, while messages wait in memory for it */
  writeProblem?: string;
  held: number;
}

const RETRY_READ_MS = 5000;

export class Uplink {
  private client?: MqttClient;
  private state: LinkState = 'connecting';
  private detail?: string;
  /** the highest sequence number handed to the client */
  private cursor = 0;
  private readonly inFlight = new Set<number>();
  /** acknowledged, delete pending: never sent again, even after a rewind */
  private readonly acked = new Set<number>();
  private removing?: Promise<void>;
  private pumping = false;
  private again = false;
  private closing?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private expireTimer?: NodeJS.Timeout;
  private delivered = 0;

  constructor(
    private readonly store: OutboxStore,
    private readonly opts: UplinkOptions,
    private readonly events: UplinkEvents,
    private readonly connect: typeof mqtt.connect = mqtt.connect,
  ) {}

  start(): void {
    const { goodbye } = this.opts;
    const client = this.connect(this.opts.url, {
      ...this.opts.client,
      clean: true,
      // Subscriptions are renewed in onConnect, once, whether or not the broker kept the session.
      resubscribe: false,
      will: goodbye ? { topic: goodbye.topic, payload: Buffer.from(goodbye.payload), qos: 1, retain: true } : undefined,
    });
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('reconnect', () => this.setState('connecting'));
    client.on('close', () => this.setState('disconnected'));
    client.on('error', (err) => {
      this.detail = err.message;
      this.events.onState(this.state, this.detail);
    });
    client.on('message', (topic, payload, packet) => this.events.onMessage(topic, payload, packet.retain));
    const expire = () =>
      this.store.expire().then(
        () => this.events.onProgress(),
        (err: Error) => this.events.onError(err),
      );
    void expire();
    this.expireTimer = setInterval(() => void expire(), this.opts.expireEveryMs ?? 60_000);
  }

  /** Resolves once the message is committed to the outbox; it is sent when the broker can take it. */
  async publish(topic: string, payload: Buffer): Promise<void> {
    if (this.closing) throw new Error('the MQTT outbox is closing');
    await this.store.append(topic, payload);
    this.events.onProgress();
    void this.pump();
  }

  summary(): UplinkSummary {
    const s = this.store.stats();
    return {
      state: this.state,
      detail: this.detail,
      queued: s.count,
      oldestMs: s.oldestMs,
      inFlight: this.inFlight.size,
      delivered: this.delivered,
      writeProblem: s.writeProblem,
      held: s.held,
    };
  }

  /**
   * Stops sending, waits a moment for outstanding PUBACKs, says goodbye and
   * disconnects. What is not acknowledged stays in the outbox for the next
   * start. Safe to call twice; the caller closes the store afterwards.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    clearTimeout(this.retryTimer);
    clearInterval(this.expireTimer);
    const client = this.client;
    const waitMs = this.opts.closeWaitMs ?? 2000;
    if (client && this.state === 'connected') {
      await until(() => this.inFlight.size === 0, waitMs);
      const { goodbye } = this.opts;
      if (goodbye)
        await within(
          waitMs,
          client.publishAsync(goodbye.topic, goodbye.payload, { qos: 1, retain: true }).catch(() => undefined),
        );
    }
    if (client) {
      // A clean DISCONNECT when we can (the broker then discards the Last Will); forced when not.
      const ended = new Promise<void>((resolve) => client.end(this.state !== 'connected', {}, () => resolve()));
      if (!(await within(waitMs, ended))) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    }
    await this.removing;
    this.setState('closed');
  }

  private onConnect(): void {
    const client = this.client!;
    this.detail = undefined;
    const { birth, subscribe } = this.opts;
    if (birth) {
      client.publish(birth.topic, birth.payload, { qos: 1, retain: true }, (err) => {
        if (err && !this.closing) this.events.onError(new Error(`online message not sent: ${err.message}`));
      });
    }
    if (subscribe) {
      client.subscribe(subscribe, { qos: 1 }, (err, granted) => {
        // SUBACK 0x80 (MQTT 3.1.1 §3.9.3): the broker refused the filter, e.g. by its ACL.
        const refused = err?.message ?? (granted?.[0]?.qos === 128 ? `the broker refused the subscription to ${subscribe}` : undefined);
        if (refused && !this.closing) this.events.onError(new Error(refused));
      });
    }
    this.setState('connected');
    void this.pump();
  }

  private setState(state: LinkState): void {
    if (this.state === 'closed') return;
    this.state = state;
    this.events.onState(state, this.detail);
  }

  private canSend(): boolean {
    return this.state === 'connected' && !this.closing && this.inFlight.size < this.opts.maxInFlight;
  }

  /** Hands the next messages in sequence order to the client, up to the in-flight bound. One walk at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (this.canSend()) {
          const rows = await this.store.next(this.cursor, this.opts.maxInFlight - this.inFlight.size);
          if (rows.length === 0) break;
          for (const row of rows) {
            if (!this.canSend()) break;
            this.cursor = row.seq;
            // Still with mqtt.js (it resends those itself) or acknowledged and about to be deleted.
            if (this.inFlight.has(row.seq) || this.acked.has(row.seq)) continue;
            this.send(row);
          }
        }
      } while (this.again);
    } catch (err) {
      this.events.onError(new Error(`reading the outbox failed: ${(err as Error).message}`));
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.pump(), RETRY_READ_MS);
    } finally {
      this.pumping = false;
    }
  }

  private send(row: QueuedMessage): void {
    this.inFlight.add(row.seq);
    this.client!.publish(row.topic, row.payload, { qos: 1, retain: false }, (err) => this.settle(row.seq, err));
  }

  private settle(seq: number, err?: Error): void {
    this.inFlight.delete(seq);
    if (err) {
      // Not acknowledged (the client gave it up): it stays in the outbox and goes again, in order.
      this.cursor = Math.min(this.cursor, seq - 1);
    } else {
      this.delivered++;
      this.acked.add(seq);
      this.removeAcked();
    }
    this.events.onProgress();
    if (!this.closing) void this.pump();
  }

  /** Deletes acknowledged messages in batches: one transaction for all PUBACKs that arrived meanwhile. */
  private removeAcked(): void {
    if (this.removing) return;
    this.removing = (async () => {
      while (this.acked.size > 0) {
        const seqs = [...this.acked];
        try {
          await this.store.remove(seqs);
        } catch (err) {
          // They stay marked as acknowledged (not sent again now); after a restart they go once more.
          this.events.onError(new Error(`deleting delivered messages failed: ${(err as Error).message}`));
          return;
        }
        for (const s of seqs) this.acked.delete(s);
        this.events.onProgress();
      }
    })().finally(() => {
      this.removing = undefined;
    });
  }
}

/** Resolves true if `p` settled within `ms`, false if the time ran out first. */
async function within(ms: number, p: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([p.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}

/** Polls `condition` until it holds or `ms` have passed. */
async function until(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}
