/**
 * One delivery from a RabbitMQ queue as the device message picam-broker emits
 * (lib/types.ts DeviceMessage): the MQTT topic rebuilt from the routing key, the body
 * untouched, the device id from the topic as the client id (the MQTT plugin does not pass
 * the publisher's client id on). A redelivery (the broker gave it to a consumer that went
 * away before acknowledging it) is marked `resent`: the processor then stores it even when
 * it saw the message before, since it was never committed.
 */
import type { ConsumeMessage } from 'amqplib';
import { deviceIdOf, routingKeyToTopic } from '../lib/amqp/topics';
import type { DeviceMessage } from '../lib/types';

export function deviceMessage(delivery: ConsumeMessage, prefix: string): DeviceMessage {
  const topic = routingKeyToTopic(delivery.fields.routingKey);
  // The MQTT plugin records the publisher's QoS in a header; AMQP publishers have none (QoS 1 by persistence).
  const qos = delivery.properties.headers?.['x-mqtt-publish-qos'] === 0 ? 0 : 1;
  const msg: DeviceMessage = { topic, payload: delivery.content, qos, retain: false, clientId: deviceIdOf(topic, prefix) };
  if (delivery.fields.redelivered) msg.resent = true;
  return msg;
}
