/**
 * Turns a camera's motion events into smart ones when the detector saw something
 * in their frames: the start gets `detection` (and `activityType: MOTION_SMART`
 * for a person, as a VBC01 reports one) and its thumbnail is the best frame with
 * the box drawn.
 *
 * Ordering: motion raises its start after the minimum duration; the detector
 * answers some hundred ms per frame later. The start is HELD until a person is
 * seen or `holdMs` has passed (bounded), rather than sent at once and followed by
 * an update, because a VBC01 says MOTION_SMART on the start itself: the cloud's
 * processor, store, alert policy ("people only") and every subscriber then see one
 * start per event with its final type, and no "update" message is invented. Pairing
 * stays correct: a stop that comes while its start is held releases the start first.
 * The cost is that a start reaches the cloud up to `holdMs` late (its timestamp is
 * still the moment motion began).
 *
 * After the start went out, the event may still change: a person seen later (after the
 * hold) or a zone first touched later. Then the start is sent AGAIN, same event id and
 * timestamp, with the new type, detection or zones, and a new thumbnail: as a VBC01 start
 * for an existing event, the cloud updates the event and may alert for it then (an alert
 * for "people only" or "only in the driveway" that the first start did not satisfy).
 */
import type { ActivityPayload } from '../types';
import { best, keep } from './filter';
import { drawBox } from './jpeg';
import { SMART_LABEL, type Detection, type DetectionFilter, type FrameDetections } from './types';

/** A start with what the detector saw (ActivityPayload's `detection`). */
export type SmartActivityPayload = ActivityPayload;

export interface SmartSink {
  activity(kind: 'start' | 'stop', payload: SmartActivityPayload): void;
  thumbnail(eventId: string, jpeg: Buffer): void;
  problem(message: string): void;
}

export interface SmartOptions {
  filter: DetectionFilter;
  /** the longest a start waits for the detector (ms) */
  holdMs: number;
  /** how far before a start a frame may be and still describe its event (ms): the motion's onset */
  lookbackMs: number;
}

type Seen = { detection: Detection; jpeg: Buffer; timeMs: number };
type Held = { eventId: string; payload: SmartActivityPayload; startMs: number; picture?: Buffer; timer: NodeJS.Timeout };
/** the start sent for the event in progress, as it was last sent */
type Sent = { eventId: string; payload: SmartActivityPayload; startMs: number };

export class SmartEvents {
  private seen?: Seen;
  private held?: Held;
  private sent?: Sent;

  constructor(
    private readonly opts: SmartOptions,
    private readonly sink: SmartSink,
  ) {}

  /** A detector result for a frame taken at `timeMs`: the camera's best detection, if any. */
  observe(jpeg: Buffer, timeMs: number, result: FrameDetections): Detection | undefined {
    const top = best(keep(result.detections, this.opts.filter));
    if (!top) return undefined;
    if (!this.seen || this.seen.timeMs < timeMs - this.opts.lookbackMs || better(top, this.seen.detection)) {
      this.seen = { detection: top, jpeg, timeMs };
    }
    const h = this.held;
    if (h && top.label === SMART_LABEL && timeMs >= h.startMs - this.opts.lookbackMs) this.release();
    else if (!h && top.label === SMART_LABEL) this.upgrade(timeMs);
    return top;
  }

  /** The event in progress touched more zones: a held start takes them, a sent one goes again with them and `picture`. */
  zones(eventId: string, zones: string[], picture?: Buffer): void {
    if (this.held?.eventId === eventId) {
      this.held.payload = { ...this.held.payload, zones };
      return;
    }
    const s = this.sent;
    if (s?.eventId !== eventId) return;
    s.payload = { ...s.payload, zones };
    this.sink.activity('start', s.payload);
    if (picture) this.sink.thumbnail(eventId, picture);
  }

  /** Motion started: sent now when a person was already seen, else held for at most holdMs. */
  start(eventId: string, payload: ActivityPayload, startMs: number, picture?: Buffer): void {
    if (this.held) this.release();
    const timer = setTimeout(() => this.release(), this.opts.holdMs);
    this.held = { eventId, payload, startMs, picture, timer };
    const s = this.current(startMs);
    if (s?.detection.label === SMART_LABEL) this.release();
  }

  /** Motion stopped: a held start goes first, so the pair stays in order. */
  stop(payload: ActivityPayload): void {
    if (this.held?.eventId === payload.eventId) this.release();
    this.seen = undefined;
    this.sent = undefined;
    this.sink.activity('stop', payload);
  }

  close(): void {
    if (this.held) clearTimeout(this.held.timer);
    this.held = undefined;
    this.seen = undefined;
    this.sent = undefined;
  }

  /** The best detection that belongs to an event started at startMs. */
  private current(startMs: number): Seen | undefined {
    const s = this.seen;
    return s && s.timeMs >= startMs - this.opts.lookbackMs ? s : undefined;
  }

  private release(): void {
    const h = this.held;
    if (!h) return;
    clearTimeout(h.timer);
    this.held = undefined;
    const s = this.current(h.startMs);
    const payload: SmartActivityPayload = s
      ? { ...h.payload, ...(s.detection.label === SMART_LABEL ? { activityType: 'MOTION_SMART' } : {}), detection: s.detection }
      : h.payload;
    this.sink.activity('start', payload);
    this.sent = { eventId: h.eventId, payload, startMs: h.startMs };
    const picture = s ? this.boxed(s) : h.picture;
    if (picture) this.sink.thumbnail(h.eventId, picture);
  }

  /** A person seen after the start went out as MOTION: the start again, now MOTION_SMART, with the boxed picture. */
  private upgrade(timeMs: number): void {
    const sent = this.sent;
    const s = sent && this.current(sent.startMs);
    if (!sent || !s || sent.payload.activityType === 'MOTION_SMART' || timeMs < sent.startMs - this.opts.lookbackMs) return;
    sent.payload = { ...sent.payload, activityType: 'MOTION_SMART', detection: s.detection };
    this.sink.activity('start', sent.payload);
    this.sink.thumbnail(sent.eventId, this.boxed(s));
  }

  private boxed(s: Seen): Buffer {
    try {
      return drawBox(s.jpeg, s.detection.box);
    } catch (err) {
      this.sink.problem(`drawing the box on the thumbnail: ${(err as Error).message}`);
      return s.jpeg;
    }
  }
}

function better(a: Detection, b: Detection): boolean {
  const person = (d: Detection): number => (d.label === SMART_LABEL ? 1 : 0);
  return person(a) > person(b) || (person(a) === person(b) && a.score > b.score);
}
