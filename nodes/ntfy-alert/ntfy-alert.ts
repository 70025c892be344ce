/**
 * ntfy-alert: alerts to an ntfy topic (ntfy.sh or your own server), with the picture
 * attached and a tap opening the event, on the shared outbox, noise control and retries.
 *   output 1: delivery reports
 */
import type { Node, NodeAPI } from 'node-red';
import { httpHost } from '../lib/alerts/http-channel';
import { startHttpAlertNode, type HttpAlertDef } from '../lib/alerts/http-alert-node';
import type { NodeConstructor } from '../lib/node-config';
import { ntfyRequest, NTFY_TOPIC } from './ntfy-request';

interface NtfyAlertDef extends HttpAlertDef {
  /** default https://ntfy.sh */
  server: string;
  topic: string;
}

export default function register(RED: NodeAPI): void {
  function NtfyAlert(this: Node & { credentials?: { token?: string } }, def: NtfyAlertDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    // The admin page's server, topic and token win over the node's (page-connection.ts).
    startHttpAlertNode(RED, node, def, 'ntfy', (page) => {
      const server = (page.server ?? (def.server?.trim() || 'https://ntfy.sh')).replace(/\/+$/, '');
      const host = httpHost(server, 'server URL');
      const topic = page.topic ?? def.topic?.trim() ?? '';
      if (!NTFY_TOPIC.test(topic)) throw new Error(topic ? `topic "${topic}" is not 1-64 letters, digits, - or _` : 'no topic');
      const opts = { server, topic, token: page.token ?? (node.credentials?.token || undefined) };
      return { host: `${host}/${topic}`, request: (row, n) => ntfyRequest(row, n, opts) };
    });
  }
  RED.nodes.registerType('ntfy-alert', NtfyAlert as unknown as NodeConstructor, {
    credentials: { token: { type: 'password' } },
  });
}
