/**
 * webhook-alert: POSTs alerts on the alert contract to any HTTP endpoint
 * (a home-automation hub, a chat bridge, your own service), through the same
 * outbox, noise control and retries as telegram-alert.
 *   output 1: delivery reports
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { alertNodeConfig, offReport, wireAlertNode, type AlertNodeSettings } from '../lib/alerts/alert-node';
import { AlertService } from '../lib/alerts/alert-service';
import { AlertPolicy } from '../lib/alerts/policy';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { StatusReporter } from '../lib/status';
import { WebhookChannel } from './webhook-channel';

interface WebhookAlertDef extends NodeDef, AlertNodeSettings {
  url: string;
  timeoutSeconds: string | number;
  includeImages: boolean | string;
  /** the runtime's public address, for absolute clip URLs (`${PICAM_PUBLIC_URL}`) */
  publicUrl?: string;
}

interface WebhookCredentials {
  authorization?: string;
}

/** Outbox rows are keyed by this, not the URL: a corrected URL still gets what is waiting. */
const TARGET = 'webhook';

export default function register(RED: NodeAPI): void {
  function WebhookAlert(this: Node & { credentials?: WebhookCredentials }, def: WebhookAlertDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const url = (def.url ?? '').trim();
    let host: string | undefined;
    try {
      const parsed = new URL(url);
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') host = parsed.host;
    } catch {
      host = undefined; // reported below
    }

    if (!host) {
      const off = url ? `not an http(s) URL: ${url}` : 'no URL';
      new StatusReporter(node).now('warn', `off: ${off}`);
      node.on('input', (msg: NodeMessageInFlow, send: (m: NodeMessage) => void, done: () => void) => {
        send({ topic: 'delivery/suppressed', payload: offReport('webhook', msg.payload, `webhook-alert is off: ${off}`) });
        done();
      });
      return;
    }

    const wired = wireAlertNode({
      RED,
      node,
      channel: 'webhook',
      databaseId: def.database,
      outputs: 1,
      describe: () => host!,
      start: (store) => {
        const config = alertNodeConfig(def);
        return new AlertService({
          outbox: store.outbox('webhook', node.id),
          channel: new WebhookChannel({
            url,
            authorization: node.credentials?.authorization || undefined,
            timeoutMs: numberSetting(def.timeoutSeconds, 10) * 1000,
            includeImages: def.includeImages !== false && def.includeImages !== 'false',
            format: config.format,
            publicUrl: def.publicUrl?.trim() || undefined,
          }),
          policy: new AlertPolicy(config.policy),
          targets: [TARGET],
          giveUpAfterMs: config.giveUpAfterMs,
          deliversFailedClips: true,
          report: (r) => wired.report(r),
          displayTarget: () => host!,
          onError: (err) => node.error(`outbox: ${err.message}`),
        });
      },
    });
  }
  RED.nodes.registerType('webhook-alert', WebhookAlert as unknown as NodeConstructor, {
    credentials: { authorization: { type: 'password' } },
  });
}
