/**
 * Noise control shared by every alert node: which alerts reach a person, and
 * which are held back and why. Plain code, no Node-RED; time comes from `now()`.
 */
import { fingerprint, RecentMap } from '../recent';
import type { Alert, CameraMode } from '../types';
import { CAMERA_MODES } from '../types';
import { humanDuration } from './format';
import { outsideZones } from './zone-rule';
import { labelRuleVerdict, type LabelRule } from './label-rule';
import type { AlertCooldowns } from '../store/alert-cooldowns';
import type { AddGate } from '../store/outbox';

export interface PolicyOptions {
  /** 0 = off */
  cooldownMs: number;
  /** activity alerts only when the camera's mode is one of these (default ['ARMED']) */
  modes: readonly CameraMode[];
  /** "HH:MM" local time in timeZone; may wrap midnight; start === end means off */
  quietHours?: { start: string; end: string };
  /** in quiet hours a non-critical alert is sent without sound, or not at all */
  quietAction: 'silent' | 'drop';
  timeZone?: string;
  /** activity alerts only for motion in one of these zones (zone-rule.ts); none: anywhere */
  zones?: readonly string[];
  /** how long event ids are remembered, default 24 h */
  dedupeWindowMs?: number;
  /** activity alerts only when the camera's detector saw one of these labels (label-rule.ts) */
  onlyLabels?: LabelRule;
}

export type Verdict =
  | {
      action: 'send';
      silent: boolean;
      /**
       * With cooldowns in the store: the cooldown is claimed with the alert's outbox rows
       * (AlertOutbox.add's gate), which it holds back when another alert started one first.
       */
      cooldown?: AddGate;
    }
  | { action: 'suppress'; reason: string };

const DAY_MS = 24 * 3600_000;
// Memory bounds for thousands of devices over months. When traffic exceeds them
// the oldest keys go early: a redelivery may then pass as new, and a cooldown
// may end early; both err towards telling the user rather than staying silent.
const DEDUPE_CAPACITY = 50_000;
const COOLDOWN_CAPACITY = 20_000;
/**
 * State changes are exempt: their producers debounce flaps already, and holding
 * back an "online" after an "offline" would leave the user thinking it is down.
 */
const COOLDOWN_KINDS: ReadonlySet<string> = new Set(['activity', 'sensor-out-of-range', 'text']);

export class AlertPolicy {
  private readonly now: () => number;
  private readonly cooldownMs: number;
  private readonly dedupeWindowMs: number;
  private readonly modes: readonly CameraMode[];
  private readonly zones: readonly string[];
  private readonly onlyLabels?: LabelRule;
  private readonly quiet?: { start: number; end: number; label: string; drop: boolean; clock: Intl.DateTimeFormat };
  /** event key → when first seen (kept ≥ the window: RecentMap keeps keys ≥ maxAge/2) */
  private readonly seen: RecentMap<number, number>;
  /** event keys whose alert was held back only by the zone or label rule: an update of the event may still go */
  private readonly heldByRule: RecentMap<number, true>;
  /** device+kind(+activity type) key → when an alert was last sent */
  private readonly lastSent?: RecentMap<number, number>;

  constructor(
    opts: PolicyOptions,
    now: () => number = Date.now,
    /**
     * The node's cooldowns in the store (alert-cooldowns.ts), shared by every runtime and kept
     * over restarts; without it they are held in this object's memory.
     */
    private readonly stored?: AlertCooldowns,
  ) {
    this.now = now;
    this.cooldownMs = nonNegative(opts.cooldownMs, 'cooldown');
    this.dedupeWindowMs = nonNegative(opts.dedupeWindowMs ?? DAY_MS, 'dedupe window');
    this.modes = parseModes(opts.modes ?? ['ARMED']);
    this.zones = opts.zones ?? [];
    this.onlyLabels = opts.onlyLabels;
    this.seen = new RecentMap(DEDUPE_CAPACITY, 2 * this.dedupeWindowMs);
    this.heldByRule = new RecentMap(DEDUPE_CAPACITY, 2 * this.dedupeWindowMs);
    if (this.cooldownMs > 0) this.lastSent = new RecentMap(COOLDOWN_CAPACITY, 2 * this.cooldownMs);
    if (opts.quietAction !== 'silent' && opts.quietAction !== 'drop') {
      throw new Error(`quiet-hours action must be "silent" or "drop", not "${String(opts.quietAction)}"`);
    }
    if (opts.quietHours) {
      const start = parseClock(opts.quietHours.start);
      const end = parseClock(opts.quietHours.end);
      if (start === undefined) throw new Error(`quiet hours start "${String(opts.quietHours.start)}" is not a time (HH:MM)`);
      if (end === undefined) throw new Error(`quiet hours end "${String(opts.quietHours.end)}" is not a time (HH:MM)`);
      if (start !== end) {
        const label = `${clockText(start)}–${clockText(end)}`;
        this.quiet = { start, end, label, drop: opts.quietAction === 'drop', clock: clockFormat(opts.timeZone) };
      }
    }
  }

