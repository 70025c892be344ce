/**
 * What every HTTP alert node (webhook, ntfy, Pushover, Web Push) does the same way: read its
 * settings once at deploy (a bad one turns the node off with the reason on its status and in
 * the log, and every alert then gets a "suppressed" report saying why), then run the shared
 * outbox, noise control and retries with an HttpChannel whose requests the node builds.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { DEFAULT_LINK_DAYS, eventLinker } from '../event-links';
import { numberSetting } from '../node-config';
import { credentialSecret } from '../secret-box';
import { StatusReporter } from '../status';
import type { EventStore } from '../store/store';
import type { OutboxRow } from '../store/outbox';
import { alertNodeConfig, offReport, wireAlertNode, type AlertNodeSettings } from './alert-node';
import { AlertService } from './alert-service';
import { HttpChannel, type HttpRequest, type HttpRequests } from './http-channel';
import { notificationOf, type Notification, type NotificationOptions } from './notification';
import { livePolicy } from './live-policy';
import { AlertPolicy } from './policy';
import { isAlertChannel } from '../contract/admin-settings';

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
 * Starts an HTTP alert node. `setup` reads the node's settings and throws an Error with a
 * reason a user can act on when they cannot work (no token, not a URL, a bad template).
 */
export function startHttpAlertNode(RED: NodeAPI, node: Node, def: HttpAlertDef, channel: string, setup: () => HttpAlertSetup): void {
  let s: HttpAlertSetup;
  let config: ReturnType<typeof alertNodeConfig>;
  try {
    config = alertNodeConfig(def);
    s = setup();
  } catch (err) {
    const off = (err as Error).message;
    // A warning, not an error: the shipped flows hold channels that are off until configured.
    node.warn(`${node.type} is off: ${off}`);
    new StatusReporter(node).now('warn', `off: ${off}`.slice(0, 100));
    node.on('input', (msg: NodeMessageInFlow, send: (m: NodeMessage) => void, done: () => void) => {
      send({ topic: 'delivery/suppressed', payload: offReport(channel, msg.payload, `${node.type} is off: ${off}`) });
      done();
    });
    return;
  }
  const publicUrl = def.publicUrl?.trim() || undefined;
  const secret = credentialSecret(RED.settings as { credentialSecret?: unknown });
  const linkDays = numberSetting(def.linkDays, DEFAULT_LINK_DAYS);
  const links: NotificationOptions = {
    format: config.format,
    publicUrl,
    eventLink: eventLinker(publicUrl, linkDays, secret, (m) => node.warn(m)),
    // Quiet: the event links' warning above said why already.
    pictureLink: s.signedPictures ? eventLinker(publicUrl, linkDays, secret, () => undefined, 'picture') : undefined,
  };
  const wired = wireAlertNode({
    RED,
    node,
    channel,
    databaseId: def.database,
    outputs: 1,
    describe: () => s.host,
    targetsFor: async () => (s.anyReceiver && !(await s.anyReceiver()) ? [] : undefined),
    start: (store) => {
      s.useStore?.(store);
      return new AlertService({
        outbox: store.outbox(channel, node.id),
        channel: new HttpChannel({
          name: channel,
          host: s.host,
          timeoutMs: numberSetting(def.timeoutSeconds, 10) * 1000,
          request: (row, alert) => s.request(row, notificationOf(row, links), alert),
          onRefused: s.onRefused,
        }),
        policy: isAlertChannel(channel)
          ? livePolicy({ node, channel, base: config.policy, store, sendsTo: () => s.host })
          : new AlertPolicy(config.policy),
        targets: s.targets ?? [channel],
        giveUpAfterMs: config.giveUpAfterMs,
        deliversFailedClips: true,
        report: (r) => wired.report(r),
        displayTarget: () => s.host,
        onError: (err) => node.error(`outbox: ${err.message}`),
      });
    },
  });
}
