/** The login form: shown when GET /api/session says 401, and again when a session ends. */
import { API_PATHS } from '../../nodes/lib/contract/api-paths';
import { ApiFailure, post } from './api';
import type { LoginRequest, SessionInfo } from '../../nodes/lib/contract/dashboard-api';
import { byId } from './dom';

export function showLogin(onLoggedIn: (s: SessionInfo) => void, notice = ''): void {
  const view = byId('login-view');
  const form = byId<HTMLFormElement>('login-form');
  const error = byId('login-error');
  const button = byId<HTMLButtonElement>('login-submit');
  byId('app-view').hidden = true;
  view.hidden = false;
  error.textContent = notice;
  byId<HTMLInputElement>('login-user').focus();

  form.onsubmit = async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const body: LoginRequest = {
      username: String(data.get('username') ?? ''),
      password: String(data.get('password') ?? ''),
      remember: data.get('remember') === 'on',
    };
    button.disabled = true;
    error.textContent = '';
    try {
      const session = await post<SessionInfo>(API_PATHS.login, body);
      byId<HTMLInputElement>('login-password').value = '';
      view.hidden = true;
      onLoggedIn(session);
    } catch (err) {
      error.textContent =
        err instanceof ApiFailure
          ? err.status === 429
            ? 'Too many failed logins from here: wait a few minutes and try again.'
            : err.status === 401
              ? 'Wrong user name or password.'
              : err.message
          : 'The server cannot be reached.';
      byId<HTMLInputElement>('login-password').select();
    } finally {
      button.disabled = false;
    }
  };
}