  /** Decides, and remembers the decision (event ids always, cooldowns only when sent). */
  decide(alert: Alert): Verdict {
    const a: Partial<Alert> = typeof alert === 'object' && alert !== null ? alert : {};
    const nowMs = this.now();
    const kind = text(a.kind);
    const name = text(a.deviceName) || text(a.deviceId) || 'unknown device';
    const device = text(a.deviceId) || name;

    // A redelivered event is suppressed whatever became of the first copy: it was
    // held back for a reason that still applies, or the user has it already. An update
    // of the event (a zone or label seen later) is looked at again only when the zone
    // or label rule alone held the earlier one back: the rest decide as for a new one.
    const eventId = text(a.eventId);
    const key = eventId ? fingerprint(`${kind}\u0000${device}`, eventId) : undefined;
    if (key !== undefined) {
      const first = this.seen.get(key, nowMs);
      const recent = first !== undefined && nowMs - first < this.dedupeWindowMs;
      if (recent && !(a.update === true && this.heldByRule.has(key, nowMs))) return suppress(`duplicate of event ${eventId}`);
      if (!recent) this.seen.set(key, nowMs, nowMs);
    }

    // An unknown mode (the camera never reported one) sends: a camera we know
    // nothing about must not go silent.
    if (kind === 'activity' && a.mode != null) {
      const mode = String(a.mode).toUpperCase();
      if (!(this.modes as readonly string[]).includes(mode)) return suppress(`camera mode ${mode} is not one of ${this.modes.join(', ')}`);
    }

    const heldBack = outsideZones(a, this.zones) ?? labelRuleVerdict(this.onlyLabels, a);
    if (heldBack) {
      if (key !== undefined) this.heldByRule.set(key, true, nowMs);
      return suppress(heldBack);
    }
    if (key !== undefined) this.heldByRule.delete(key);

    let silent = false;
    if (this.quiet && a.severity !== 'critical' && this.inQuietHours(nowMs)) {
      if (this.quiet.drop) return suppress(`quiet hours ${this.quiet.label}`);
      silent = true;
    }

    if (this.lastSent && COOLDOWN_KINDS.has(kind)) {
      const type = kind === 'activity' ? text(a.activityType).toUpperCase() || 'MOTION' : '';
      const what = kind === 'activity' ? type.toLowerCase().replace(/[_-]+/g, ' ') : kind === 'text' ? 'text' : 'sensor';
      // Only a sent alert starts a cooldown; every return above sends nothing.
      if (this.stored) return { action: 'send', silent, cooldown: this.storedCooldown(kind, device, type, what, name, nowMs) };
      const key = fingerprint(`${kind}\u0000${device}`, type);
      const last = this.lastSent.get(key, nowMs);
      if (last !== undefined && nowMs - last < this.cooldownMs) return suppress(this.cooling(what, name, nowMs - last));
      this.lastSent.set(key, nowMs, nowMs);
    }
    return { action: 'send', silent };
  }

