/**
 * The camera grid: one card per camera and Pi with its connection, mode, last
 * event, stream health and live video, the mode and reboot buttons, and a
 * VBC01's sounds. Cards are built once and updated in place, so a keyboard
 * user's focus stays put while the feed changes what the card shows.
 *
 * A fleet's grid is paged (camera-pages.ts), with a search by name or id: the first
 * page is painted from a page request, then the whole list (every row, for the other
 * pages, the search, the sensors and the event filter) follows behind it. The feed
 * keeps every row current, shown or not.
 */
import type { FeedMessage } from '../../nodes/lib/contract/feed';
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-paths';
import { ApiFailure, get, getOptional, post } from './api';
import {
  CAMERA_MODES,
  SOUND_TYPES,
  type CameraMode,
  type CameraRow,
  type CommandAccepted,
  type DashboardClientConfig,
  type StreamRow,
} from '../../nodes/lib/contract/dashboard-api';
import type { CameraList } from '../../nodes/lib/contract/api-rows';
import { byId, h } from './dom';
import { fmtAgo, fmtTime, fromSeconds, modeLabel } from './format';
import { LivePlayer, videoSourceFor } from './player';
import { zonesButton } from './zone-panel';
import { cameraPage, pagerText } from './camera-pages';
import { CAMERA_PAGE, FIRST_CAMERA_PAGE } from '../../nodes/lib/contract/first-view';

const SOUND_LABELS: Record<(typeof SOUND_TYPES)[number], string> = {
  POLICE_SIREN: 'Police siren',
  DOG_BARK: 'Dog bark',
  HOUSE_ALARM: 'House alarm',
  LULLABY: 'Lullaby',
};

/** How long to wait for a camera's camera/state before saying it has not confirmed. */
const CONFIRM_TIMEOUT_MS = 30_000;
const POLL_MS = 3000;

interface StreamState {
  online: boolean;
  readers: number;
  kbps: number | null;
}

interface Card {
  row: CameraRow;
  root: HTMLElement;
  name: HTMLElement;
  badge: HTMLElement;
  mode: HTMLElement;
  lastEvent: HTMLElement;
  lastSeen: HTMLElement;
  stream: HTMLElement;
  modeButtons: Map<CameraMode, HTMLButtonElement>;
  commandStatus: HTMLElement;
  player?: LivePlayer;
  pending?: { mode: CameraMode; requestId: string; timeout: number; poll: number };
}

export class CameraGrid {
  /** the cards of the page shown */
  private readonly cards = new Map<string, Card>();
  /** every camera once the whole list is in; until then the first page's */
  private rows: CameraRow[] = [];
  private readonly rowsById = new Map<string, CameraRow>();
  /** how many cameras there are (this login's) */
  private total = 0;
  /** `rows` is the whole list */
  private complete = false;
  private page = 0;
  private find = '';
  /** each stream's latest health, for cards built after it came */
  private readonly streams = new Map<string, StreamState>();
  private reloadTimer?: number;
  private readonly pager = byId('camera-pager');
  private readonly pageInfo = byId('camera-page');
  private readonly prev = byId<HTMLButtonElement>('camera-prev');
  private readonly next = byId<HTMLButtonElement>('camera-next');
  private readonly findInput = byId<HTMLInputElement>('camera-find');

  constructor(
    private readonly root: HTMLElement,
    private readonly config: DashboardClientConfig,
    /** the camera list changed (the sensors and event filters follow it) */
    private readonly onCameras: (rows: CameraRow[]) => void,
  ) {
    // Properties, not listeners: the page's elements outlive a grid (a new login builds a new one).
    this.prev.onclick = () => this.turn(-1);
    this.next.onclick = () => this.turn(1);
    this.findInput.oninput = () => {
      this.find = this.findInput.value;
      this.page = 0;
      this.show();
    };
  }

  /**
   * The first time, a page of cameras (a few rows whatever the fleet's size), resolving once it
   * is shown, and then the whole list behind it; afterwards (a device appeared, a camera was
   * added), the whole list.
   */
  async load(): Promise<void> {
    if (this.rows.length > 0) return this.loadAll();
    const [first, streams] = await Promise.all([
      get<CameraList>(FIRST_CAMERA_PAGE),
      getOptional<{ streams: StreamRow[] }>(API_PATHS.streams),
    ]);
    for (const s of streams?.streams ?? [])
      this.streams.set(s.path, { online: Boolean(s.online), readers: s.readers, kbps: s.inbound_kbps });
    this.take(first, first.cameras.length >= first.total);
    if (this.complete) this.onCameras(this.rows);
    else void this.loadAll().catch((err: Error) => (this.pageInfo.textContent = `The other cameras could not be loaded: ${err.message}`));
  }

