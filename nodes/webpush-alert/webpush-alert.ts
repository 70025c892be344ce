/**
 * webpush-alert: alerts as Web Push notifications to every browser subscribed on the dashboard
 * (its /api/push routes), on the shared outbox and retries; keys and subscriptions in the database.
 *   output 1: delivery reports
 */
import type { Node, NodeAPI } from 'node-red';
import { mountRouter } from '../hivecam-gateway/media-mount';
import { startHttpAlertNode, type HttpAlertDef } from '../lib/alerts/http-alert-node';
import { PUSH_ROUTES_ROOT } from '../lib/contract/api-routes';
import type { NodeConstructor } from '../lib/node-config';
import type { PushSubscriptionStore } from '../lib/store/push-subscriptions';
import { pushRouter } from './push-api';
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
      let store: PushSubscriptionStore | undefined;
      const unmount = mountRouter(
        RED,
        PUSH_ROUTES_ROOT,
        pushRouter(
          () => store,
          (m) => node.warn(m),
        ),
      );
      node.on('close', unmount);
      return {
        host: 'subscribed browsers',
        useStore: (s) => (store = s.pushSubscriptions()),
        request: (row, n) => webPushRequests(row, n, store!, subject),
        // 404/410: the browser unsubscribed or the subscription expired (RFC 8030 §7.3); forget it.
        onRefused: async (status, _row, req) => {
          if (status !== 404 && status !== 410) return false;
          await store!.unsubscribe(req.url);
          node.warn(`removed a browser's subscription: its push service answered ${status}`);
          return true;
        },
      };
    });
  }
  RED.nodes.registerType('webpush-alert', WebPushAlert as unknown as NodeConstructor);
}
