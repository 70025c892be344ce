/**
 * The Admin section's alert settings and storage (issue 23): per alert channel on/off, modes,
 * cooldown, quiet hours and which cameras alert; retention days for events, readings and
 * recordings, beside the disk use. An empty field keeps what the node's settings or the
 * environment say; the server keeps what is set in its store, checks it (a 400 says why) and
 * audits each change. Beside them, where each channel sends (bot token and chats, webhook URL,
 * ntfy server/topic/token, Pushover keys): a secret typed here goes to the server once and is
 * never shown again (the server answers only "set" and a hint); an empty field keeps what is set,
 * and "Use the environment's …" clears it.
 */
import { adminAction } from './admin-action';
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-paths';
import type { AlertOverrides, AlertSettingsPage, RetentionSettingsPage } from '../../nodes/lib/contract/admin-settings';
import { CONNECTION_FIELDS, type ConnectionField } from '../../nodes/lib/contract/alert-connection';
import { get, request } from './api';
import { byId, clear, h } from './dom';
import { usage } from './recordings';
import { fmtBytes } from './storage';

const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);

/** "ARMED, PRIVACY" → ['ARMED', 'PRIVACY']; '' → undefined (the node's own) */
const listFrom = (text: string): string[] | undefined => {
  const items = text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
};
const numberFrom = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

