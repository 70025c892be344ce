/**
 * One change made on an admin page (users, cameras, settings): run it, say how it went where the
 * page shows results (`data-state` ok or error; the server's reason, or that it cannot be reached),
 * then load the page's lists again, whatever happened.
 */
import { ApiFailure } from './api';

export async function adminAction(
  result: HTMLElement,
  done: string,
  change: () => Promise<unknown>,
  reload: () => Promise<void>,
): Promise<void> {
  result.dataset.state = '';
  try {
    await change();
    if (done) result.textContent = done;
    result.dataset.state = 'ok';
  } catch (err) {
    result.textContent = err instanceof ApiFailure ? err.message : 'The server cannot be reached.';
    result.dataset.state = 'error';
  }
  await reload().catch(() => undefined);
}
