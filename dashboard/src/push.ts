/**
 * The bell in the dashboard's header: subscribes this browser to alerts by Web Push (the
 * webpush-alert node's /api/push routes) and unsubscribes it. Shown only where it can work: a
 * secure page (HTTPS or localhost) whose browser has service workers and push, on a server
 * that runs a webpush-alert node. The service worker (static/sw.js) shows each alert.
 */
import { API_PATHS } from '../../nodes/lib/contract/api-paths';
import type { PushSubscriptionRequest } from '../../nodes/lib/contract/dashboard-api';
import { getOptional, post, request } from './api';

/** VAPID public key (base64url) as the bytes PushManager.subscribe takes. */
function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Never rejects: without push the bell stays hidden and the reason is in the console. */
export async function setUpPush(button: HTMLButtonElement): Promise<void> {
  button.hidden = true;
  try {
    await start(button);
  } catch (err) {
    button.hidden = true;
    console.warn(`alerts by Web Push are not available here: ${(err as Error).message}`);
  }
}

async function start(button: HTMLButtonElement): Promise<void> {
  if (!window.isSecureContext || !('serviceWorker' in navigator) || !('PushManager' in window)) return;
  const key = await getOptional<{ publicKey: string }>(API_PATHS.pushKey);
  if (!key) return; // no webpush-alert node on this server
  const reg = await navigator.serviceWorker.register('sw.js', { scope: './' });
  const show = async () => {
    const on = !!(await reg.pushManager.getSubscription());
    button.textContent = on ? '🔔 Alerts here: on' : '🔕 Alerts here: off';
    button.setAttribute('aria-pressed', String(on));
    button.title = on ? 'This browser gets alerts; click to stop' : 'Get alerts as notifications in this browser';
  };
  button.onclick = async () => {
    button.disabled = true;
    try {
      const current = await reg.pushManager.getSubscription();
      if (current) {
        await request('DELETE', `${API_PATHS.pushSubscriptions}?endpoint=${encodeURIComponent(current.endpoint)}`).catch(() => undefined);
        await current.unsubscribe();
      } else {
        if ((await Notification.requestPermission()) !== 'granted') {
          button.title = 'Notifications are blocked for this site in the browser settings';
          return;
        }
        const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key.publicKey) });
        await post(API_PATHS.pushSubscriptions, sub.toJSON() as PushSubscriptionRequest);
      }
    } catch (err) {
      button.title = `Could not change the alerts: ${(err as Error).message}`;
    } finally {
      button.disabled = false;
      await show();
    }
  };
  await show();
  button.hidden = false;
}
