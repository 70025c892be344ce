/**
 * Store records → live feed messages (nodes/lib/contract/feed.ts says why they differ).
 */
import type { StoreRecord } from '../lib/types';
import type { FeedMessage } from '../lib/contract/feed';

/** The browser-facing message for one store record, or undefined for records the dashboard does not show. */
export function feedMessageFor(record: StoreRecord): FeedMessage | undefined {
  if (record.kind === 'dead-letter') return undefined;
  if (record.kind === 'stream-health') {
    return {
      type: 'stream-health',
      path: record.deviceId,
      timeMs: record.timeMs,
      online: record.online,
      readers: record.readers,
      inboundKbps: record.inboundKbps,
      outboundKbps: record.outboundKbps,
    };
  }
  const base = { deviceId: record.deviceId, deviceType: record.deviceType, timeMs: record.timeMs };
  switch (record.kind) {
    case 'sensor':
      return { type: 'sensor', ...base, temperature: record.temperature, humidity: record.humidity, pressure: record.pressure };
    case 'activity-start':
      return {
        type: 'event-start',
        ...base,
        eventId: record.eventId,
        activityType: record.activityType,
        deviceName: record.deviceName,
        confidence: record.confidence,
      };
    case 'activity-stop':
      return {
        type: 'event-end',
        ...base,
        eventId: record.eventId,
        activityType: record.activityType,
        deviceName: record.deviceName,
        startMs: record.startMs,
        // whole seconds, as the store computes duration_seconds
        durationSeconds: record.startMs === undefined ? undefined : Math.floor(record.timeMs / 1000) - Math.floor(record.startMs / 1000),
      };
    case 'camera-state':
      return { type: 'camera-state', ...base, mode: record.mode };
    case 'connection':
      return { type: 'connection', ...base, status: record.status, name: record.name };
    case 'heartbeat':
      return {
        type: 'heartbeat',
        ...base,
        batteryLevel: record.batteryLevel,
        signalStrength: record.signalStrength,
        streamState: record.streamState,
      };
    case 'command':
      return { type: 'command', ...base, action: record.action, requestId: record.requestId, mode: record.mode };
  }
}

export { recordsIn } from '../lib/records-in';