  /** The claim of a cooldown in the store, run with the alert's outbox rows: the reason it holds them back, if any. */
  private storedCooldown(kind: string, device: string, type: string, what: string, name: string, nowMs: number): AddGate {
    const stored = this.stored!;
    const cooldownMs = this.cooldownMs;
    const key = { deviceId: device, what: type ? `${kind}:${type}` : kind };
    return async (db) => {
      const since = await stored.claim(db, key, nowMs, cooldownMs);
      // Another runtime's clock may be a little ahead of ours: never "-2 s ago".
      return since === undefined ? undefined : this.cooling(what, name, Math.max(0, nowMs - since));
    };
  }

  private cooling(what: string, name: string, agoMs: number): string {
    return `cooldown: another ${what} alert from ${name} ${humanDuration(agoMs)} ago (cooldown ${humanDuration(this.cooldownMs)})`;
  }

  /**
   * Takes back what `decide` remembered of `alert`: its outbox row was never
   * written (a full disk), and the retry must not find itself a duplicate or in
   * its own cooldown. A cooldown in the store was rolled back with the rows.
   */
  forget(alert: Alert): void {
    const a: Partial<Alert> = typeof alert === 'object' && alert !== null ? alert : {};
    const kind = text(a.kind);
    const device = text(a.deviceId) || text(a.deviceName) || 'unknown device';
    const eventId = text(a.eventId);
    if (eventId) {
      this.seen.delete(fingerprint(`${kind}\u0000${device}`, eventId));
      this.heldByRule.delete(fingerprint(`${kind}\u0000${device}`, eventId));
    }
    const type = kind === 'activity' ? text(a.activityType).toUpperCase() || 'MOTION' : '';
    this.lastSent?.delete(fingerprint(`${kind}\u0000${device}`, type));
  }

  /** Keys held in memory (for tests and status): bounded whatever the traffic. */
  get remembered(): number {
    return this.seen.size + this.heldByRule.size + (this.lastSent?.size ?? 0);
  }

  private inQuietHours(nowMs: number): boolean {
    const q = this.quiet!;
    let hour = 0;
    let minute = 0;
    for (const part of q.clock.formatToParts(nowMs)) {
      if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
    }
    const m = hour * 60 + minute;
    return q.start < q.end ? m >= q.start && m < q.end : m >= q.start || m < q.end;
  }
}

/** "HH:MM" (or "H:MM") → minutes after midnight; undefined when invalid. */
export function parseClock(value: string): number | undefined {
  const match = typeof value === 'string' ? /^\s*(\d{1,2}):(\d{2})\s*$/.exec(value) : null;
  if (!match) return undefined;
  const [hour, minute] = [Number(match[1]), Number(match[2])];
  return hour < 24 && minute < 60 ? hour * 60 + minute : undefined;
}

/** "ARMED, livestreamonly" or a list → modes, without repeats; throws on an unknown or missing mode. */
export function parseModes(value: string | readonly string[]): CameraMode[] {
  const items: readonly unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [value];
  const modes: CameraMode[] = [];
  for (const item of items) {
    if (typeof item !== 'string') throw new Error(`unknown camera mode "${String(item)}" (expected ${CAMERA_MODES.join(', ')})`);
    for (const token of item.split(/[\s,]+/)) {
      if (!token) continue;
      const mode = token.toUpperCase();
      if (!(CAMERA_MODES as readonly string[]).includes(mode)) {
        throw new Error(`unknown camera mode "${token}" (expected ${CAMERA_MODES.join(', ')})`);
      }
      if (!modes.includes(mode as CameraMode)) modes.push(mode as CameraMode);
    }
  }
  // An empty list would not mean "no activity alerts" (unknown-mode cameras still
  // alert), so it is refused rather than left to surprise.
  if (modes.length === 0) throw new Error(`no camera mode given (expected one or more of ${CAMERA_MODES.join(', ')})`);
  return modes;
}

function suppress(reason: string): Verdict {
  return { action: 'suppress', reason };
}

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

function nonNegative(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new Error(`${what} must be a number of milliseconds ≥ 0, not ${String(v)}`);
  return v;
}

function clockText(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function clockFormat(timeZone: string | undefined): Intl.DateTimeFormat {
  try {
    // The platform's zone rules find the wall-clock time, DST included.
    return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone });
  } catch {
    throw new Error(`unknown time zone "${String(timeZone)}" (expected an IANA name such as Europe/Berlin)`);
  }
}