  private async loadAll(): Promise<void> {
    this.take(await get<CameraList>(API_PATHS.cameras), true);
    this.onCameras(this.rows);
  }

  stop(): void {
    for (const c of this.cards.values()) {
      c.player?.stop();
      this.endPending(c);
    }
    clearTimeout(this.reloadTimer);
  }

  handle(m: FeedMessage): void {
    if (m.type === 'stream-health') {
      this.streams.set(m.path, { online: m.online, readers: m.readers, kbps: m.inboundKbps ?? null });
      return this.showStream(m.path);
    }
    if (m.type === 'hello') return;
    const row = this.rowsById.get(m.deviceId);
    if (!row) {
      // A device we have not seen: list again (until the whole list is in, it may be on another page).
      if (m.type !== 'command' && this.complete) this.reloadSoon();
      return;
    }
    row.last_seen = Math.max(row.last_seen ?? 0, Math.floor(m.timeMs / 1000));
    if (m.type === 'connection') {
      row.connection_status = m.status;
      if (m.name) row.camera_name = m.name;
    } else if (m.type === 'camera-state' && m.mode) row.status = m.mode;
    else if (m.type === 'event-start') {
      row.last_event_id = m.eventId;
      row.last_event_type = m.activityType;
      row.last_event_time = m.timeMs / 1000;
    }
    const card = this.cards.get(m.deviceId);
    if (!card) return; // on another page: its card is built from the row when shown
    card.lastSeen.textContent = fmtAgo(m.timeMs);
    if (m.type === 'connection') {
      card.name.textContent = row.camera_name ?? row.camera_id;
      this.showConnection(card);
    } else if (m.type === 'camera-state' && m.mode) {
      this.showMode(card);
      if (card.pending?.mode === m.mode) this.confirmed(card);
    } else if (m.type === 'event-start') this.showEvent(card);
  }

  private reloadSoon(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = window.setTimeout(() => void this.load().catch(() => undefined), 1000);
  }

  private take(list: CameraList, complete: boolean): void {
    this.rows = list.cameras;
    this.total = complete ? list.cameras.length : list.total;
    this.complete = complete;
    this.rowsById.clear();
    for (const r of list.cameras) this.rowsById.set(r.camera_id, r);
    this.show();
  }

  private turn(by: number): void {
    this.page += by;
    this.show();
    this.root.scrollIntoView({ block: 'nearest' });
  }

  /** The page asked for: cards kept (their focus and video) when still on it, built when new. */
  private show(): void {
    const p = cameraPage(this.rows, this.find, this.page, this.total);
    this.page = p.page;
    const ids = new Set(p.rows.map((r) => r.camera_id));
    for (const [id, c] of this.cards) {
      if (ids.has(id)) continue;
      c.player?.stop();
      this.endPending(c);
      this.cards.delete(id);
    }
    const shown = p.rows.map((row) => this.cardFor(row));
    const inPlace = shown.length === this.root.children.length && shown.every((c, i) => this.root.children[i] === c.root);
    if (!inPlace) this.root.replaceChildren(...shown.map((c) => c.root));
    if (this.total === 0) this.root.replaceChildren(h('p', { class: 'empty' }, 'No cameras yet: they appear when they first connect.'));
    else if (p.matching === 0) this.root.replaceChildren(h('p', { class: 'empty' }, 'No camera matches the search.'));
    this.pager.hidden = this.total <= CAMERA_PAGE && !this.find;
    this.pageInfo.textContent = pagerText(p, this.find, this.total);
    this.prev.disabled = p.page === 0;
    this.next.disabled = p.page >= p.pages - 1 || (!this.complete && (p.page + 1) * CAMERA_PAGE >= this.rows.length);
    // The search looks through every row: until the whole list is in, it waits.
    this.findInput.disabled = !this.complete;
  }

  /** The row's card, updated, or a new one. */
  private cardFor(row: CameraRow): Card {
    const existing = this.cards.get(row.camera_id);
    if (!existing) {
      const card = this.card(row);
      this.cards.set(row.camera_id, card);
      return card;
    }
    existing.row = row;
    existing.name.textContent = row.camera_name ?? row.camera_id;
    this.showConnection(existing);
    this.showMode(existing);
    this.showEvent(existing);
    existing.lastSeen.textContent = fmtAgo(fromSeconds(row.last_seen));
    return existing;
  }

