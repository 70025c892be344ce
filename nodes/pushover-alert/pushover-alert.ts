/**
 * pushover-alert: alerts as Pushover messages (https://pushover.net/api), with the picture as
 * the message's attachment and a tap opening the event, on the shared outbox, noise control
 * and retries.
 *   output 1: delivery reports
 */
import type { Node, NodeAPI } from 'node-red';
import { httpHost } from '../lib/alerts/http-channel';
import { startHttpAlertNode, type HttpAlertDef } from '../lib/alerts/http-alert-node';
import type { NodeConstructor } from '../lib/node-config';
import { PUSHOVER_KEY, pushoverRequest } from './pushover-request';

interface PushoverAlertDef extends HttpAlertDef {
  /** default https://api.pushover.net (another address: a relay, or a test's fake) */
  apiUrl?: string;
  /** optional: only these of the user's devices (comma-separated names) */
  devices?: string;
}

interface PushoverCredentials {
  token?: string;
  user?: string;
}

export default function register(RED: NodeAPI): void {
  function PushoverAlert(this: Node & { credentials?: PushoverCredentials }, def: PushoverAlertDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    // The admin page's keys win over the node's credentials (page-connection.ts).
    startHttpAlertNode(RED, node, def, 'pushover', (page) => {
      const apiUrl = (def.apiUrl?.trim() || 'https://api.pushover.net').replace(/\/+$/, '');
      const host = httpHost(apiUrl, 'API URL');
      const token = page.appToken ?? node.credentials?.token?.trim() ?? '';
      const user = page.userKey ?? node.credentials?.user?.trim() ?? '';
      for (const [what, key] of [
        ['API token', token],
        ['user key', user],
      ] as const) {
        if (!key) throw new Error(`no ${what}`);
        if (!PUSHOVER_KEY.test(key)) throw new Error(`the ${what} is not 30 letters and digits, as Pushover makes them`);
      }
      const opts = { url: `${apiUrl}/1/messages.json`, token, user, devices: def.devices?.trim() || undefined };
      return { host, request: (row, n) => pushoverRequest(row, n, opts) };
    });
  }
  RED.nodes.registerType('pushover-alert', PushoverAlert as unknown as NodeConstructor, {
    credentials: { token: { type: 'password' }, user: { type: 'password' } },
  });
}
