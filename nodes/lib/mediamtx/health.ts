/**
 * Stream health from successive MediaMTX path polls: what changed, bitrates
 * from byte counters (MediaMTX has no bitrate field), and stream-down /
 * stream-up alerts after a grace period. Pure: the caller polls and passes
 * the clock, so tests drive it with a fake one.
 */
import type { Alert } from '../types';
import type { PathInfo } from './client';
import { splitHostedId } from '../hosted-devices';

export type HealthChange =
  | { type: 'appeared'; path: string; online: boolean }
  | { type: 'online'; path: string }
  | { type: 'offline'; path: string }
  | { type: 'readers'; path: string; readers: number; previous: number }
  | { type: 'gone'; path: string };

export interface PathHealth {
  name: string;
  online: boolean;
  /** no longer listed by MediaMTX (kept while a stream-down is pending or raised) */
  gone: boolean;
  readers: number;
  readersByType: Record<string, number>;
  /** kbit/s between the last two polls; undefined on the first poll and after a counter reset */
  inboundKbps?: number;
  outboundKbps?: number;
  framesInError: number;
  tracks: string[];
  size?: { width: number; height: number };
  sourceType?: string;
  /** when it went offline or gone, Unix ms */
  offlineSinceMs?: number;
  /** its source starts on demand (an IP camera MediaMTX pulls when someone watches) */
  onDemand?: boolean;
}

export interface HealthSummary {
  paths: PathHealth[];
  online: number;
  offline: number;
}

export interface StreamHealthOptions {
  /** how long a path that was online may stay offline before stream-down */
  graceMs: number;
  /** Alert.deviceType; default `mediamtx` */
  deviceType?: string;
}

interface Tracked {
  health: PathHealth;
  inboundBytes: number;
  outboundBytes: number;
  seenMs: number;
  wasOnline: boolean;
  downAlerted: boolean;
  /** an on-demand path offline with nobody reading at the last poll */
  idle?: boolean;
}

/** A hosted camera's path, published by its Pi only while someone watches (nodes/lib/hosted-devices.ts). */
function relayedOnRequest(path: string): boolean {
  return splitHostedId(path) !== undefined;
}

export class StreamHealth {
  private readonly tracked = new Map<string, Tracked>();
  private pending: Alert[] = [];

  constructor(private readonly options: StreamHealthOptions) {}

  /**
   * Feed one successful poll. Do not call it for a failed poll: every path would look gone.
   * `onDemand` names the paths whose source starts on demand: offline with no reader, such a
   * path is idle, not down; its outage clock starts only when someone waits for it.
   * A hosted camera's path (`{pi}.{camera}`) is on demand too: its Pi publishes it only
   * while someone watches (nodes/ipcam/live-relay.ts), so it is gone, not down, between viewers.
   */
  update(paths: PathInfo[], nowMs: number, configuredOnDemand: ReadonlySet<string> = new Set()): HealthChange[] {
    const onDemand = { has: (name: string) => configuredOnDemand.has(name) || relayedOnRequest(name) };
    const changes: HealthChange[] = [];
    const listed = new Set<string>();
    for (const p of paths) {
      listed.add(p.name);
      const readers = Object.values(p.readers).reduce((a, b) => a + b, 0);
      const t = this.tracked.get(p.name);
      if (!t || t.health.gone) {
        // new, or back after it was gone (a regex path exists only while published)
        changes.push({ type: 'appeared', path: p.name, online: p.online });
        const fresh = this.track(p, readers, nowMs, t);
        if (onDemand.has(p.name)) fresh.health.onDemand = true;
        if (t && p.online) this.cameOnline(fresh, p.name, nowMs);
        continue;
      }
      const h = t.health;
      const dtMs = nowMs - t.seenMs;
      h.inboundKbps = kbps(t.inboundBytes, p.inboundBytes, dtMs);
      h.outboundKbps = kbps(t.outboundBytes, p.outboundBytes, dtMs);
      if (readers !== h.readers) changes.push({ type: 'readers', path: p.name, readers, previous: h.readers });
      if (p.online && !h.online) {
        changes.push({ type: 'online', path: p.name });
        this.cameOnline(t, p.name, nowMs);
      }
      if (!p.online && h.online) {
        changes.push({ type: 'offline', path: p.name });
        h.offlineSinceMs = nowMs;
      }
      delete h.size;
      delete h.sourceType;
      Object.assign(h, describe(p, readers));
      t.inboundBytes = p.inboundBytes;
      t.outboundBytes = p.outboundBytes;
      t.seenMs = nowMs;
      t.wasOnline ||= p.online;
      if (onDemand.has(p.name)) {
        h.onDemand = true;
        // Idle, or the first poll at which a viewer waits: the outage clock (re)starts now.
        if (!p.online && !t.downAlerted && (readers === 0 || t.idle)) h.offlineSinceMs = nowMs;
        t.idle = !p.online && readers === 0;
      } else delete h.onDemand;
    }
    for (const [name, t] of this.tracked) {
      if (listed.has(name) || t.health.gone) continue;
      changes.push({ type: 'gone', path: name });
      // a path nobody saw online is forgotten, and so is a relay that ended (nobody watches any
      // more); one that was online waits for its alert
      if (!t.wasOnline || relayedOnRequest(name)) {
        this.tracked.delete(name);
        continue;
      }
      const h = t.health;
      if (h.online) h.offlineSinceMs = nowMs;
      Object.assign(h, { gone: true, online: false, readers: 0, readersByType: {} });
      delete h.inboundKbps;
      delete h.outboundKbps;
    }
    return changes;
  }

