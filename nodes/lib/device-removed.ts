/**
 * The message that says a device is gone for good (an IP camera deleted through
 * DELETE /api/ipcams/:id): `{topic: 'device/removed', payload: {deviceId, deviceType}}`. The node
 * that removed it sends it once its rows are gone from the store; ha-discovery removes the
 * device from Home Assistant, mqtt-api clears its retained state.
 */
import { ANY_DEVICE_ID_PATTERN } from './hosted-devices';

export const DEVICE_REMOVED_TOPIC = 'device/removed';

export interface DeviceRemoved {
  deviceId: string;
  /** hive-cam, picam, ipcam: for the log, the id alone says which device */
  deviceType?: string;
}

export function deviceRemovedMessage(removed: DeviceRemoved): { topic: string; payload: DeviceRemoved } {
  return { topic: DEVICE_REMOVED_TOPIC, payload: removed };
}

/**
 * The removal a message carries: undefined when it is no removal, an error when it names no
 * valid device (the id goes into MQTT topics).
 */
export function deviceRemovalOf(msg: { topic?: unknown; payload?: unknown }): { deviceId: string } | { error: string } | undefined {
  if (msg.topic !== DEVICE_REMOVED_TOPIC) return undefined;
  const id = (msg.payload as { deviceId?: unknown } | null)?.deviceId ?? msg.payload;
  if (typeof id !== 'string' || !ANY_DEVICE_ID_PATTERN.test(id)) {
    return { error: `${DEVICE_REMOVED_TOPIC} needs msg.payload.deviceId (a device id)` };
  }
  return { deviceId: id };
}

/**
 * For the nodes that keep a view of the devices (ha-discovery, mqtt-api): when `msg` is a removal,
 * the device is forgotten in `view` (records still on their way for it are ignored until it
 * connects again), `removed` says it on MQTT, and `done` is called; returns whether it was one.
 */
export function takeRemoval(
  msg: { topic?: unknown; payload?: unknown },
  o: { node: string; view: { remove(id: string): unknown }; removed(id: string): void; done(err?: Error): void },
): boolean {
  const removal = deviceRemovalOf(msg);
  if (!removal) return false;
  if ('error' in removal) {
    o.done(new Error(`${o.node}: ${removal.error}`));
    return true;
  }
  o.view.remove(removal.deviceId);
  o.removed(removal.deviceId);
  o.done();
  return true;
}
