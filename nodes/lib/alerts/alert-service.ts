/**
 * What every alert node does with its input, whatever its channel: read it
 * against the contract, apply noise control, write one outbox row per
 * destination (committed before anything is sent), and let the dispatcher
 * deliver. telegram-alert and webhook-alert are this plus a Channel.
 */
import { createHash } from 'node:crypto';
import type { ClipReadyPayload } from '../contract/recordings';
import type { AddResult, AlertOutbox, NewDelivery } from '../store/outbox';
import type { BackoffOptions } from '../backoff';
import type { Alert, AlertSnapshot, DeliveryReport } from '../types';
import { readAlertInput } from './contract';
import { Dispatcher, type Channel } from './dispatcher';
import type { AlertPolicy } from './policy';
import type { SendLimiter } from './send-limiter';

export interface AlertServiceOptions {
  outbox: AlertOutbox;
  channel: Channel;
  /** decides each alert (a LivePolicy follows the admin page) */
  policy: Pick<AlertPolicy, 'decide' | 'forget'>;
  /** where every alert goes: chat ids, URLs */
  targets: readonly string[];
  giveUpAfterMs: number;
  backoff?: BackoffOptions;
  /** Telegram's limits hold per bot: every alert node of one bot shares its limiter */
  limiter?: SendLimiter;
  report(report: DeliveryReport): void;
  /** how a destination appears in reports, when the outbox key is not for users (a webhook's host) */
  displayTarget?: (target: string) => string;
  /** whether a failed clip is delivered too (a webhook tells its receiver); otherwise it is only reported */
  deliversFailedClips?: boolean;
  /** the outbox failed while delivering; the rows stay and are retried */
  onError(err: Error): void;
  now?: () => number;
}

/** What became of one input; the dispatcher reports the sends later. */
export interface Accepted {
  /** what was decided at once: suppressed, duplicate, merged snapshots */
  reports: DeliveryReport[];
  /** rows now waiting to be sent */
  queued: number;
  /** something the user should hear about that did not stop the alert */
  warning?: string;
}

export class InvalidAlert extends Error {}

export class AlertService {
  readonly dispatcher: Dispatcher;
  private readonly now: () => number;
  private started = false;
  private readonly display: (target: string) => string;

  constructor(private readonly opts: AlertServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.display = opts.displayTarget ?? ((t) => t);
    this.dispatcher = new Dispatcher({
      outbox: opts.outbox,
      channel: opts.channel,
      backoff: opts.backoff ?? { baseMs: 2000, maxMs: 5 * 60_000 },
      giveUpAfterMs: opts.giveUpAfterMs,
      limiter: opts.limiter,
      report: (r) => opts.report({ ...r, target: r.target && this.display(r.target) }),
      onError: opts.onError,
      now: opts.now,
    });
  }

  /** Starts delivering, beginning with what the outbox still holds from before a restart. */
  start(): void {
    this.started = true;
    this.dispatcher.wake();
  }

