/**
 * MQTT topics as RabbitMQ routes them (the cluster role, docs/cluster.md). RabbitMQ's MQTT
 * plugin publishes a device's message to a topic exchange (amq.topic) with the topic turned
 * into an AMQP routing key: each "/" becomes "." and each "." becomes "/", so
 * `prod/device/status/hive-cam/ABC` is routed as `prod.device.status.hive-cam.ABC`. A command
 * published to amq.topic under the routing key reaches the device subscribed to the topic.
 */

/** The exchange the shipped rabbitmq.conf gives the MQTT plugin (`mqtt.exchange`). */
export const MQTT_EXCHANGE = 'amq.topic';

const swapSeparators = (s: string): string => s.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));

/** `prod.device.status.hive-cam.ABC` → `prod/device/status/hive-cam/ABC` */
export function routingKeyToTopic(routingKey: string): string {
  return swapSeparators(routingKey);
}

/** `prod/honeycomb/ABC/system/setmode` → `prod.honeycomb.ABC.system.setmode` */
export function topicToRoutingKey(topic: string): string {
  return swapSeparators(topic);
}

/**
 * The device id in a device topic, `{prefix}/device/{kind}/{type}/{id}/...`, or '' when the
 * topic is not one (the processor then keeps it as a dead letter with its reason).
 */
export function deviceIdOf(topic: string, prefix: string): string {
  const head = `${prefix}/device/`;
  if (!topic.startsWith(head)) return '';
  return topic.slice(head.length).split('/')[2] ?? '';
}
