/**
 * The node's badge: connection, backlog and its oldest message's age, and
 * what the bounds dropped; first of all, a file that cannot be written. Green whenever the broker is connected (the Pi
 * flow's LED row reads the fill as "uplink up"), even while a backlog replays.
 */
import type { StatusLevel } from '../lib/status';
import { compact } from '../lib/status';
import type { UplinkSummary } from './uplink';

export interface DropCounts {
  size: number;
  age: number;
}

export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}

export function statusText(s: UplinkSummary, dropped: DropCounts, nowMs: number): [StatusLevel, string] {
  const backlog =
    s.queued === 0
      ? 'nothing queued'
      : `${compact(s.queued)} queued${s.oldestMs !== undefined ? `, oldest ${age(nowMs - s.oldestMs)}` : ''}`;
  const lost = dropped.size + dropped.age;
  const drops =
    lost > 0
      ? `; dropped ${compact(lost)} (${[dropped.size && `${dropped.size} full`, dropped.age && `${dropped.age} too old`].filter(Boolean).join(', ')})`
      : '';
  // Above the link's state: what is not on disk is what a power cut would lose.
  if (s.writeProblem) return ['error', `cannot write the outbox (${s.writeProblem.slice(0, 50)}): holding ${compact(s.held)}, ${backlog}`];
  switch (s.state) {
    case 'connected':
      return ['ok', `connected, ${backlog}${drops}`];
    case 'connecting':
      return ['busy', `connecting, ${backlog}${drops}`];
    case 'closed':
      return ['warn', `closed, ${backlog}`];
    default:
      return ['error', `disconnected${s.detail ? ` (${s.detail.slice(0, 60)})` : ''}, ${backlog}${drops}`];
  }
}
