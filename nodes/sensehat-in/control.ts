/**
 * Control messages for sensehat-in: switch a stream on or off, change its
 * interval, or ask for a reading now. Anything else is refused with a reason,
 * never half-applied.
 */
import type { NodeMessageInFlow } from 'node-red';
import type { StreamName } from './streams';

export interface StreamChange {
  on?: boolean;
  intervalMs?: number;
}

export type Control = { ok: true; changes: Array<[StreamName, StreamChange]>; readNow: boolean } | { ok: false; error: string };

const STREAMS: readonly StreamName[] = ['environment', 'motion'];
const MAX_INTERVAL_S = 24 * 3600;

/** `true`/`false` switch a stream; a number of seconds sets its interval and switches it on. */
function change(stream: StreamName, value: unknown): StreamChange | string {
  if (typeof value === 'boolean') return { on: value };
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_INTERVAL_S) {
    return { on: true, intervalMs: Math.round(seconds * 1000) };
  }
  return `${stream} takes true, false or an interval in seconds (0 < s ≤ ${MAX_INTERVAL_S}), not ${JSON.stringify(value)}`;
}

export function readControl(msg: NodeMessageInFlow): Control {
  const { topic, payload } = msg;
  if (topic === 'read' || payload === 'read') return { ok: true, changes: [], readNow: true };
  if (STREAMS.includes(topic as StreamName)) {
    const c = change(topic as StreamName, payload);
    return typeof c === 'string' ? { ok: false, error: c } : { ok: true, changes: [[topic as StreamName, c]], readNow: false };
  }
  if (payload && typeof payload === 'object' && !Array.isArray(payload)) {
    const changes: Array<[StreamName, StreamChange]> = [];
    for (const [key, value] of Object.entries(payload)) {
      if (!STREAMS.includes(key as StreamName)) {
        return {
          ok: false,
          error: `unknown setting "${key}" (expected ${STREAMS.join(', ')}; the joystick is switched in the node's properties)`,
        };
      }
      const c = change(key as StreamName, value);
      if (typeof c === 'string') return { ok: false, error: c };
      changes.push([key as StreamName, c]);
    }
    if (changes.length > 0) return { ok: true, changes, readNow: false };
  }
  return {
    ok: false,
    error: 'expected msg.topic "environment" or "motion" with true, false or seconds, msg.payload {environment, motion}, or "read"',
  };
}