  private card(row: CameraRow): Card {
    const id = row.camera_id;
    const label = row.camera_name ?? id;
    const field = () => h('dd');
    const name = h('h3', { id: `cam-${id}-name` }, label);
    const badge = h('span', { class: 'badge' });
    const mode = field();
    const lastEvent = field();
    const lastSeen = field();
    const stream = field();
    lastEvent.textContent = 'none';
    stream.textContent = 'no data';
    const videoBox = h('div', { class: 'video' });
    const videoStatus = h('p', { class: 'video-status', role: 'status', 'aria-live': 'polite' });
    const commandStatus = h('p', { class: 'command-status', role: 'status', 'aria-live': 'polite' });
    const modeButtons = new Map<CameraMode, HTMLButtonElement>();
    const card: Card = { row, root: h('article'), name, badge, mode, lastEvent, lastSeen, stream, modeButtons, commandStatus };

    const watch = h(
      'button',
      { type: 'button', class: 'watch', 'aria-label': `Show live video of ${label}`, 'aria-pressed': 'false' },
      'Live video',
    );
    watch.addEventListener('click', () => {
      if (card.player) {
        card.player.stop();
        card.player = undefined;
        videoBox.hidden = true;
        watch.setAttribute('aria-pressed', 'false');
        return;
      }
      videoBox.hidden = false;
      watch.setAttribute('aria-pressed', 'true');
      card.player = new LivePlayer(
        videoBox,
        videoStatus,
        videoSourceFor(id, this.config.webrtcUrl, this.config.mjpeg, card.row.device_type ?? undefined, this.config.runtimeLive),
        label,
      );
      card.player.start();
    });
    videoBox.hidden = true;

    const modes = h('div', { class: 'modes', role: 'group', 'aria-label': `Mode of ${label}` });
    for (const m of CAMERA_MODES) {
      const b = h(
        'button',
        { type: 'button', class: 'mode', 'data-mode': m, 'aria-label': `Set ${label} to ${modeLabel(m)}` },
        modeLabel(m),
      );
      b.addEventListener('click', () => void this.setMode(card, m));
      modeButtons.set(m, b);
      modes.append(b);
    }
    const reboot = h('button', { type: 'button', class: 'reboot', 'aria-label': `Reboot ${label}` }, 'Reboot');
    let armedUntil = 0;
    reboot.addEventListener('click', () => {
      // Two presses within 5 s: a reboot takes a camera away for a while, so one stray press must not do it.
      if (Date.now() > armedUntil) {
        armedUntil = Date.now() + 5000;
        reboot.textContent = 'Press again to reboot';
        window.setTimeout(() => (reboot.textContent = 'Reboot'), 5000);
        return;
      }
      armedUntil = 0;
      reboot.textContent = 'Reboot';
      void this.command(
        card,
        apiUrl(API_PATHS.controlReboot, { id }),
        'Reboot queued: the camera restarts once the broker has delivered it (see /api/commands).',
      );
    });

    const sound = row.device_type === 'hive-cam' ? this.soundControls(card, label) : [];
    const zones = zonesButton(
      () => card.row,
      this.config.mjpeg,
      (panel) => card.root.insertBefore(panel, commandStatus),
    );

    card.root = h(
      'article',
      { class: 'camera', id: `camera-${id}`, 'aria-labelledby': `cam-${id}-name`, 'data-camera': id },
      h('header', {}, name, badge),
      h(
        'dl',
        {},
        h('dt', {}, 'Mode'),
        mode,
        h('dt', {}, 'Last event'),
        lastEvent,
        h('dt', {}, 'Last seen'),
        lastSeen,
        h('dt', {}, 'Stream'),
        stream,
        h('dt', {}, 'Type'),
        h('dd', {}, `${row.device_type ?? 'camera'} · ${id}`),
      ),
      videoBox,
      videoStatus,
      // An IP camera cannot be rebooted from here (the API refuses it with 409): no button for it.
      h('div', { class: 'actions' }, watch, modes, row.device_type === 'ipcam' ? null : reboot, zones),
      ...sound,
      commandStatus,
    );
    this.showConnection(card);
    this.showMode(card);
    this.showEvent(card);
    this.showStream(id, card);
    lastSeen.textContent = fmtAgo(fromSeconds(row.last_seen));
    return card;
  }

