/**
 * Adding an IP camera from the page: its streams and login, a Test button
 * that shows the connection check (codec, size, frame rate, warnings, or the
 * one-line reason it cannot work), and Add, which stores and starts it (the
 * ipcam node's API, behind the same login as the rest of the dashboard).
 */
import { API_PATHS } from '../../nodes/lib/contract/api-paths';
import type { CameraCheck, DiscoveredCamera, VideoInfo } from '../../nodes/lib/contract/ip-cameras';
import { ApiFailure, post, request } from './api';
import { byId, clear, h } from './dom';

const FIELDS = ['id', 'name', 'subUrl', 'mainUrl', 'username', 'password', 'onvif', 'motionSource'] as const;

const describe = (what: string, v?: VideoInfo) => (v ? `${what}: ${v.codec.toUpperCase()} ${v.width}×${v.height} at ${v.fps} fps` : '');

export class IpcamForm {
  private readonly form = byId<HTMLFormElement>('ipcam-form');
  private readonly result = byId('ipcam-result');

  constructor(private readonly added: () => void) {
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.run('add');
    });
    byId<HTMLButtonElement>('ipcam-test').addEventListener('click', () => void this.run('test'));
    byId<HTMLButtonElement>('ipcam-onvif').addEventListener('click', () => void this.onvif());
    byId<HTMLButtonElement>('ipcam-discover').addEventListener('click', () => void this.discover());
  }

  /** WS-Discovery on the server's LAN segment: each camera found can fill the ONVIF address. */
  private async discover(): Promise<void> {
    const found = byId('ipcam-found');
    clear(found);
    this.say('Looking for ONVIF cameras on this LAN for 3 seconds…');
    try {
      const r = await post<{ cameras: DiscoveredCamera[]; note?: string }>(API_PATHS.ipcamDiscover, { seconds: 3 });
      if (r.cameras.length === 0) return this.say(r.note ?? 'No ONVIF camera answered.', true);
      this.say(`${r.cameras.length} camera(s) answered: pick one to fill its ONVIF address, then Find streams.`);
      this.result.dataset.state = 'ok';
      for (const c of r.cameras) {
        const address = c.host.includes(':') ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`;
        const label = [c.name, c.hardware, address].filter(Boolean).join(' · ');
        const pick = () => {
          this.field('onvif').value = address;
          if (c.name && !this.field('name').value) this.field('name').value = c.name;
        };
        found.append(h('li', {}, h('button', { type: 'button', class: 'ipcam-pick', onclick: pick }, label)));
      }
    } catch (err) {
      this.say((err as ApiFailure).message, true);
    }
  }

  private field(name: string): HTMLInputElement {
    return this.form.elements.namedItem(name) as HTMLInputElement;
  }

  /** Asks the camera for its streams over ONVIF and fills them in. */
  private async onvif(): Promise<void> {
    const { username, password } = this.body();
    const address = String(new FormData(this.form).get('onvif') ?? '').trim();
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(address);
    if (!m) return this.say("Give the camera's ONVIF address, such as 192.168.1.50:80.", true);
    this.say('Asking the camera over ONVIF…');
    try {
      const r = await post<{
        mainUrl?: string;
        subUrl?: string;
        warnings: string[];
        profiles: Array<{ name: string; width?: number; height?: number; encoding?: string }>;
      }>(API_PATHS.ipcamOnvif, { host: m[1], port: m[2] ? Number(m[2]) : 80, username, password });
      const set = (name: string, value?: string) => {
        if (value) (this.form.elements.namedItem(name) as HTMLInputElement).value = value;
      };
      set('subUrl', r.subUrl);
      set('mainUrl', r.mainUrl);
      const lines = [
        'Streams found: check them with Test.',
        ...r.profiles.map((p) => `Profile ${p.name}: ${p.encoding ?? '?'} ${p.width ?? '?'}×${p.height ?? '?'}`),
        ...r.warnings.map((w) => `Warning: ${w}`),
      ];
      clear(this.result, ...lines.map((l) => h('p', {}, l)));
      this.result.dataset.state = r.warnings.length ? 'warn' : 'ok';
    } catch (err) {
      this.say((err as ApiFailure).message, true);
    }
  }

  private body(): Record<string, string> {
    const data = new FormData(this.form);
    return Object.fromEntries(FIELDS.map((f) => [f, String(data.get(f) ?? '').trim()]));
  }

  private async run(action: 'test' | 'add'): Promise<void> {
    const body = this.body();
    this.say(action === 'test' ? 'Checking the camera…' : 'Checking and adding the camera…');
    try {
      if (action === 'test') {
        this.show(await post<CameraCheck>(API_PATHS.ipcamTest, body));
      } else {
        const r = await request<{ check: CameraCheck }>('POST', API_PATHS.ipcams, body);
        this.show(r.check, `Camera "${body.id}" added: it appears in the list once it streams.`);
        (this.form.elements.namedItem('password') as HTMLInputElement).value = '';
        this.added();
      }
    } catch (err) {
      const e = err as ApiFailure;
      if (e.status === 404) this.say('IP cameras are not enabled on this server (no ipcam node in its flow).', true);
      else this.say(e.message, true);
    }
  }

  private show(check: CameraCheck, done?: string): void {
    if (!check.ok) return this.say(check.error ?? 'the camera cannot be used', true);
    const lines = [
      done ?? 'The camera works.',
      describe('Sub stream', check.sub),
      describe('Main stream', check.main),
      ...check.warnings.map((w) => `Warning: ${w}`),
    ];
    clear(this.result, ...lines.filter(Boolean).map((l) => h('p', {}, l)));
    this.result.dataset.state = check.warnings.length ? 'warn' : 'ok';
  }

  private say(text: string, bad = false): void {
    clear(this.result, h('p', {}, text));
    this.result.dataset.state = bad ? 'error' : 'busy';
  }
}
