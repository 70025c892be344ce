/**
 * The Admin section (issue 23), shown to admins only: users (add, role, cameras, password
 * reset, sessions, remove), API tokens (made with a role and cameras, shown once, revoked)
 * and the audit of every change. The server checks every one of these requests itself; hiding
 * the section from others only spares them buttons that would answer 403.
 */
import { adminAction } from './admin-action';
import { API_PATHS, API_ROLES, apiUrl, type ApiRole } from '../../nodes/lib/contract/api-routes';
import type { AuditPage, NewToken, SessionRow, TokenInfo, UserInfo } from '../../nodes/lib/contract/access';
import { get, post, request } from './api';
import { byId, clear, h } from './dom';
import { fmtTime } from './format';

/** "porch, garden" → ['porch', 'garden']; empty or "all" → null (every camera). */
export function camerasFromText(text: string): string[] | null {
  const ids = text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return ids.length === 0 || (ids.length === 1 && ids[0]!.toLowerCase() === 'all') ? null : ids;
}

const camerasText = (cameras: string[] | null) => (cameras === null ? 'all' : cameras.join(', ') || 'none');

export class AdminPage {
  private readonly users = byId('user-table');
  private readonly tokens = byId('token-table');
  private readonly audit = byId('audit-table');
  private readonly result = byId('admin-result');

  constructor() {
    const userForm = byId<HTMLFormElement>('user-form');
    userForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const d = new FormData(userForm);
      const name = String(d.get('name'));
      void this.act(`User ${name} added.`, async () => {
        await post(API_PATHS.users, {
          name,
          password: String(d.get('password')),
          role: String(d.get('role')),
          cameras: camerasFromText(String(d.get('cameras') ?? '')),
        });
        userForm.reset();
      });
    });
    const tokenForm = byId<HTMLFormElement>('token-form');
    tokenForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const d = new FormData(tokenForm);
      void this.act('', async () => {
        const t = await post<NewToken>(API_PATHS.tokens, {
          name: String(d.get('name')),
          role: String(d.get('role')),
          cameras: camerasFromText(String(d.get('cameras') ?? '')),
        });
        tokenForm.reset();
        // Shown this once: the server keeps only its hash.
        clear(this.result, `Token "${t.name}" made. Copy it now, it is not shown again: `, h('code', { id: 'new-token' }, t.token));
      });
    });
    byId('audit-refresh').addEventListener('click', () => void this.loadAudit());
  }

  async load(): Promise<void> {
    await Promise.all([this.loadUsers(), this.loadTokens(), this.loadAudit()]);
  }

  /** Runs a change, says how it went, and shows the lists (and the audit) as they are now. */
  private act(done: string, change: () => Promise<unknown>): Promise<void> {
    return adminAction(this.result, done, change, () => this.load());
  }

  private async loadUsers(): Promise<void> {
    const { users } = await get<{ users: UserInfo[] }>(API_PATHS.users);
    clear(this.users, ...users.map((u) => this.userRow(u)));
  }

  private userRow(u: UserInfo): HTMLTableRowElement {
    const url = apiUrl(API_PATHS.user, { name: u.name });
    if (u.source === 'env') {
      const note = 'set in the environment (PICAM_DASHBOARD_USERS or PICAM_API_USER)';
      return h('tr', { 'data-user': u.name }, h('td', {}, u.name), h('td', {}, u.role), h('td', {}, 'all'), h('td', { colspan: 3 }, note));
    }
    const role = h(
      'select',
      { 'aria-label': `Role of ${u.name}` },
      ...API_ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)),
    );
    role.addEventListener(
      'change',
      () => void this.act(`${u.name} is now ${role.value}.`, () => post(url, { role: role.value as ApiRole })),
    );
    const cameras = h('input', {
      value: u.cameras === null ? '' : u.cameras.join(', '),
      placeholder: 'all',
      'aria-label': `Cameras of ${u.name}`,
    });
    const saveCameras = h('button', { type: 'button' }, 'Save');
    saveCameras.addEventListener(
      'click',
      () => void this.act(`Cameras of ${u.name} saved.`, () => post(url, { cameras: camerasFromText(cameras.value) })),
    );
    const password = h('input', { type: 'password', autocomplete: 'new-password', 'aria-label': `New passphrase for ${u.name}` });
    const reset = h('button', { type: 'button' }, 'Reset');
    reset.addEventListener('click', () => void this.act(`Passphrase of ${u.name} reset.`, () => post(url, { password: password.value })));
    const sessionsBox = h('div', { class: 'sessions' });
    const sessions = h('button', { type: 'button' }, 'Sessions');
    sessions.addEventListener('click', () => void this.showSessions(u.name, sessionsBox));
    const remove = h('button', { type: 'button', class: 'danger' }, 'Remove');
    remove.addEventListener('click', () => {
      if (confirm(`Remove ${u.name}? Their sessions end at once.`)) void this.act(`${u.name} removed.`, () => request('DELETE', url));
    });
    return h(
      'tr',
      { 'data-user': u.name },
      h('td', {}, u.name),
      h('td', {}, role),
      h('td', {}, cameras, ' ', saveCameras),
      h('td', {}, password, ' ', reset),
      h('td', {}, sessions, sessionsBox),
      h('td', {}, remove),
    );
  }

  private async showSessions(name: string, box: HTMLElement): Promise<void> {
    try {
      const { sessions } = await get<{ sessions: SessionRow[] }>(apiUrl(API_PATHS.userSessions, { name }));
      if (sessions.length === 0) return clear(box, 'none open');
      clear(
        box,
        h(
          'ul',
          {},
          ...sessions.map((s) => {
            const end = h('button', { type: 'button' }, 'End');
            end.addEventListener(
              'click',
              () =>
                void this.act(`A session of ${name} ended.`, () =>
                  request('DELETE', apiUrl(API_PATHS.userSession, { name, sessionId: s.id })),
                ),
            );
            return h('li', {}, `from ${s.client} since ${fmtTime(s.issuedMs)} `, end);
          }),
        ),
      );
    } catch (err) {
      clear(box, (err as Error).message);
    }
  }

  private async loadTokens(): Promise<void> {
    const { tokens } = await get<{ tokens: TokenInfo[] }>(API_PATHS.tokens);
    clear(
      this.tokens,
      ...tokens.map((t) => {
        const revoke =
          t.source === 'env'
            ? 'in PICAM_API_TOKENS'
            : h(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  onclick: () => void this.act(`Token ${t.name} revoked.`, () => request('DELETE', apiUrl(API_PATHS.token, { id: t.id }))),
                },
                'Revoke',
              );
        return h(
          'tr',
          {},
          h('td', {}, t.name),
          h('td', {}, t.role),
          h('td', {}, camerasText(t.cameras)),
          h('td', {}, t.createdBy ?? '—'),
          h('td', {}, revoke),
        );
      }),
    );
  }

  private async loadAudit(): Promise<void> {
    const { entries } = await get<AuditPage>(`${API_PATHS.audit}?limit=200`);
    clear(
      this.audit,
      ...entries.map((e) =>
        h(
          'tr',
          {},
          h('td', {}, fmtTime(e.atMs)),
          h('td', {}, e.actor),
          h('td', {}, e.role),
          h('td', {}, e.action),
          h('td', {}, e.target),
          h('td', {}, e.detail),
        ),
      ),
    );
  }
}
