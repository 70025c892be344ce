/**
 * What every HTTP alert node (webhook, ntfy, Pushover, Web Push) does the same way: read its
 * settings once at deploy (a bad one turns the node off with the reason on its status and in
 * the log, and every alert then gets a "suppressed" report saying why), then run the shared
 * outbox, noise control and retries with an HttpChannel whose requests the node builds.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { DEFAULT_LINK_DAYS, eventLinker } from '../event-links';
import { numberSetting } from '../node-config';
import { credentialSecret } from '../secret-box';
import type { EventStore } from '../store/store';
import type { OutboxRow } from '../store/outbox';
import { alertNodeConfig, wireAlertNode, type AlertNodeSettings, type WiredAlertNode } from './alert-node';
import { offForGood, startWhenConfigured } from './off-until-configured';
import { pageConnection } from './page-connection';
import { AlertService } from './alert-service';
import { HttpChannel, type HttpRequest, type HttpRequests } from './http-channel';
import { notificationOf, type Notification, type NotificationOptions } from './notification';
import { livePolicy } from './live-policy';
import { AlertPolicy } from './policy';
import { isAlertChannel } from '../contract/admin-settings';
import { CONNECTION_FIELDS } from '../contract/alert-connection';

export interface HttpAlertDef extends NodeDef, AlertNodeSettings {
  timeoutSeconds?: string | number;
  /** the runtime's public address (`${PICAM_PUBLIC_URL}`): links in alerts are absolute under it */
  publicUrl?: string;
  linkDays?: string | number;
}

/** What a node's settings make of it: its receiver's host and how to build one request. */
export interface HttpAlertSetup {
  host: string;
  /** `n`: the row as a notification (title, message, link, picture) */
  request(row: OutboxRow, n: Notification, alert?: OutboxRow): HttpRequests | Promise<HttpRequests>;
  onRefused?(status: number, row: OutboxRow, req: HttpRequest): boolean | Promise<boolean>;
  /** outbox target names; default one, the channel's name (a corrected address still gets what waits) */
  targets?: string[];
  /** the store, once open (Web Push reads its subscriptions there) */
  useStore?(store: EventStore): void;
  /**
   * false: nobody could receive an alert now (Web Push before any browser subscribed): it is not
   * queued, rather than failing in the alert log once per alert.
   */
  anyReceiver?(): Promise<boolean>;
  /**
   * true: the picture link is signed and opens without a login (Web Push: the phone fetches the
   * picture itself, without the dashboard's cookie); else it is the API's, behind its login.
   */
  signedPictures?: boolean;
}

/**
 * Starts an HTTP alert node. `setup` reads the node's settings, with the fields the admin page
 * sets (`page`, page-connection.ts) in place of the node's own, and throws an Error with a
 * reason a user can act on when they cannot work (no token, not a URL, a bad template). It runs
 * again after each change on the page: the next alert goes where the page now says.
 */
export function startHttpAlertNode(
  RED: NodeAPI,
  node: Node,
  def: HttpAlertDef,
  channel: string,
  setup: (page: Record<string, string>) => HttpAlertSetup,
): void {
  let config: ReturnType<typeof alertNodeConfig>;
  try {
    config = alertNodeConfig(def);
  } catch (err) {
    return offForGood(node, channel, 1, (err as Error).message);
  }
  const page = isAlertChannel(channel) && CONNECTION_FIELDS[channel].length ? pageConnection(RED, channel, (m) => node.warn(m)) : undefined;
  let s: HttpAlertSetup | undefined;
  let off: string | undefined;
  const configure = () => {
    try {
      s = setup(page?.values() ?? {});
      off = undefined;
    } catch (err) {
      s = undefined;
      off = (err as Error).message;
    }
  };
  configure();
  // Without the page (Web Push) nothing can change what is wrong: off as before, until a redeploy.
  if (!page && off) return offForGood(node, channel, 1, off);
  const where = () => (s ? `${s.host}${page?.inForce ? ' (admin page)' : ''}` : '');
  let wired: WiredAlertNode | undefined;
  startWhenConfigured({
    node,
    channel,
    outputs: 1,
    off: () => off,
    // Web Push has nothing on the page to follow.
    onChange: (changed) =>
      page
        ? page.onChange(() => {
            configure();
            node.log(off ? `${node.type} is off: ${off}` : `${node.type} now sends to ${where()}`);
            wired?.refreshStatus();
            changed();
          })
        : () => undefined,
    start: () =>
      (wired = wireHttpAlertNode(
        RED,
        node,
        def,
        channel,
        config,
        () => s,
        () => off,
        where,
      )),
  });
}

/** The working node: `current` is the setup now in force (undefined while the page leaves it off). */
function wireHttpAlertNode(
  RED: NodeAPI,
  node: Node,
  def: HttpAlertDef,
  channel: string,
  config: ReturnType<typeof alertNodeConfig>,
  current: () => HttpAlertSetup | undefined,
  off: () => string | undefined,
  where: () => string,
): WiredAlertNode {
  const first = current()!;
  const publicUrl = def.publicUrl?.trim() || undefined;
  const secret = credentialSecret(RED.settings as { credentialSecret?: unknown });
  const linkDays = numberSetting(def.linkDays, DEFAULT_LINK_DAYS);
  const links: NotificationOptions = {
    format: config.format,
    publicUrl,
    eventLink: eventLinker(publicUrl, linkDays, secret, (m) => node.warn(m)),
    // Quiet: the event links' warning above said why already.
    pictureLink: first.signedPictures ? eventLinker(publicUrl, linkDays, secret, () => undefined, 'picture') : undefined,
  };
  const setup = () => {
    const s = current();
    if (!s) throw new Error(`${node.type} is off: ${off() ?? 'not configured'}`);
    return s;
  };
  const host = () => current()?.host ?? '(off)';
  const wired = wireAlertNode({
    RED,
    node,
    channel,
    databaseId: def.database,
    outputs: 1,
    describe: where,
    off,
    targetsFor: async () => {
      const s = current();
      return s?.anyReceiver && !(await s.anyReceiver()) ? [] : undefined;
    },
    start: (store) => {
      first.useStore?.(store);
      return new AlertService({
        outbox: store.outbox(channel, node.id),
        channel: new HttpChannel({
          name: channel,
          // read at each request: a change on the admin page counts for the next one
          get host() {
            return host();
          },
          timeoutMs: numberSetting(def.timeoutSeconds, 10) * 1000,
          request: (row, alert) => setup().request(row, notificationOf(row, links), alert),
          onRefused: (status, row, req) => current()?.onRefused?.(status, row, req) ?? false,
        }),
        policy: isAlertChannel(channel)
          ? livePolicy({ node, channel, base: config.policy, store, sendsTo: where })
          : new AlertPolicy(config.policy, Date.now, store.alertCooldowns(node.id)),
        targets: first.targets ?? [channel],
        giveUpAfterMs: config.giveUpAfterMs,
        deliversFailedClips: true,
        report: (r) => wired.report(r),
        displayTarget: host,
        onError: (err) => node.error(`outbox: ${err.message}`),
      });
    },
  });
  return wired;
}
