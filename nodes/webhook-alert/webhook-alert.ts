/**
 * webhook-alert: POSTs alerts on the alert contract to any HTTP endpoint
 * (a home-automation hub, a chat bridge, your own service), through the same
 * outbox, noise control and retries as telegram-alert. A body template
 * shapes the JSON the way the receiver expects it.
 *   output 1: delivery reports
 */
import type { Node, NodeAPI } from 'node-red';
import { BodyTemplate } from '../lib/alerts/body-template';
import { httpHost } from '../lib/alerts/http-channel';
import { startHttpAlertNode, type HttpAlertDef } from '../lib/alerts/http-alert-node';
import type { NodeConstructor } from '../lib/node-config';
import { webhookRequest } from './webhook-channel';

interface WebhookAlertDef extends HttpAlertDef {
  url: string;
  includeImages: boolean | string;
  /** empty: the fixed body (WebhookBody) */
  bodyTemplate?: string;
}

interface WebhookCredentials {
  authorization?: string;
}

export default function register(RED: NodeAPI): void {
  function WebhookAlert(this: Node & { credentials?: WebhookCredentials }, def: WebhookAlertDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    // The admin page's URL wins over the node's (page-connection.ts).
    startHttpAlertNode(RED, node, def, 'webhook', (page) => {
      const url = page.url ?? (def.url ?? '').trim();
      const host = httpHost(url, 'URL');
      const template = def.bodyTemplate?.trim() ? BodyTemplate.parse(def.bodyTemplate) : undefined;
      const opts = {
        url,
        authorization: node.credentials?.authorization || undefined,
        includeImages: def.includeImages !== false && def.includeImages !== 'false',
        template,
        publicUrl: def.publicUrl?.trim() || undefined,
      };
      return { host, request: (row, n) => webhookRequest(row, n, opts) };
    });
  }
  RED.nodes.registerType('webhook-alert', WebhookAlert as unknown as NodeConstructor, {
    credentials: { authorization: { type: 'password' } },
  });
}
