/**
 * A device's `timestamp` field, checked against the runtime's clock.
 *
 * Accepted forms (docs/data.md, "Device time"):
 * - a JSON number: Unix seconds below 10^11 (what VBC01 cameras and the Pi's
 *   motion events send), Unix milliseconds from 10^11 (the Pi's heartbeats and
 *   sensor readings);
 * - a string in ISO 8601 form (nodes/lib/iso-time.ts): `YYYY-MM-DD[Thh:mm[:ss[.fraction]]]`
 *   with `Z` or an offset (without one, UTC).
 * The time must lie inside [now − past window, now + future window]. Anything
 * else (`"hello 5"`, which Date.parse read as 2001; `1e20`; the years 99999 and
 * −271821; a clock set to 2100) is not stored as the event's time: the receive
 * time is used, the device's value is kept as sent, and the record says why.
 * The reading itself is good, so it is stored, not dead-lettered.
 */
import { DEFAULTS } from '../lib/settings';
import { isoTimeMs } from '../lib/iso-time';

export interface ClockWindow {
  /** how far behind the runtime's clock a device time may be: a Pi replaying its outbox */
  pastMs: number;
  /** how far ahead: clocks that drift */
  futureMs: number;
}

export const DEFAULT_CLOCK_WINDOW: ClockWindow = {
  pastMs: DEFAULTS.clockPastHours * 3600_000,
  futureMs: DEFAULTS.clockFutureSeconds * 1000,
};

export type DeviceTime =
  /** the device's own time, or no timestamp at all (the receive time) */
  | { timeMs: number; raw?: undefined; problem?: undefined }
  /** the receive time stands in for a timestamp that could not be used */
  | { timeMs: number; raw: string; problem: string };

const SECONDS_BELOW = 1e11;
/** at most 64 characters of an unusable value are kept */
const RAW_CHARS = 64;

export function deviceTime(value: unknown, nowMs: number, window: ClockWindow): DeviceTime {
  if (value === undefined || value === null) return { timeMs: nowMs };
  const parsed = parse(value);
  const problem =
    typeof parsed === 'string'
      ? parsed
      : parsed < nowMs - window.pastMs
        ? `more than ${span(window.pastMs)} behind the runtime's clock`
        : parsed > nowMs + window.futureMs
          ? `more than ${span(window.futureMs)} ahead of the runtime's clock`
          : undefined;
  if (problem === undefined) return { timeMs: parsed as number };
  const raw = (typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))).slice(0, RAW_CHARS);
  const shown = typeof value === 'string' ? JSON.stringify(raw) : raw;
  return { timeMs: nowMs, raw, problem: `timestamp ${shown} ${problem}: the receive time is used` };
}

/** Unix milliseconds, or why the value is not one of the accepted forms. */
function parse(value: unknown): number | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) return 'is not a positive finite number';
    return Math.round(value < SECONDS_BELOW ? value * 1000 : value);
  }
  if (typeof value !== 'string') return 'must be Unix seconds, milliseconds or an ISO 8601 string';
  return isoTimeMs(value);
}

function span(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hours`;
  if (ms % 60_000 === 0) return `${ms / 60_000} minutes`;
  return `${Math.round(ms / 1000)} seconds`;
}
