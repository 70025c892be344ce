/**
 * An alert node's noise control with what the admin page set merged over the node's own
 * settings (issue 23): on/off, modes, cooldown, quiet hours, and which cameras alert. The
 * override is read from the store when the node starts and follows every later change made on
 * the page at once (admin-settings.ts), without a redeploy. A change starts the duplicate memory
 * afresh (it errs towards telling the user once more); cooldowns are in the store
 * (alert-cooldowns.ts) and carry on, measured with the new length.
 */
import type { Node } from 'node-red';
import { alertChannels, publishedOverride, watchOverride } from '../admin-settings';
import { alertScope, parseAlertOverrides, type AlertChannel, type AlertOverrides } from '../contract/admin-settings';
import type { AlertCooldowns } from '../store/alert-cooldowns';
import type { EventStore } from '../store/store';
import type { Alert } from '../types';
import { AlertPolicy, type PolicyOptions, type Verdict } from './policy';

/** The node's settings with the override's fields in their place. */
export function mergedPolicy(base: PolicyOptions, o: AlertOverrides): PolicyOptions {
  return {
    ...base,
    modes: o.modes ?? base.modes,
    cooldownMs: o.cooldownSeconds !== undefined ? o.cooldownSeconds * 1000 : base.cooldownMs,
    quietHours: o.quietStart && o.quietEnd ? { start: o.quietStart, end: o.quietEnd } : base.quietHours,
    quietAction: o.quietAction ?? base.quietAction,
  };
}

export class LivePolicy {
  private policy: AlertPolicy;
  private overrides: AlertOverrides = {};

  constructor(
    private readonly base: PolicyOptions,
    private readonly warn: (message: string) => void,
    /** the node's cooldowns in the store; without it, in memory */
    private readonly cooldowns?: AlertCooldowns,
  ) {
    this.policy = new AlertPolicy(base, Date.now, cooldowns);
  }

  /** Takes an override as stored; one that does not parse (edited by hand) leaves the current one and says why. */
  apply(value: Record<string, unknown>): void {
    try {
      const overrides = parseAlertOverrides(value);
      this.policy = new AlertPolicy(mergedPolicy(this.base, overrides), Date.now, this.cooldowns);
      this.overrides = overrides;
    } catch (err) {
      // SettingsProblem, or AlertPolicy refusing a value: the node keeps sending as it did.
      this.warn(`the admin page's alert settings are not used: ${(err as Error).message}`);
    }
  }

  decide(alert: Alert): Verdict {
    if (this.overrides.enabled === false) return { action: 'suppress', reason: 'this channel is turned off on the admin page' };
    const cameras = this.overrides.cameras;
    const device = typeof alert?.deviceId === 'string' ? alert.deviceId : '';
    if (cameras && !cameras.includes(device))
      return { action: 'suppress', reason: `camera ${device || '(none)'} does not alert on this channel (admin page)` };
    return this.policy.decide(alert);
  }

  forget(alert: Alert): void {
    this.policy.forget(alert);
  }
}

export interface LivePolicyOptions {
  node: Node;
  channel: AlertChannel;
  base: PolicyOptions;
  store: EventStore;
  /** where it sends, for the admin page: never a token or a URL's secret */
  sendsTo(): string;
}

/** The node's policy, following the admin page; released when the node closes. */
export function livePolicy({ node, channel, base, store, sendsTo }: LivePolicyOptions): LivePolicy {
  const scope = alertScope(channel);
  const policy = new LivePolicy(base, (m) => node.warn(m), store.alertCooldowns(node.id));
  let heard = false;
  const published = publishedOverride(scope);
  if (published) policy.apply(published);
  const stopWatching = watchOverride(scope, (value) => {
    heard = true;
    policy.apply(value);
  });
  // The store's word unless the page published a newer one while it was read.
  if (!published)
    store
      .settingsOverrides()
      .get(scope)
      .then(
        (value) => value && !heard && policy.apply(value),
        (err: Error) => node.warn(`the admin page's alert settings cannot be read: ${err.message}`),
      );
  const unlist = alertChannels.register(node.id, {
    channel,
    get sendsTo() {
      return sendsTo();
    },
  });
  node.on('close', () => {
    stopWatching();
    unlist();
  });
  return policy;
}
