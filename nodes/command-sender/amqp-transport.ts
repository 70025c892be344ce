/**
 * Commands in the cluster role: published through the amqp-ingest node's connection to the
 * RabbitMQ cluster (nodes/lib/amqp/command-publisher.ts), to amq.topic, where the MQTT plugin
 * hands them to the device's subscription. "Delivered" means what it means elsewhere: the
 * broker confirmed it. A publish the broker did not confirm (or made while no node is
 * connected) rejects, so the row stays queued and the sender tries again.
 */
import { NoSubscriber, type CommandPublisher } from '../lib/amqp/command-publisher';
import type { Published, Transport } from './transport';

export class AmqpTransport implements Transport {
  readonly kind = 'external';

  /** `current`: the amqp-ingest node's publisher now, undefined between connections */
  constructor(
    readonly amqpNodeId: string,
    private readonly current: () => CommandPublisher | undefined,
  ) {}

  get up(): boolean {
    return this.current() !== undefined;
  }

  describe(): string {
    return this.up ? 'connected (RabbitMQ)' : `amqp-ingest (${this.amqpNodeId}) is not connected to RabbitMQ`;
  }

  async publish(topic: string, payload: Buffer): Promise<Published> {
    const publisher = this.current();
    if (!publisher) throw new Error(this.describe());
    try {
      await publisher.publish(topic, payload);
      return {};
    } catch (err) {
      // No subscription took it: the device is not connected and has no persistent session.
      if (err instanceof NoSubscriber) return { note: 'the device was not connected: no subscription took the command' };
      throw err;
    }
  }

  async close(): Promise<void> {}
}
