/**
 * Store records → the MQTT API's state and event topics. A record is published after the store
 * committed it (the node sits behind sqlite-events), so a state topic never shows what the
 * store does not hold. State topics are retained (a new subscriber reads the latest at once);
 * events are not (they happened once).
 */
import { OFF, OFFLINE, ON, ONLINE, type ApiEvent, type ApiTopics } from '../lib/contract/mqtt-api';
import { PERSON_ACTIVITIES, type DeviceFacts } from '../lib/mqtt/device-view';
import type { StoreRecord } from '../lib/types';

export interface Outgoing {
  topic: string;
  payload: string | Buffer;
  retain: boolean;
}

const json = (v: unknown) => JSON.stringify(v);

export function stateMessages(record: StoreRecord, api: ApiTopics): Outgoing[] {
  if (record.kind === 'dead-letter' || record.kind === 'stream-health' || record.kind === 'connection-alert') return [];
  const id = record.deviceId;
  const state = (what: Parameters<ApiTopics['state']>[1], payload: string): Outgoing => ({
    topic: api.state(id, what),
    payload,
    retain: true,
  });
  const event = (e: ApiEvent): Outgoing[] => [{ topic: api.events(id), payload: json(e), retain: false }, state('event', json(e))];
  const base = { deviceId: id, deviceType: record.deviceType, timeMs: record.timeMs };
  switch (record.kind) {
    case 'connection': {
      const status = record.status === 'connected' ? ONLINE : OFFLINE;
      return [state('connection', status), ...event({ ...base, kind: 'connection', status })];
    }
    case 'heartbeat':
    case 'camera-state': {
      const out: Outgoing[] = [];
      const health = {
        battery: record.batteryLevel,
        signal: record.signalStrength,
        uptime: record.uptime,
        temperature: record.temperature,
      };
      if (Object.values(health).some((v) => v !== undefined)) out.push(state('health', json({ ...health, timeMs: record.timeMs })));
      if (record.kind === 'camera-state' && record.mode) out.push(state('mode', record.mode));
      return out;
    }
    case 'activity-start':
    case 'activity-stop': {
      const on = record.kind === 'activity-start' ? ON : OFF;
      const person = PERSON_ACTIVITIES.includes(record.activityType.toUpperCase());
      return [
        state('motion', on),
        ...(person ? [state('person', on)] : []),
        ...event({ ...base, kind: record.kind, eventId: record.eventId, activityType: record.activityType }),
      ];
    }
    case 'sensor':
      return [
        state(
          'sensors',
          json({ temperature: record.temperature, humidity: record.humidity, pressure: record.pressure, timeMs: record.timeMs }),
        ),
      ];
    case 'command':
      // The mode the cloud asked for is the device's desired mode (restored on reconnect): shown at once.
      return record.mode ? [state('mode', record.mode)] : [];
    default:
      return []; // a kind added later: nothing to publish until this says what
  }
}

/** What the registry knows of a device when the API starts: its mode and connection (retained, so Home Assistant's availability is right at once). */
export function registryState(device: DeviceFacts, api: ApiTopics): Outgoing[] {
  const out: Outgoing[] = [];
  if (device.mode) out.push({ topic: api.state(device.id, 'mode'), payload: device.mode, retain: true });
  if (device.online !== undefined)
    out.push({ topic: api.state(device.id, 'connection'), payload: device.online ? ONLINE : OFFLINE, retain: true });
  return out;
}
