/**
 * first.js: a small script the page loads beside its own (async, before it in the HTML), so the
 * first view's requests are on their way while the page's script loads and starts. It does
 * nothing when the page's script already ran (it then asked for itself).
 */
import { DASHBOARD_CLIENT_HEADER, DASHBOARD_CLIENT_VALUE } from '../../nodes/lib/contract/dashboard-api';
import { EARLY_REQUESTS_KEY, FIRST_VIEW_REQUESTS, type EarlyRequests } from './first-view';

const slot = globalThis as unknown as Record<string, EarlyRequests | undefined>;
if (!slot[EARLY_REQUESTS_KEY]) {
  const headers = { [DASHBOARD_CLIENT_HEADER]: DASHBOARD_CLIENT_VALUE, accept: 'application/json' };
  const sent: EarlyRequests = new Map();
  for (const path of FIRST_VIEW_REQUESTS) {
    const answer = fetch(path, { headers, credentials: 'same-origin' });
    // Handled here too: an answer the page never takes (a logged-out visit) must not be an unhandled rejection.
    answer.catch(() => undefined);
    sent.set(path, answer);
  }
  slot[EARLY_REQUESTS_KEY] = sent;
}
