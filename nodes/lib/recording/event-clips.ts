/**
 * When each event's clip is cut. An event's start opens its clip (state `recording`, covering
 * the pre-roll before it); its end sets the clip's end to the end plus the post-roll, and the
 * clip is cut as soon as a segment reaching that instant is indexed, or after a grace time
 * (the camera went away: the clip holds what there is). An event that runs longer than the
 * longest clip is cut at that length. Times are Unix ms on the events' clock, which is the
 * segments' clock for the Pi and IP cameras (same host or NTP).
 */

export interface ClipWindow {
  cameraId: string;
  eventId: string;
  /** start of the clip: the event's start less the pre-roll */
  fromMs: number;
  /** end of the clip: the event's end plus the post-roll, or fromMs + the longest clip */
  toMs: number;
}

export interface EventClipsOptions {
  preRollMs: number;
  postRollMs: number;
  maxClipMs: number;
  /** how long after `toMs` a clip waits for its last segment before it is cut with what there is */
  graceMs: number;
  /** the clip row opened in the index (may fail: reported by the caller) */
  opened(w: ClipWindow): void;
  /** cut it now */
  due(w: ClipWindow): void;
  now?: () => number;
}

interface Open {
  window: ClipWindow;
  /** set once the event ended (or reached the longest clip): the clip waits for toMs */
  ending: boolean;
  timer?: NodeJS.Timeout;
}

const key = (cameraId: string, eventId: string) => `${cameraId}\u0000${eventId}`;

export class EventClips {
  private readonly open = new Map<string, Open>();

  constructor(private readonly o: EventClipsOptions) {}

  /** Events whose clip is not cut yet. */
  get pending(): number {
    return this.open.size;
  }

  /** The earliest instant any clip of `cameraId` still needs (undefined: none): older segments may go. */
  neededFrom(cameraId: string): number | undefined {
    let min: number | undefined;
    for (const c of this.open.values())
      if (c.window.cameraId === cameraId && (min === undefined || c.window.fromMs < min)) min = c.window.fromMs;
    return min;
  }

  started(cameraId: string, eventId: string, atMs: number): void {
    const k = key(cameraId, eventId);
    if (this.open.has(k)) return; // a start repeated (QoS 1 redelivery): the first one counts
    const fromMs = atMs - this.o.preRollMs;
    const window = { cameraId, eventId, fromMs, toMs: atMs + this.o.postRollMs };
    const open: Open = { window, ending: false };
    this.open.set(k, open);
    this.o.opened({ ...window });
    // The longest clip: cut there even if the event never ends (its stop lost).
    this.waitFor(open, fromMs + this.o.maxClipMs);
  }

  ended(cameraId: string, eventId: string, atMs: number, startMs?: number): void {
    const k = key(cameraId, eventId);
    let open = this.open.get(k);
    if (!open) {
      // The start was before this runtime (or its node) started: the clip covers what the stop says.
      this.started(cameraId, eventId, startMs ?? atMs);
      open = this.open.get(k)!;
    }
    if (open.ending) return;
    open.ending = true;
    this.waitFor(open, Math.min(atMs + this.o.postRollMs, open.window.fromMs + this.o.maxClipMs));
  }

  /** A segment of `cameraId` up to `endMs` is indexed: clips that end by then are due. */
  segment(cameraId: string, endMs: number): void {
    for (const c of [...this.open.values()]) if (c.window.cameraId === cameraId && c.ending && c.window.toMs <= endMs) this.cut(c);
  }

  /** Forgets every pending clip (close): the index keeps them as `recording`; the next start cuts them. */
  close(): void {
    for (const c of this.open.values()) clearTimeout(c.timer);
    this.open.clear();
  }

  private waitFor(open: Open, toMs: number): void {
    clearTimeout(open.timer);
    const now = (this.o.now ?? Date.now)();
    if (open.ending) open.window.toMs = toMs;
    const atMs = open.ending ? toMs + this.o.graceMs : toMs;
    open.timer = setTimeout(
      () => {
        if (!open.ending) {
          // The longest clip reached while the event runs on.
          open.ending = true;
          return this.waitFor(open, toMs);
        }
        this.cut(open);
      },
      Math.max(0, atMs - now),
    );
  }

  private cut(open: Open): void {
    clearTimeout(open.timer);
    this.open.delete(key(open.window.cameraId, open.window.eventId));
    this.o.due({ ...open.window });
  }
}
