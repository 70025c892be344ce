/**
 * webpush-alert: alerts as Web Push notifications to every browser subscribed on the dashboard
 * (its /api/push routes), on the shared outbox and retries; keys and subscriptions in the database.
 *   output 1: delivery reports
 */
import type { Node, NodeAPI } from 'node-red';
import { startHttpAlertNode, type HttpAlertDef } from '../lib/alerts/http-alert-node';
import type { NodeConstructor } from '../lib/node-config';
import { credentialSecret, SecretBox } from '../lib/secret-box';
import type { PushSubscriptionStore } from '../lib/store/push-subscriptions';
import { mountPushApi } from './push-api';
import { webPushRequests } from './webpush-request';

interface WebPushAlertDef extends HttpAlertDef {
  /** VAPID `sub`: mailto: or https: */
  subject?: string;
}

export default function register(RED: NodeAPI): void {
  function WebPushAlert(this: Node, def: WebPushAlertDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startHttpAlertNode(RED, node, def, 'webpush', () => {
      const publicUrl = def.publicUrl?.trim() ?? '';
      const subject = def.subject?.trim() || (publicUrl.startsWith('https://') ? publicUrl : 'mailto:admin@localhost');
      if (!/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(subject)) throw new Error(`contact "${subject}" is not a mailto: or https: address`);
      const secret = credentialSecret(RED.settings as { credentialSecret?: unknown });
      let store: PushSubscriptionStore | undefined;
      const warn = (m: string) => node.warn(m);
      const getStore = () => store;
      node.on('close', mountPushApi(RED, getStore, warn));
      return {
        host: 'subscribed browsers',
        signedPictures: true,
        useStore: (s) => (store = s.pushSubscriptions(secret ? new SecretBox(secret) : undefined)),
        anyReceiver: async () => (await store!.count()) > 0,
        request: (row, n) => webPushRequests(row, n, store!, subject),
        onRefused: async (status, _row, req) => {
          // 404/410: the browser unsubscribed or the subscription expired (RFC 8030 §7.3); forget it.
          if (status !== 404 && status !== 410) return false;
          await store!.unsubscribe(req.url);
          warn(`removed a browser's subscription: its push service answered ${status}`);
          return true;
        },
      };
    });
  }
  RED.nodes.registerType('webpush-alert', WebPushAlert as unknown as NodeConstructor);
}