  /** Alerts due at nowMs: each stream-down once per outage, each stream-up once after it. */
  alerts(nowMs: number): Alert[] {
    const out = this.pending;
    this.pending = [];
    for (const [name, t] of this.tracked) {
      const since = t.health.offlineSinceMs;
      if (!t.wasOnline || t.downAlerted || t.health.online || since === undefined) continue;
      if (nowMs - since < this.options.graceMs) continue;
      t.downAlerted = true;
      const downForMs = nowMs - since;
      const how = t.health.gone ? 'no longer published' : 'offline';
      out.push(this.alert('stream-down', name, since, 'critical', `Stream ${name} is down: ${how} for ${duration(downForMs)}`, downForMs));
    }
    return out;
  }

  summary(): HealthSummary {
    const paths = [...this.tracked.values()].map((t) => ({ ...t.health }));
    const online = paths.filter((p) => p.online).length;
    return { paths, online, offline: paths.length - online };
  }

  private track(p: PathInfo, readers: number, nowMs: number, old?: Tracked): Tracked {
    const t: Tracked = {
      health: { name: p.name, gone: false, ...describe(p, readers) },
      inboundBytes: p.inboundBytes,
      outboundBytes: p.outboundBytes,
      seenMs: nowMs,
      wasOnline: p.online || (old?.wasOnline ?? false),
      downAlerted: old?.downAlerted ?? false,
    };
    // kept for a path back from gone: cameOnline() measures the outage from it
    if (old?.health.offlineSinceMs !== undefined) t.health.offlineSinceMs = old.health.offlineSinceMs;
    this.tracked.set(p.name, t);
    return t;
  }

  private cameOnline(t: Tracked, name: string, nowMs: number): void {
    const since = t.health.offlineSinceMs;
    if (t.downAlerted && since !== undefined) {
      const downForMs = nowMs - since;
      this.pending.push(this.alert('stream-up', name, nowMs, 'info', `Stream ${name} is back up after ${duration(downForMs)}`, downForMs));
    }
    t.downAlerted = false;
    delete t.health.offlineSinceMs;
  }

  private alert(
    kind: 'stream-down' | 'stream-up',
    path: string,
    timeMs: number,
    severity: Alert['severity'],
    text: string,
    downForMs: number,
  ): Alert {
    return {
      kind,
      deviceId: path,
      deviceName: path,
      deviceType: this.options.deviceType ?? 'mediamtx',
      timeMs,
      severity,
      text,
      stream: { path, downForMs },
    };
  }
}

function describe(p: PathInfo, readers: number): Omit<PathHealth, 'name' | 'gone'> {
  const d: Omit<PathHealth, 'name' | 'gone'> = {
    online: p.online,
    readers,
    readersByType: { ...p.readers },
    framesInError: p.framesInError,
    tracks: [...p.tracks],
  };
  if (p.size) d.size = { ...p.size };
  if (p.sourceType) d.sourceType = p.sourceType;
  return d;
}

/** kbit/s from two byte counters; a counter that went down (MediaMTX restarted) gives undefined, never a negative rate. */
function kbps(before: number, after: number, dtMs: number): number | undefined {
  if (dtMs <= 0 || after < before) return undefined;
  return Math.round(((after - before) * 8) / dtMs);
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}
