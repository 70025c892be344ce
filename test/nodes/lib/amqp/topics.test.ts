import assert from 'node:assert/strict';
import { it } from 'node:test';
import { deviceIdOf, routingKeyToTopic, topicToRoutingKey } from '../../../../nodes/lib/amqp/topics';

it('turns MQTT topics into RabbitMQ routing keys and back, as the MQTT plugin does ("/" and "." swapped)', () => {
  assert.equal(topicToRoutingKey('prod/honeycomb/ABC/system/setmode'), 'prod.honeycomb.ABC.system.setmode');
  assert.equal(routingKeyToTopic('prod.device.status.hive-cam.ABC'), 'prod/device/status/hive-cam/ABC');
  // A dot inside a level travels as "/" in the routing key, and comes back as a dot.
  assert.equal(topicToRoutingKey('prod/device/message/picam/pi-1/v1.2'), 'prod.device.message.picam.pi-1.v1/2');
  assert.equal(routingKeyToTopic('prod.device.message.picam.pi-1.v1/2'), 'prod/device/message/picam/pi-1/v1.2');
});

it('reads the device id from a device topic under the prefix, and nothing from any other topic', () => {
  assert.equal(deviceIdOf('prod/device/status/hive-cam/ABC', 'prod'), 'ABC');
  assert.equal(deviceIdOf('prod/device/message/picam/pi-1/sensors/environment', 'prod'), 'pi-1');
  assert.equal(deviceIdOf('site/a/device/connection/ipcam/cam-2', 'site/a'), 'cam-2');
  assert.equal(deviceIdOf('prod/honeycomb/ABC/system/reboot', 'prod'), '');
  assert.equal(deviceIdOf('prod/device/status', 'prod'), '');
});
