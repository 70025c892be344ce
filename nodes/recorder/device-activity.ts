/**
 * On a Pi there is no store in front of the recorder: its input is the camera's own activity
 * message, as the Pi flow publishes it (`…/{deviceId}/activity/start|stop`, the VBC01 payload
 * of nodes/lib/camera/motion.ts, `timestamp` in Unix seconds). Read here into the record the
 * cloud's store would have made of it, so both runtimes open and end clips alike.
 */
import type { ActivityPayload, ActivityRecord } from '../lib/types';
import { DEVICE_ID_PATTERN, EVENT_ID_PATTERN } from '../lib/types';

const TOPIC = /(?:^|\/)([^/]+)\/([^/]+)\/activity\/(start|stop)$/;

/** The record of a device activity message, or undefined when `msg` is not one (or names no valid ids). */
export function deviceActivity(topic: unknown, payload: unknown, nowMs = Date.now()): ActivityRecord | undefined {
  const m = typeof topic === 'string' ? TOPIC.exec(topic) : null;
  if (!m || typeof payload !== 'object' || payload === null) return undefined;
  const [, deviceType = '', deviceId = '', level] = m;
  const p = payload as ActivityPayload;
  if (!DEVICE_ID_PATTERN.test(deviceId) || typeof p.eventId !== 'string' || !EVENT_ID_PATTERN.test(p.eventId)) return undefined;
  const seconds = typeof p.timestamp === 'number' && Number.isFinite(p.timestamp) ? p.timestamp : undefined;
  return {
    kind: level === 'start' ? 'activity-start' : 'activity-stop',
    deviceId,
    deviceType,
    eventId: p.eventId,
    activityType: p.activityType ?? 'MOTION',
    timeMs: seconds === undefined ? nowMs : Math.round(seconds * 1000),
  };
}
