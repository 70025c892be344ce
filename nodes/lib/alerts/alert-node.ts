/**
 * The Node-RED side every alert node shares: open the outbox database, hold
 * input while it opens, hand each message to the AlertService, send delivery
 * reports on output 1, keep the status current, and close cleanly (the sends
 * in flight finish and are recorded before the database is released).
 */
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { EventStore } from '../store/store';
import { backoffMs } from '../backoff';
import { useDatabase, type DatabaseProvider } from '../database-user';
import { numberSetting } from '../node-config';
import { describeStoreError, isTransientStoreError } from '../store-errors';
import { compact, StatusReporter, type StatusLevel } from '../status';
import type { CameraMode, DeliveryReport } from '../types';
import { InvalidAlert, type Accepted, type AlertService } from './alert-service';
import { cameraPicture } from './contract';
import type { FormatOptions } from './format';
import { parseLabelRule } from './label-rule';
import { parseModes, type PolicyOptions } from './policy';
import { ALERT_SETTING_DEFAULTS } from './shared-settings';
import { parseZoneList } from './zone-rule';

type Send = (msg: Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

/** The noise-control and retry settings every alert node's editor offers. */
export interface AlertNodeSettings {
  database: string;
  timeZone?: string;
  cooldownSeconds?: string | number;
  modes?: string;
  /** "only for motion in zones": zone names, comma-separated */
  zones?: string;
  /** "person" or "driveway=person; garden=person, dog": activity alerts only for these detector labels */
  onlyLabels?: string;
  quietStart?: string;
  quietEnd?: string;
  quietAction?: string;
  giveUpHours?: string | number;
}

export interface AlertNodeConfig {
  policy: PolicyOptions;
  format: FormatOptions;
  giveUpAfterMs: number;
}

/** Reads the shared settings; throws with a message for the node status on a bad value. */
export function alertNodeConfig(def: AlertNodeSettings): AlertNodeConfig {
  const timeZone = def.timeZone?.trim() || undefined;
  if (timeZone) {
    try {
      new Intl.DateTimeFormat('en', { timeZone });
    } catch {
      throw new Error(`unknown time zone "${timeZone}" (expected an IANA name such as Europe/Berlin)`);
    }
  }
  const modes: CameraMode[] = parseModes(def.modes?.trim() || ALERT_SETTING_DEFAULTS.modes);
  const quietStart = def.quietStart?.trim();
  const quietEnd = def.quietEnd?.trim();
  return {
    format: { timeZone },
    giveUpAfterMs: numberSetting(def.giveUpHours, ALERT_SETTING_DEFAULTS.giveUpHours) * 3600_000,
    policy: {
      cooldownMs: numberSetting(def.cooldownSeconds, ALERT_SETTING_DEFAULTS.cooldownSeconds) * 1000,
      modes,
      zones: parseZoneList(def.zones),
      onlyLabels: parseLabelRule(def.onlyLabels),
      quietHours: quietStart && quietEnd ? { start: quietStart, end: quietEnd } : undefined,
      quietAction: def.quietAction === 'drop' ? 'drop' : 'silent',
      timeZone,
    },
  };
}

export interface AlertNodeWiring {
  RED: NodeAPI;
  node: Node;
  /** the channel's name, for reports made before the service runs */
  channel: string;
  databaseId: string;
  outputs: number;
  /** builds the service once the database is open; a string says why it cannot run */
  start(store: EventStore): AlertService;
  /** destinations for one input, when not all of them (a snapshot answering one chat; [] when nobody could receive it) */
  targetsFor?(payload: unknown): string[] | undefined | Promise<string[] | undefined>;
  /** text for the status badge once running */
  describe(): string;
  /**
   * why the node cannot send now (the admin page cleared the token the environment never had);
   * each input then gets a "suppressed" report saying so. undefined: it sends.
   */
  off?(): string | undefined;
  onClose?(): Promise<void>;
}

export interface WiredAlertNode {
  status: StatusReporter;
  /** a delivery report, out of output 1 */
  report(report: DeliveryReport): void;
  /** shows where it sends now (after a change on the admin page) */
  refreshStatus(): void;
}

export function wireAlertNode(w: AlertNodeWiring): WiredAlertNode {
  const { node } = w;
  const status = new StatusReporter(node);
  const db = w.RED.nodes.getNode(w.databaseId) as unknown as DatabaseProvider<EventStore> | null;
  const counts = { sent: 0, suppressed: 0, failed: 0 };
  let service: AlertService | undefined;
  // While the outbox cannot write (a full disk), inputs wait here in arrival order and the
  // first is retried with backoff: alerts leave in the order they came once it can write again.
  const held: Array<[NodeMessageInFlow, Send, Done]> = [];
  let retryTimer: NodeJS.Timeout | undefined;
  let retrying = false;
  let retryAttempt = 0;
  const retryHeld = () => {
    retryTimer = undefined;
    const first = held.shift();
    retrying = first !== undefined;
    if (first) handle(...first, true);
  };

  const showCounts = () =>
    status.soon((): [StatusLevel, string] => {
      const s = service?.dispatcher.stats;
      const off = w.off?.();
      if (off) return ['warn', `off: ${off}`.slice(0, 100)];
      const parts = [`${compact(counts.sent)} sent`];
      if (counts.suppressed) parts.push(`${compact(counts.suppressed)} held back`);
      if (counts.failed) parts.push(`${compact(counts.failed)} failed${s?.lastGiveUp ? ` (${s.lastGiveUp})` : ''}`);
      if (s?.lastFailure) return ['warn', `retrying: ${s.lastFailure}`.slice(0, 80)];
      return [counts.failed ? 'warn' : 'ok', `${w.describe()} · ${parts.join(', ')}`.slice(0, 120)];
    });

  /** `send` of the input handler for reports made there; node.send for the dispatcher's later ones. */
  const report = (r: DeliveryReport, send: Send = (m) => node.send(m)) => {
    if (r.status === 'sent' || r.status === 'updated') counts.sent++;
    else if (r.status === 'suppressed') counts.suppressed++;
    else if (r.status === 'failed') {
      counts.failed++;
      node.warn(`${r.channel} alert${r.target ? ` to ${r.target}` : ''} for ${r.deviceId} failed: ${r.reason}`);
    }
    send([{ topic: `delivery/${r.status}`, payload: r }, ...Array<null>(w.outputs - 1).fill(null)]);
    showCounts();
  };

  /**
   * One input: an alert, or an array of them (mqtt-processor's alerts of one broker batch), each
   * taken as if it had come alone; their outbox rows join one store transaction. An alert of an
   * array that fails for what it is, or cannot be written for good, gets its failed report and
   * fails the input with its reason; the others are taken. When the outbox cannot write now,
   * the whole input waits and comes again (what was already added is then a duplicate).
   */
  const accept = async (s: AlertService, msg: NodeMessageInFlow): Promise<Accepted & { error?: Error }> => {
    if (!Array.isArray(msg.payload)) {
      const payload = cameraPicture(msg as Parameters<typeof cameraPicture>[0]) ?? msg.payload;
      return s.accept(payload, msg.topic, await w.targetsFor?.(payload));
    }
    const items = msg.payload as unknown[];
    const settled = await Promise.allSettled(items.map(async (a) => s.accept(a, msg.topic, await w.targetsFor?.(a))));
    const transient = settled.find((r) => r.status === 'rejected' && isTransientStoreError(r.reason));
    if (transient) throw (transient as PromiseRejectedResult).reason;
    const merged: Accepted & { error?: Error } = { reports: [], queued: 0 };
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        merged.reports.push(...r.value.reports);
        merged.queued += r.value.queued;
        if (r.value.warning) node.warn(r.value.warning);
        return;
      }
      const err = r.reason as Error;
      merged.error ??= new Error(`${node.type}: alert ${i + 1} of ${items.length}: ${err.message}`);
      if (!(err instanceof InvalidAlert))
        merged.reports.push({ ...offReport(w.channel, items[i], `outbox write failed: ${err.message}`), status: 'failed' });
    });
    return merged;
  };

  const handle = (msg: NodeMessageInFlow, send: Send, done: Done, isRetry = false) => {
    if (!isRetry && (held.length > 0 || retryTimer || retrying)) {
      held.push([msg, send, done]);
      return;
    }
    if (!service) return; // not called before the outbox is open (useDatabase)
    const off = w.off?.();
    if (off) {
      report(offReport(w.channel, msg.payload, `${node.type} is off: ${off}`), send);
      done();
      if (isRetry) retryHeld();
      return;
    }
    accept(service, msg).then(
      (accepted) => {
        if (isRetry) {
          retryAttempt = 0;
          retryHeld(); // the next one in line, now that the outbox writes
        }
        for (const r of accepted.reports) report(r, send);
        if (accepted.warning) node.warn(accepted.warning);
        showCounts();
        if (accepted.error) status.now('warn', accepted.error.message.slice(0, 80));
        done(accepted.error);
      },
      (err: Error) => {
        if (err instanceof InvalidAlert) {
          status.now('warn', `bad input: ${err.message}`.slice(0, 80));
          done(new Error(`${node.type}: ${err.message}`));
        } else if (isTransientStoreError(err)) {
          // Not done until the row is in the outbox: the device message stays unacknowledged.
          status.now('error', `outbox cannot write: ${describeStoreError(err)}; retrying`.slice(0, 100));
          held.unshift([msg, send, done]);
          retrying = false;
          clearTimeout(retryTimer);
          retryTimer = setTimeout(retryHeld, backoffMs(++retryAttempt, { baseMs: 250, maxMs: 5000 }));
          return;
        } else {
          status.now('error', `outbox write failed: ${err.message}`);
          report({ ...offReport(w.channel, msg.payload, `outbox write failed: ${err.message}`), status: 'failed' }, send);
          done(err);
        }
        if (isRetry) retryHeld();
      },
    );
  };

  useDatabase<EventStore, Send>({
    node,
    database: db,
    status,
    label: 'outbox',
    ready: (s) => {
      service = w.start(s); // a throw (no token, no targets) stops the node: useDatabase refuses its input
      service.start();
      const off = w.off?.();
      if (off) status.now('warn', `off: ${off}`.slice(0, 100));
      else status.now('ok', w.describe());
    },
    input: (_s, msg, send, done) => handle(msg, send, done),
    // Every alert gets its report, also when the node cannot run at all.
    refuse: (msg, send, done, err) => {
      report({ ...offReport(w.channel, msg.payload, err.message), status: 'failed' }, send);
      done(err);
    },
    close: async () => {
      clearTimeout(retryTimer);
      for (const [, , inputDone] of held.splice(0)) inputDone(new Error(`${node.type}: closed before the outbox could write`));
      await w.onClose?.();
      await service?.close();
    },
  });

  return { status, report: (r) => report(r), refreshStatus: showCounts };
}

/** Output 1's message for an alert a node will not send at all (no token, no targets). */
export function offReport(channel: string, payload: unknown, reason: string): DeliveryReport {
  const p = (payload && typeof payload === 'object' ? payload : {}) as { kind?: string; deviceId?: string; eventId?: string };
  return {
    status: 'suppressed',
    channel,
    kind: (p.kind as DeliveryReport['kind']) ?? 'text',
    deviceId: typeof p.deviceId === 'string' ? p.deviceId : '',
    eventId: typeof p.eventId === 'string' ? p.eventId : undefined,
    reason,
    attempts: 0,
    timeMs: Date.now(),
  };
}
