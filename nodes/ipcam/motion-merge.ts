/**
 * One motion event stream from two sources: our analyser of the sub stream
 * (the Camera's activity events) and the camera's own ONVIF events. An event
 * opens when the first source sees motion and closes when none does, so "both"
 * gives one event, not two overlapping ones. The payloads are the analyser's
 * (nodes/lib/camera/motion.ts activityPayload), so the cloud sees one format.
 */
import type { ActivityPayload } from '../lib/types';
import { activityPayload, newEventId } from '../lib/camera/motion';

export type MotionSourceName = 'analyser' | 'onvif';

export interface MergedMotionEvents {
  activity(kind: 'start' | 'stop', payload: ActivityPayload): void;
  thumbnail(eventId: string, jpeg: Buffer): void;
}

export class MotionMerge {
  private open?: { eventId: string; startedMs: number };
  private readonly active = new Set<MotionSourceName>();

  constructor(
    private readonly out: MergedMotionEvents,
    /** the latest picture, for the thumbnail of an event the camera's ONVIF events started */
    private readonly picture: () => Buffer | undefined,
  ) {}

  /** The number of events opened (for the node's counters). */
  opened = 0;

  /** The analyser's start or stop (its own event id is used when it opens the event). */
  analyser(kind: 'start' | 'stop', payload: ActivityPayload): void {
    const atMs = typeof payload.timestamp === 'number' ? payload.timestamp * 1000 : Date.now();
    if (kind === 'start') {
      this.active.add('analyser');
      if (this.open) return;
      this.open = { eventId: payload.eventId ?? newEventId(), startedMs: atMs };
      this.opened++;
      this.out.activity('start', { ...payload, eventId: this.open.eventId });
    } else {
      this.active.delete('analyser');
      this.closeIfQuiet(Date.now());
    }
  }

  /** The analyser's thumbnail, passed on when its event is the open one. */
  analyserThumbnail(eventId: string, jpeg: Buffer): void {
    if (this.open?.eventId === eventId) this.out.thumbnail(eventId, jpeg);
  }

  /** The camera's ONVIF motion state. */
  onvif(motion: boolean, atMs = Date.now()): void {
    if (!motion) {
      this.active.delete('onvif');
      return this.closeIfQuiet(atMs);
    }
    if (this.active.has('onvif')) return;
    this.active.add('onvif');
    if (this.open) return;
    const eventId = newEventId();
    this.open = { eventId, startedMs: atMs };
    this.opened++;
    // The camera says only "motion": no confidence or region of ours to give.
    this.out.activity('start', { eventId, activityType: 'MOTION', timestamp: Math.round(atMs / 1000) });
    const jpeg = this.picture();
    if (jpeg) this.out.thumbnail(eventId, jpeg);
  }

  /** Ends an open event whatever the sources say (disarmed, PRIVACY, stopped). */
  end(atMs = Date.now()): void {
    this.active.clear();
    this.closeIfQuiet(atMs);
  }

  private closeIfQuiet(atMs: number): void {
    if (!this.open || this.active.size > 0) return;
    const { eventId, startedMs } = this.open;
    this.open = undefined;
    this.out.activity('stop', activityPayload(eventId, { type: 'stop', atMs, startedMs, durationMs: atMs - startedMs }));
  }
}
