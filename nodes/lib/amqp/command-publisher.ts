/**
 * Commands from the cloud to devices in the cluster role: published to amq.topic under the
 * command topic's routing key, where RabbitMQ's MQTT plugin delivers them to the device's
 * subscription (`prod/honeycomb/{id}/#`). A confirm channel: `publish` resolves once the
 * broker took the message (for a device with a QoS 1 subscription: once it is in that
 * subscription's queue), and rejects when it did not, so the caller (command-sender's
 * queue) keeps the command and tries again. `mandatory`: a command to a device with no
 * subscription (never connected) comes back as returned instead of vanishing.
 */
import type { ConfirmChannel, Message } from 'amqplib';
import { processRegistry } from '../process-registry';
import { MQTT_EXCHANGE, topicToRoutingKey } from './topics';

export class NoSubscriber extends Error {}

export class CommandPublisher {
  private readonly returned = new Map<string, (msg: Message) => void>();
  private seq = 0;

  constructor(private readonly channel: ConfirmChannel) {
    channel.on('return', (msg: Message) => {
      const id = String(msg.properties.messageId ?? '');
      this.returned.get(id)?.(msg);
    });
  }

  /**
   * Publishes `payload` to the MQTT `topic` at QoS 1 (persistent). Rejects with NoSubscriber
   * when no device subscription took it, or with the broker's error when it refused it.
   */
  publish(topic: string, payload: Buffer | string): Promise<void> {
    const messageId = `cmd-${++this.seq}`;
    let wasReturned = false;
    this.returned.set(messageId, () => (wasReturned = true));
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    return new Promise<void>((resolve, reject) => {
      // The MQTT plugin reads the QoS a subscriber gets from this header (as its own publishes carry it).
      const headers = { 'x-mqtt-publish-qos': 1 };
      this.channel.publish(
        MQTT_EXCHANGE,
        topicToRoutingKey(topic),
        body,
        { persistent: true, mandatory: true, messageId, headers },
        (err) => {
          this.returned.delete(messageId);
          // basic.return comes before the confirm (AMQP 0-9-1: a returned message is confirmed after the return).
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else if (wasReturned) reject(new NoSubscriber(`no device is subscribed to ${topic}`));
          else resolve();
        },
      );
    });
  }
}

/**
 * The publisher of a running amqp-ingest node, found by its node id: command-sender publishes
 * through the connection amqp-ingest already keeps to the cluster (and fails over with it)
 * instead of a second one of its own. The function answers undefined while it is not connected.
 */
const publishers = processRegistry<() => CommandPublisher | undefined>('amqp-command-publishers');

export const registerCommandPublisher = (amqpNodeId: string, current: () => CommandPublisher | undefined): (() => void) =>
  publishers.register(amqpNodeId, current);

export const commandPublisherOf = (amqpNodeId: string): (() => CommandPublisher | undefined) | undefined => publishers.get(amqpNodeId);
