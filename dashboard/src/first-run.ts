/**
 * The first-run page (issue 23): while no admin exists, it makes the first one and logs in
 * with it. From the machine itself no code is asked; from elsewhere the one-time code the
 * runtime printed in its log. Once an admin exists the server answers "not needed" and the
 * page shows the login instead.
 */
import { API_PATHS } from '../../nodes/lib/contract/api-paths';
import type { FirstRunInfo, FirstRunRequest } from '../../nodes/lib/contract/access';
import type { SessionInfo } from '../../nodes/lib/contract/dashboard-api';
import { ApiFailure, get, post } from './api';
import { byId } from './dom';

/** Whether the server wants a first admin (a server without the access-control node: no). */
export async function firstRunNeeded(): Promise<FirstRunInfo | undefined> {
  try {
    const info = await get<FirstRunInfo>(API_PATHS.firstRun);
    return info.needed ? info : undefined;
  } catch {
    return undefined;
  }
}

export function showFirstRun(info: FirstRunInfo, onLoggedIn: (s: SessionInfo) => void): void {
  const view = byId('first-run-view');
  const form = byId<HTMLFormElement>('first-run-form');
  const error = byId('first-run-error');
  const button = byId<HTMLButtonElement>('first-run-submit');
  byId('login-view').hidden = true;
  byId('app-view').hidden = true;
  byId('first-run-code-row').hidden = info.local;
  view.hidden = false;
  byId<HTMLInputElement>('first-run-user').focus();

  form.onsubmit = async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body: FirstRunRequest = { name: String(data.get('name') ?? ''), password: String(data.get('password') ?? '') };
    if (!info.local) body.code = String(data.get('code') ?? '').trim();
    button.disabled = true;
    error.textContent = '';
    try {
      await post(API_PATHS.firstRun, body);
      const session = await post<SessionInfo>(API_PATHS.login, { username: body.name, password: body.password, remember: false });
      form.reset();
      view.hidden = true;
      onLoggedIn(session);
    } catch (err) {
      error.textContent = err instanceof ApiFailure ? err.message : 'The server cannot be reached.';
    } finally {
      button.disabled = false;
    }
  };
}