  /** A VBC01 plays a sound for 20-30 s by itself; Stop ends it sooner. */
  private soundControls(card: Card, label: string): HTMLElement[] {
    const id = card.row.camera_id;
    const pick = h('select', { class: 'sound-type', 'aria-label': `Sound for ${label}` });
    for (const t of SOUND_TYPES) pick.append(h('option', { value: t }, SOUND_LABELS[t]));
    const play = h('button', { type: 'button', class: 'sound-play', 'aria-label': `Play the sound on ${label}` }, 'Play sound');
    const stop = h('button', { type: 'button', class: 'sound-stop', 'aria-label': `Stop the sound on ${label}` }, 'Stop sound');
    play.addEventListener('click', () => {
      const chosen = pick.value;
      const name = SOUND_LABELS[chosen as (typeof SOUND_TYPES)[number]] ?? chosen;
      void this.command(
        card,
        apiUrl(API_PATHS.controlSound, { id, sound: chosen }),
        `"${name}" sent: the camera plays it once it gets it.`,
      );
    });
    stop.addEventListener('click', () => void this.command(card, apiUrl(API_PATHS.controlSound, { id, sound: 'stop' }), 'Stop sent.'));
    return [h('div', { class: 'actions sound', role: 'group', 'aria-label': `Sound on ${label}` }, pick, play, stop)];
  }

  private showConnection(c: Card): void {
    const online = c.row.connection_status === 'connected';
    c.badge.textContent = online ? 'Online' : 'Offline';
    c.badge.className = `badge ${online ? 'online' : 'offline'}`;
    c.root.dataset.online = String(online);
  }

  private showMode(c: Card): void {
    const reported = c.row.status;
    const desired = c.row.desired_mode;
    c.mode.textContent =
      desired && reported && desired !== reported
        ? `${modeLabel(reported)} (asked: ${modeLabel(desired)})`
        : modeLabel(reported ?? desired);
    c.root.dataset.mode = reported ?? '';
    for (const [m, b] of c.modeButtons) b.setAttribute('aria-pressed', String(m === reported));
  }

  private showEvent(c: Card): void {
    const { last_event_id: id, last_event_type: type, last_event_time: time } = c.row;
    if (id !== null && id !== undefined) c.lastEvent.textContent = `${type ?? 'event'} · ${fmtTime(fromSeconds(time))}`;
  }

  /** A stream's path is its camera's id. */
  private showStream(path: string, c = this.cards.get(path)): void {
    const state = this.streams.get(path);
    if (!c || !state) return;
    const { online, readers, kbps } = state;
    c.stream.textContent = online
      ? `online · ${readers} viewer${readers === 1 ? '' : 's'}${kbps ? ` · ${Math.round(kbps)} kbit/s` : ''}`
      : 'offline';
    c.stream.dataset.online = String(online);
  }

  private async setMode(c: Card, mode: CameraMode): Promise<void> {
    this.endPending(c);
    const label = modeLabel(mode);
    const accepted = await this.command(
      c,
      apiUrl(API_PATHS.controlMode, { id: c.row.camera_id, mode }),
      `Sent "${label}"; waiting for the camera to confirm…`,
    );
    if (!accepted) return;
    c.row.desired_mode = mode;
    this.showMode(c);
    c.root.dataset.pending = mode;
    const timeout = window.setTimeout(() => {
      this.endPending(c);
      this.say(c, `No confirmation from the camera after ${CONFIRM_TIMEOUT_MS / 1000} s; it gets "${label}" when it reconnects.`, 'warn');
    }, CONFIRM_TIMEOUT_MS);
    // The feed normally brings the confirmation; polling covers a feed that is down.
    const poll = window.setInterval(() => {
      void get<CameraList>(API_PATHS.cameras).then(
        ({ cameras }) => {
          const row = cameras.find((r) => r.camera_id === c.row.camera_id);
          if (row?.status === mode && c.pending?.mode === mode) {
            c.row.status = mode;
            this.showMode(c);
            this.confirmed(c);
          }
        },
        () => undefined,
      );
    }, POLL_MS);
    c.pending = { mode, requestId: accepted.data.requestId, timeout, poll };
  }

  private confirmed(c: Card): void {
    const mode = c.pending?.mode;
    this.endPending(c);
    if (mode) this.say(c, `Camera confirmed: ${modeLabel(mode)}`, 'ok');
  }

  private endPending(c: Card): void {
    if (!c.pending) return;
    clearTimeout(c.pending.timeout);
    clearInterval(c.pending.poll);
    c.pending = undefined;
    delete c.root.dataset.pending;
  }

  private async command(c: Card, path: string, sent: string): Promise<CommandAccepted | undefined> {
    this.say(c, 'Sending…', 'busy');
    try {
      const r = await post<CommandAccepted>(path);
      this.say(c, sent, 'busy');
      return r;
    } catch (err) {
      const why = err instanceof ApiFailure ? err.message : 'the server cannot be reached';
      this.say(c, `Not sent: ${why}`, 'error');
      return undefined;
    }
  }

  private say(c: Card, text: string, state: 'ok' | 'busy' | 'warn' | 'error'): void {
    c.commandStatus.textContent = text;
    c.commandStatus.dataset.state = state;
  }
}