/** The form's fields as an override: only what is filled in (the server checks the values). */
export function alertOverridesFrom(d: FormData): Record<string, unknown> {
  const text = (k: string) => String(d.get(k) ?? '').trim();
  const o: Record<string, unknown> = {
    enabled: text('enabled') === '' ? undefined : text('enabled') === 'on',
    modes: listFrom(text('modes'))?.map((m) => m.toUpperCase()),
    cooldownSeconds: numberFrom(text('cooldownSeconds')),
    quietStart: text('quietStart') || undefined,
    quietEnd: text('quietEnd') || undefined,
    quietAction: text('quietAction') || undefined,
    cameras: listFrom(text('cameras')),
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function field(label: string, name: string, value: string | number | undefined, placeholder: string, type = 'text'): HTMLLabelElement {
  return h('label', {}, `${label} `, h('input', { name, type, value: value ?? '', placeholder, autocomplete: 'off' }));
}

function choice(label: string, name: string, value: string | undefined, options: [string, string][]): HTMLLabelElement {
  const select = h('select', { name }, ...options.map(([v, text]) => h('option', { value: v, selected: v === (value ?? '') }, text)));
  return h('label', {}, `${label} `, select);
}

export class AdminSettings {
  private readonly alerts = byId('alert-settings');
  private readonly retention = byId<HTMLFormElement>('retention-form');
  private readonly usage = byId('admin-disk-use');
  private readonly result = byId('settings-result');

  constructor() {
    this.retention.addEventListener('submit', (e) => {
      e.preventDefault();
      const d = new FormData(this.retention);
      const o = Object.fromEntries(
        (['eventsDays', 'readingsDays', 'recordingsDays'] as const)
          .map((k) => [k, numberFrom(String(d.get(k) ?? ''))] as const)
          .filter(([, v]) => v !== undefined),
      );
      void this.act('Retention saved.', () => put(API_PATHS.retentionSettings, o));
    });
  }

  async load(): Promise<void> {
    await Promise.all([this.loadAlerts(), this.loadRetention(), this.loadUsage()]);
  }

  private async loadAlerts(): Promise<void> {
    const page = await get<AlertSettingsPage>(API_PATHS.alertSettings);
    clear(this.alerts, ...page.channels.flatMap((c) => [this.channelForm(c), this.connectionForm(c)]));
  }

  /** Where the channel sends; null for a channel without such settings (Web Push). */
  private connectionForm(c: AlertSettingsPage['channels'][number]): HTMLFormElement | null {
    const fields = CONNECTION_FIELDS[c.channel];
    if (!fields.length) return null;
    const form = h(
      'form',
      { class: 'filters', 'aria-label': `Connection of ${c.channel}`, 'data-channel': c.channel },
      h('strong', {}, `${c.channel}: where it sends`),
      ...fields.map((f) => this.connectionField(c, f)),
      h('button', { type: 'submit' }, `Save ${c.channel} connection`),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const d = new FormData(form);
      // Only what was typed: an empty secret field keeps the one set.
      const body = Object.fromEntries(fields.map((f) => [f.name, String(d.get(f.name) ?? '').trim()] as const).filter(([, v]) => v !== ''));
      void this.act(`${c.channel} connection saved.`, () => put(this.connectionPath(c.channel), body));
    });
    return form;
  }

  private connectionField(c: AlertSettingsPage['channels'][number], f: ConnectionField): HTMLElement {
    const v = c.connection[f.name] ?? { set: false };
    const state = v.set ? `set on this page${f.secret ? ` (${v.hint ?? 'hidden'})` : ''}` : "the environment's";
    const input = h('input', {
      name: f.name,
      type: f.secret ? 'password' : 'text',
      value: f.secret ? '' : (v.value ?? ''),
      placeholder: f.secret && v.set ? 'type to replace' : f.example,
      autocomplete: f.secret ? 'new-password' : 'off',
    });
    const clearIt = v.set
      ? h(
          'button',
          {
            type: 'button',
            onclick: () =>
              void this.act(`${c.channel}: the environment's ${f.label.toLowerCase()} again.`, () =>
                put(this.connectionPath(c.channel), { [f.name]: null }),
              ),
          },
          `Use the environment's ${f.label.toLowerCase()}`,
        )
      : null;
    return h('span', {}, h('label', {}, `${f.label} `, input), h('small', { 'data-field-state': f.name }, ` ${state} `), clearIt);
  }

  private connectionPath = (channel: string) => apiUrl(API_PATHS.alertConnectionSettings, { channel });

  private channelForm(c: AlertSettingsPage['channels'][number]): HTMLFormElement {
    const o: AlertOverrides = c.overrides;
    const running = c.running.length ? `sends to ${c.running.map((r) => r.sendsTo).join('; ')}` : 'no node running';
    const form = h(
      'form',
      { class: 'filters', 'aria-label': `Alert settings of ${c.channel}`, 'data-channel': c.channel },
      h('strong', {}, c.channel),
      h('span', {}, ` (${running}) `),
      choice('Alerts', 'enabled', o.enabled === undefined ? '' : o.enabled ? 'on' : 'off', [
        ['', 'as set in the node'],
        ['on', 'on'],
        ['off', 'off'],
      ]),
      field('Modes', 'modes', o.modes?.join(', '), 'node setting (e.g. ARMED)'),
      field('Cooldown (s)', 'cooldownSeconds', o.cooldownSeconds, 'node setting', 'number'),
      field('Quiet from', 'quietStart', o.quietStart, 'HH:MM'),
      field('Quiet until', 'quietEnd', o.quietEnd, 'HH:MM'),
      choice('In quiet hours', 'quietAction', o.quietAction, [
        ['', 'as set in the node'],
        ['silent', 'send silently'],
        ['drop', 'send nothing'],
      ]),
      field('Cameras that alert', 'cameras', o.cameras?.join(', '), 'all'),
      h('button', { type: 'submit' }, `Save ${c.channel}`),
      h(
        'button',
        {
          type: 'button',
          onclick: () => void this.act(`${c.channel}: the node's settings again.`, () => put(this.channelPath(c.channel), {})),
        },
        `Defaults for ${c.channel}`,
      ),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.act(`${c.channel} saved.`, () => put(this.channelPath(c.channel), alertOverridesFrom(new FormData(form))));
    });
    return form;
  }

  private channelPath = (channel: string) => apiUrl(API_PATHS.alertChannelSettings, { channel });

  private async loadRetention(): Promise<void> {
    const r = await get<RetentionSettingsPage>(API_PATHS.retentionSettings);
    for (const k of ['eventsDays', 'readingsDays', 'recordingsDays'] as const) {
      const input = this.retention.elements.namedItem(k) as HTMLInputElement;
      input.value = r.overrides[k] === undefined ? '' : String(r.overrides[k]);
      input.placeholder = `${r.defaults[k]} (default)`;
    }
    // Disabled in the page until now: a value typed before the stored ones arrived was overwritten by them.
    for (const el of Array.from(this.retention.elements)) (el as HTMLInputElement).disabled = false;
  }

  /** Each source's byte counts as it reports them; a runtime without that part leaves it out. */
  private async loadUsage(): Promise<void> {
    const rec = await usage(true).catch(() => undefined);
    const disk = rec ? h('li', {}, `Disk: ${fmtBytes(rec.disk.freeBytes)} free of ${fmtBytes(rec.disk.totalBytes)}`) : null;
    const sources: [string, string][] = [
      ['VBC01 uploads', API_PATHS.gatewayUsage],
      ['Event media', API_PATHS.mediaUsage],
    ];
    const lines = await Promise.all(
      sources.map(async ([name, path]) => {
        const u = await get<Record<string, unknown>>(path).catch(() => undefined);
        if (!u) return null;
        const bytes = Object.entries(u).filter(([k, v]) => /bytes$/i.test(k) && typeof v === 'number');
        return h(
          'li',
          {},
          `${name}: `,
          bytes.map(([k, v]) => `${k.replace(/Bytes$/i, '')} ${fmtBytes(v as number)}`).join(', ') || 'reported',
        );
      }),
    );
    clear(this.usage, disk, ...lines);
  }

  private act(done: string, change: () => Promise<unknown>): Promise<void> {
    return adminAction(this.result, done, change, () => this.load());
  }
}
