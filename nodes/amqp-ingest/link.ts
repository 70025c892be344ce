/**
 * amqp-ingest's connection to the RabbitMQ cluster: one node at a time from the list, the
 * next one when it is lost (a node killed, a network cut, a refused login), after a backoff
 * that grows while none answers. On each connection: one channel, its prefetch (the most
 * deliveries unacknowledged per consumer: the in-flight bound), the queues checked (never
 * declared: definitions.json owns their type and arguments) and consumed with manual
 * acknowledgement.
 *
 * An acknowledgement is only valid on the channel that delivered the message. A delivery
 * whose channel is gone cannot be acknowledged any more; the broker gives it to a consumer
 * again (marked redelivered), which is what must happen to a message never committed.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { CommandPublisher } from '../lib/amqp/command-publisher';
import { backoffMs, type BackoffOptions } from '../lib/backoff';
import type { BrokerNode } from './brokers';

export type LinkPhase = 'connecting' | 'connected' | 'waiting' | 'closed';

export interface LinkState {
  phase: LinkPhase;
  /** the node connected to, being tried, or to be tried next */
  broker: string;
  /** why the last connection ended or failed */
  error?: string;
  /** waiting: ms until the next try */
  retryInMs?: number;
}

export interface DeliveryHandle {
  /** Acknowledges the delivery; false when its channel is gone (the broker redelivers it). */
  ack(): boolean;
  /** whether `ack` can still work */
  readonly live: boolean;
}

export interface LinkEvents {
  state(state: LinkState): void;
  delivery(queue: string, msg: ConsumeMessage, handle: DeliveryHandle): void;
}

export interface LinkOptions {
  brokers: BrokerNode[];
  queues: string[];
  prefetch: number;
  /** shown in RabbitMQ's connection list */
  connectionName: string;
  tls?: { ca?: Buffer[] };
  backoff?: BackoffOptions;
}

/** 0.5 s after the first failure, doubling to 15 s: a killed node's peers take over in seconds. */
const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000 };
const CONNECT_TIMEOUT_MS = 10_000;

export class AmqpLink {
  private model?: ChannelModel;
  private channel?: Channel;
  private commands?: CommandPublisher;
  /** increases with every channel: a handle acknowledges only on its own */
  private generation = 0;
  private next = 0;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** the connection attempt under way: close() waits for it, so no socket outlives the node */
  private attempt: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: LinkOptions,
    private readonly events: LinkEvents,
  ) {}

  start(): void {
    this.attempt = this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const broker = this.opts.brokers[this.next]!;
    this.events.state({ phase: 'connecting', broker: broker.label });
    let model: ChannelModel | undefined;
    // Error events come before the close that ends a connection or channel: the reason is kept
    // for the status. A listener from the start, or an error event would be thrown.
    let lastError = 'connection closed';
    const noteError = (err: Error) => (lastError = err.message);
    try {
      model = await amqp.connect(broker.connect, {
        ...this.opts.tls,
        timeout: CONNECT_TIMEOUT_MS,
        clientProperties: { connection_name: this.opts.connectionName },
      });
      model.on('error', noteError);
      if (this.closed) throw new Error('closed');
      const channel = await model.createChannel();
      channel.on('error', noteError);
      await channel.prefetch(this.opts.prefetch);
      for (const queue of this.opts.queues) await this.checkQueue(channel, queue);
      if (this.closed) throw new Error('closed');
      this.model = model;
      this.channel = channel;
      const generation = ++this.generation;
      // Anything that ends the channel or the connection from now on: start over on the next node.
      let lostOnce = false;
      const lost = (why: string) => {
        if (lostOnce) return;
        lostOnce = true;
        this.lost(generation, broker, why);
      };
      for (const queue of this.opts.queues) {
        await channel.consume(
          queue,
          (msg) => {
            // null: the broker cancelled the consumer (the queue deleted): start over, and say so.
            if (msg === null) return lost(`the broker cancelled the consumer of ${queue}`);
            this.events.delivery(queue, msg, this.handle(generation, channel, msg));
          },
          { noAck: false },
        );
      }
      // Set up: a close is a loss now. (Until here, a close made one of the awaits above reject.)
      model.on('close', () => lost(lastError));
      channel.on('close', () => lost(lastError));
      // Commands to devices (command-sender) go out on a confirm channel of the same connection.
      const confirms = await model.createConfirmChannel();
      confirms.on('error', noteError);
      confirms.on('close', () => lost(lastError));
      if (generation === this.generation) this.commands = new CommandPublisher(confirms);
      this.failures = 0;
      this.events.state({ phase: 'connected', broker: broker.label });
    } catch (err) {
      if (model && this.model === model) {
        // Failed half-way: deliveries already handed out must not be acknowledged on this channel.
        this.model = undefined;
        this.channel = undefined;
        this.commands = undefined;
        this.generation++;
      }
      await model?.close().catch(() => undefined);
      if (this.closed) return;
      this.retry(broker, err instanceof Error && err.message ? err.message : lastError);
    }
  }

  /** Publishes commands while connected; undefined between connections. */
  get publisher(): CommandPublisher | undefined {
    return this.commands;
  }

  private async checkQueue(channel: Channel, queue: string): Promise<void> {
    try {
      await channel.checkQueue(queue);
    } catch (err) {
      const missing = /NOT_FOUND/.test((err as Error).message);
      throw new Error(missing ? `queue ${queue} does not exist: import cloud/cluster/rabbitmq/definitions.json` : (err as Error).message);
    }
  }

  private handle(generation: number, channel: Channel, msg: ConsumeMessage): DeliveryHandle {
    const live = () => !this.closed && this.generation === generation && this.channel === channel;
    return {
      ack: () => {
        if (!live()) return false;
        channel.ack(msg);
        return true;
      },
      get live() {
        return live();
      },
    };
  }

  private lost(generation: number, broker: BrokerNode, why: string): void {
    if (this.closed || generation !== this.generation) return;
    const model = this.model;
    this.model = undefined;
    this.channel = undefined;
    this.commands = undefined;
    this.generation++;
    void model?.close().catch(() => undefined);
    this.retry(broker, why);
  }

  private retry(broker: BrokerNode, why: string): void {
    this.failures++;
    this.next = (this.opts.brokers.indexOf(broker) + 1) % this.opts.brokers.length;
    const delay = backoffMs(this.failures, this.opts.backoff ?? DEFAULT_BACKOFF);
    this.events.state({ phase: 'waiting', broker: this.opts.brokers[this.next]!.label, error: why, retryInMs: delay });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt = this.connect();
    }, delay);
  }

  /**
   * Closes the channel and the connection and waits for both; unacknowledged deliveries go back
   * to the queue. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const model = this.model;
    const channel = this.channel;
    this.model = undefined;
    this.channel = undefined;
    this.commands = undefined;
    this.generation++;
    await this.attempt;
    await channel?.close().catch(() => undefined);
    await model?.close().catch(() => undefined);
    this.events.state({ phase: 'closed', broker: '' });
  }
}
