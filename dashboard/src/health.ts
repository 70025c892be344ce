/**
 * Stream health (GET /api/streams, from mediamtx-health), the live streams the runtime
 * serves itself (VBC01, RTSP sources) with their counters (GET /api/live, from vbc01-live) and the alert delivery
 * log (GET /api/alerts). Either may be missing on a server (no MediaMTX, no
 * alert nodes, an older flow): the section then says so and the page goes on.
 */
import type { FeedMessage } from '../../nodes/lib/contract/feed';
import { API_PATHS } from '../../nodes/lib/contract/api-paths';
import { getOptional, query } from './api';
import type { AlertLogRow, StreamRow } from '../../nodes/lib/contract/dashboard-api';
import type { LiveCameraState } from '../../nodes/lib/contract/live';
import { LIVE_STATE_TEXT } from './live-state';

/** What a stream line shows: a row of GET /api/streams, or the same fields from the live feed */
type StreamLine = Pick<StreamRow, 'path' | 'time_ms' | 'readers' | 'inbound_kbps' | 'outbound_kbps'> & { online: number | boolean };
import { byId, clear, h } from './dom';
import { fmtTime } from './format';

export class HealthView {
  private readonly streams = byId('stream-table');
  private readonly alerts = byId('alert-table');
  private readonly live = byId('live-table');
  private readonly rows = new Map<string, HTMLTableRowElement>();

  constructor() {
    byId('live-refresh').addEventListener('click', () => void this.loadLive());
  }

  async load(): Promise<void> {
    await Promise.all([this.loadStreams(), this.loadLive(), this.loadAlerts()]);
  }

  /** Each running VBC01 stream: its state and the bridge's counters. */
  private async loadLive(): Promise<void> {
    const data = await getOptional<{ streams?: LiveCameraState[] }>(API_PATHS.live).catch(() => undefined);
    const list = data?.streams ?? [];
    clear(this.live);
    if (list.length === 0) {
      this.live.append(h('tr', {}, h('td', { colspan: 6 }, 'No VBC01 camera is streaming live now.')));
      return;
    }
    for (const s of list) {
      const st = s.stats;
      this.live.append(
        h(
          'tr',
          { 'data-camera': s.cameraId },
          h('th', { scope: 'row' }, s.cameraId),
          h('td', { class: s.state === 'playing' ? 'ok' : s.state === 'failed' ? 'bad' : '' }, LIVE_STATE_TEXT[s.state] ?? s.state),
          h('td', {}, String(st?.viewers ?? 0)),
          h('td', {}, st ? `${Math.round(st.bitrateBps / 1000)} kbit/s` : '—'),
          h('td', {}, st ? `${st.lost} of ${st.packets + st.lost}` : '—'),
          h('td', {}, String(st?.rembSent ?? 0)),
        ),
      );
    }
  }

  handle(m: FeedMessage): void {
    if (m.type !== 'stream-health') return;
    this.streamRow({
      path: m.path,
      time_ms: m.timeMs,
      online: m.online,
      readers: m.readers,
      inbound_kbps: m.inboundKbps ?? null,
      outbound_kbps: m.outboundKbps ?? null,
    });
  }

  private async loadStreams(): Promise<void> {
    const data = await getOptional<{ streams?: StreamRow[] }>(API_PATHS.streams).catch(() => undefined);
    const list = data?.streams ?? [];
    clear(this.streams);
    this.rows.clear();
    if (list.length === 0) {
      this.streams.append(
        h('tr', {}, h('td', { colspan: 5 }, 'No stream health: MediaMTX is not configured here, or no stream has been seen yet.')),
      );
      return;
    }
    for (const s of list) this.streamRow(s);
  }

  private streamRow(s: StreamLine): void {
    if (this.rows.size === 0) clear(this.streams);
    const online = Boolean(s.online);
    const cells = [
      h('th', { scope: 'row' }, s.path),
      h('td', { class: online ? 'ok' : 'bad' }, online ? 'online' : 'offline'),
      h('td', {}, String(s.readers ?? 0)),
      h('td', {}, s.inbound_kbps === null ? '—' : `${Math.round(s.inbound_kbps)} kbit/s`),
      h('td', {}, fmtTime(s.time_ms)),
    ];
    const existing = this.rows.get(s.path);
    if (existing) existing.replaceChildren(...cells);
    else {
      const row = h('tr', { 'data-path': s.path }, ...cells);
      this.rows.set(s.path, row);
      this.streams.append(row);
    }
  }

  private async loadAlerts(): Promise<void> {
    const data = await getOptional<{ alerts?: AlertLogRow[] }>(`${API_PATHS.alerts}${query({ limit: 20 })}`).catch(() => undefined);
    const list = data?.alerts ?? [];
    clear(this.alerts);
    if (list.length === 0) {
      this.alerts.append(h('tr', {}, h('td', { colspan: 5 }, 'No alerts sent yet (or no alert channel is configured).')));
      return;
    }
    for (const a of list) {
      this.alerts.append(
        h(
          'tr',
          {},
          h('td', {}, fmtTime(a.created_ms)),
          h('td', {}, `${a.kind ?? a.item ?? 'alert'} · ${a.device_name ?? a.device_id ?? ''}`),
          h('td', {}, `${a.channel}${a.target ? ` → ${a.target}` : ''}`),
          h('td', { class: a.state === 'sent' ? 'ok' : a.state === 'failed' ? 'bad' : '' }, a.state),
          h('td', {}, a.reason ?? (a.attempts > 1 ? `${a.attempts} attempts` : '')),
        ),
      );
    }
  }
}
