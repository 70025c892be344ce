/**
 * The Admin section's camera list (issue 23): every camera in one table, VBC01 cameras from
 * the gateway's registry, Pis and Pi-hosted cameras from /api/cameras, IP cameras from
 * /api/ipcams, each with its kind and state; registering a VBC01 id, the enrolment window with
 * a live countdown, and removal (a VBC01 through the gateway's `unregister`, which also revokes
 * its own certificate in per-camera mode; an IP camera through DELETE /api/ipcams/:id). The
 * API guard audits every change; the page only calls the existing routes.
 */
import { adminAction } from './admin-action';
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-paths';
import type { CameraRow } from '../../nodes/lib/contract/api-rows';
import { get, post, request } from './api';
import { byId, clear, h } from './dom';
import { fmtTime } from './format';

/** GET /api/gateway/cameras (nodes/hivecam-gateway/gateway-commands.ts) */
interface GatewayCameras {
  settings: string[];
  registered: { cameraId: string; registeredMs: number; registeredBy: string }[];
  enrolmentOpen: boolean;
  enrolmentClosesAt?: string | null;
  certificateMode?: string;
}
interface IpcamListed {
  id: string;
  name?: string;
  state?: string;
  error?: string;
  fromFlow?: boolean;
}

export type CameraKind = 'VBC01' | 'Pi' | 'Pi-hosted' | 'IP camera';

export interface AdminCamera {
  id: string;
  kind: CameraKind;
  state: string;
  /** how it is removed; none: it comes from the node's settings or is a Pi (it says so itself) */
  remove?: 'gateway' | 'ipcam';
  note?: string;
}

const gatewayPath = (command: string) => apiUrl(API_PATHS.gatewayCommand, { command });

/** One row per camera id: the gateway's and the IP camera node's own lists decide the kind. */
export function mergeCameras(gateway: GatewayCameras | undefined, rows: CameraRow[], ipcams: IpcamListed[]): AdminCamera[] {
  const byIdMap = new Map<string, AdminCamera>();
  const seen = new Map(rows.map((r) => [r.camera_id, r]));
  for (const r of rows) {
    const pi = (r.device_type ?? '').toLowerCase();
    const kind: CameraKind = pi === 'vbc01' ? 'VBC01' : pi === '' || pi.startsWith('picam') || pi === 'pi' ? 'Pi' : 'Pi-hosted';
    byIdMap.set(r.camera_id, { id: r.camera_id, kind, state: r.connection_status ?? 'unknown' });
  }
  for (const id of gateway?.settings ?? [])
    byIdMap.set(id, { id, kind: 'VBC01', state: seen.get(id)?.connection_status ?? 'never seen', note: "in the gateway node's settings" });
  for (const c of gateway?.registered ?? [])
    byIdMap.set(c.cameraId, {
      id: c.cameraId,
      kind: 'VBC01',
      state: seen.get(c.cameraId)?.connection_status ?? 'never seen',
      remove: 'gateway',
      note: `registered ${fmtTime(c.registeredMs)} (${c.registeredBy})`,
    });
  for (const c of ipcams)
    byIdMap.set(c.id, {
      id: c.id,
      kind: 'IP camera',
      state: c.error ? `${c.state ?? 'error'}: ${c.error}` : (c.state ?? 'unknown'),
      remove: c.fromFlow ? undefined : 'ipcam',
      note: c.fromFlow ? 'from the flow' : c.name,
    });
  return [...byIdMap.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** "4:07" for 247 s */
export const countdownText = (ms: number): string => {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

export class AdminCameras {
  private readonly table = byId('admin-camera-table');
  private readonly result = byId('camera-admin-result');
  private readonly enrolment = byId('enrolment-state');
  private closesAtMs = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor() {
    const register = byId<HTMLFormElement>('camera-register-form');
    register.addEventListener('submit', (e) => {
      e.preventDefault();
      const cameraId = String(new FormData(register).get('cameraId')).trim();
      void this.act(`Camera ${cameraId} registered.`, async () => {
        await post(gatewayPath('register'), { cameraId });
        register.reset();
      });
    });
    const enrol = byId<HTMLFormElement>('enrolment-form');
    enrol.addEventListener('submit', (e) => {
      e.preventDefault();
      const minutes = Number(new FormData(enrol).get('minutes'));
      void this.act('Enrolment open.', async () =>
        this.showEnrolment(await post<{ closesAt: string | null }>(gatewayPath('enrolment'), { minutes })),
      );
    });
    byId('enrolment-close').addEventListener('click', () => {
      void this.act('Enrolment closed.', async () =>
        this.showEnrolment(await post<{ closesAt: string | null }>(gatewayPath('enrolment'), { minutes: 0 })),
      );
    });
  }

  async load(): Promise<void> {
    // Each list on its own: a runtime without a gateway or IP camera node still lists the rest.
    const [gateway, rows, ipcams] = await Promise.all([
      get<GatewayCameras>(API_PATHS.gatewayCameras).catch(() => undefined),
      get<{ cameras: CameraRow[] }>(API_PATHS.cameras)
        .then((r) => r.cameras)
        .catch(() => []),
      get<{ cameras: IpcamListed[] }>(API_PATHS.ipcams)
        .then((r) => r.cameras)
        .catch(() => []),
    ]);
    if (gateway) this.showEnrolment({ closesAt: gateway.enrolmentClosesAt ?? null });
    else clear(this.enrolment, 'No VBC01 gateway in this runtime.');
    const cameras = mergeCameras(gateway, rows, ipcams);
    clear(this.table, ...cameras.map((c) => this.row(c)));
    if (cameras.length === 0) this.table.append(h('tr', {}, h('td', { colspan: 5 }, 'No cameras yet.')));
  }

  private row(c: AdminCamera): HTMLTableRowElement {
    const remove = c.remove
      ? h('button', { type: 'button', 'aria-label': `Remove ${c.id}`, onclick: () => this.remove(c) }, 'Remove')
      : null;
    return h(
      'tr',
      { 'data-admin-camera': c.id },
      h('td', {}, c.id),
      h('td', {}, c.kind),
      h('td', { 'data-cell': 'state' }, c.state),
      h('td', {}, c.note ?? ''),
      h('td', {}, remove),
    );
  }

  private remove(c: AdminCamera): void {
    if (!confirm(`Remove ${c.kind} ${c.id}? It can no longer send anything until added again.`)) return;
    void this.act(`Camera ${c.id} removed.`, async () => {
      if (c.remove === 'gateway') await post(gatewayPath('unregister'), { cameraId: c.id });
      else await request('DELETE', apiUrl(API_PATHS.ipcam, { id: c.id }));
    });
  }

  /** The window's state and, while open, a countdown ticking each second until it closes. */
  private showEnrolment(answer: { closesAt: string | null }): void {
    this.closesAtMs = answer.closesAt ? Date.parse(answer.closesAt) : 0;
    const tick = () => {
      const left = this.closesAtMs - Date.now();
      if (left <= 0) {
        this.enrolment.textContent = 'Enrolment closed: new VBC01 cameras cannot enrol.';
        this.enrolment.dataset.state = 'closed';
        clearInterval(this.ticker);
        this.ticker = undefined;
        return;
      }
      this.enrolment.textContent = `Enrolment open: closes in ${countdownText(left)}`;
      this.enrolment.dataset.state = 'open';
    };
    tick();
    if (this.closesAtMs > Date.now()) this.ticker ??= setInterval(tick, 1000);
  }

  private act(done: string, change: () => Promise<unknown>): Promise<void> {
    return adminAction(this.result, done, change, () => this.load());
  }
}