  /**
   * Takes one input message's payload. `targets` narrows the destinations (a
   * snapshot answering one chat's request). Resolves after the outbox committed.
   */
  async accept(payload: unknown, topic?: unknown, targets = this.opts.targets): Promise<Accepted> {
    const input = await readAlertInput(payload, topic, this.now());
    if (input.type === 'invalid') throw new InvalidAlert(input.reason);
    if (input.type === 'snapshot') return this.acceptSnapshot(input.snapshot, input.image, targets);
    if (input.type === 'clip') return this.acceptClip(input.clip, targets);

    const { alert, image } = input;
    const verdict = this.opts.policy.decide(alert);
    const suppressed = verdict.action === 'suppress' ? verdict.reason : undefined;
    const deliveries: NewDelivery[] = targets.map((target) => ({
      target,
      item: 'alert',
      dedupeKey: `alert:${target}:${alert.kind}:${alert.deviceId}:${alert.eventId ?? alert.timeMs}${updateKey(alert)}`,
      payload: alert,
      image,
      silent: verdict.action === 'send' && verdict.silent,
      deviceId: alert.deviceId,
      eventId: alert.eventId,
      suppressedBecause: suppressed,
    }));
    const cooldown = verdict.action === 'send' ? verdict.cooldown : undefined;
    const results = await this.opts.outbox.add(deliveries, cooldown).catch((err: unknown) => {
      this.opts.policy.forget(alert); // not in the outbox: a retry decides afresh
      throw err;
    });
    return this.settle(results, deliveries, alert.kind, input.imageProblem && `alert image left out: ${input.imageProblem}`);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async acceptSnapshot(snapshot: AlertSnapshot, image: Buffer, targets: readonly string[]): Promise<Accepted> {
    const digest = createHash('sha256').update(image).digest('hex').slice(0, 16);
    const deliveries: NewDelivery[] = targets.map((target) => ({
      target,
      item: 'snapshot',
      dedupeKey: `snapshot:${target}:${snapshot.deviceId}:${snapshot.eventId ?? snapshot.requestId}:${digest}`,
      payload: snapshot,
      image,
      deviceId: snapshot.deviceId,
      eventId: snapshot.eventId,
    }));
    return this.settle(await this.opts.outbox.add(deliveries), deliveries, 'snapshot');
  }

  /** A clip follows its event's alert to each destination the alert went to (AlertOutbox holds it until then). */
  private async acceptClip(clip: ClipReadyPayload, targets: readonly string[]): Promise<Accepted> {
    if (clip.state === 'failed' && !this.opts.deliversFailedClips) {
      const reason = `the clip failed: ${clip.reason ?? 'no reason given'}`;
      const base = { channel: this.opts.channel.name, kind: 'clip' as const, deviceId: clip.cameraId, eventId: clip.eventId };
      return {
        reports: targets.map((t) => ({
          ...base,
          target: this.display(t),
          status: 'suppressed' as const,
          reason,
          attempts: 0,
          timeMs: this.now(),
        })),
        queued: 0,
      };
    }
    const deliveries: NewDelivery[] = targets.map((target) => ({
      target,
      item: 'clip',
      dedupeKey: `clip:${target}:${clip.cameraId}:${clip.eventId}:${clip.state}`,
      payload: clip,
      deviceId: clip.cameraId,
      eventId: clip.eventId,
    }));
    return this.settle(await this.opts.outbox.add(deliveries), deliveries, 'clip');
  }

  private settle(results: AddResult[], deliveries: NewDelivery[], kind: DeliveryReport['kind'], warning?: string): Accepted {
    const reports: DeliveryReport[] = [];
    let queued = 0;
    results.forEach((r, i) => {
      const d = deliveries[i]!;
      const base = { channel: this.opts.channel.name, target: this.display(d.target), kind, deviceId: d.deviceId, eventId: d.eventId };
      const report = (status: DeliveryReport['status'], reason?: string) =>
        reports.push({ ...base, status, reason, attempts: 0, outboxId: r.id, timeMs: this.now() });
      if (r.duplicate) report('suppressed', 'duplicate: already in the outbox');
      else if (r.state === 'suppressed') report('suppressed', r.reason);
      else if (r.state === 'merged') report('updated', r.reason);
      else queued++;
    });
    if (queued > 0 && this.started) this.dispatcher.wake();
    return { reports, queued, warning };
  }
}

/**
 * An update of an event (Alert.update) gets its own outbox row: the key of the event's first
 * alert would make it a duplicate of that row. What it says (type, zones, label) is in the key,
 * so a redelivered update is still one row, and a later, different update another.
 */
function updateKey(alert: Alert): string {
  if (!alert.update) return '';
  const what = [alert.activityType ?? '', (alert.zones ?? []).join(','), alert.detection?.label ?? ''].join('|');
  return `:update:${createHash('sha256').update(what).digest('hex').slice(0, 16)}`;
}
