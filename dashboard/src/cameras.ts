/**
 * The camera grid: one card per camera and Pi with its connection, mode, last
 * event, stream health and live video, the mode and reboot buttons, and a
 * VBC01's sounds. Cards
 * are built once and updated in place, so a keyboard user's focus stays put
 * while the feed changes what the card shows.
 *
 * A fleet's grid has hundreds of cards: about a screen of them is built at once and
 * the rest a batch per task after it, so the page shows (and answers clicks) while the
 * rest are built. 600 cards in one task were about a second of script, style and
 * layout before the first paint (issue 18). A card waiting to be built keeps its row,
 * which the feed updates like a card's.
 */
import type { FeedMessage } from '../../nodes/lib/contract/feed';
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-routes';
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
import { clear, h } from './dom';
import { fmtAgo, fmtTime, fromSeconds, modeLabel } from './format';
import { LivePlayer, videoSourceFor } from './player';
import { zonesButton } from './zone-panel';

const SOUND_LABELS: Record<(typeof SOUND_TYPES)[number], string> = {
  POLICE_SIREN: 'Police siren',
  DOG_BARK: 'Dog bark',
  HOUSE_ALARM: 'House alarm',
  LULLABY: 'Lullaby',
};

/** How long to wait for a camera's camera/state before saying it has not confirmed. */
const CONFIRM_TIMEOUT_MS = 30_000;
const POLL_MS = 3000;
/** cards built before the first paint: more than a wide screen shows */
export const FIRST_CARDS = 24;
/** cards built per later task: each batch a short task */
const CARD_BATCH = 48;

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
  private readonly cards = new Map<string, Card>();
  /** rows whose cards are not built yet, in grid order */
  private readonly queued = new Map<string, CameraRow>();
  /** each stream's latest health, for cards built after it came */
  private readonly streams = new Map<string, StreamState>();
  private reloadTimer?: number;
  private buildTimer?: number;
  private afterBuild?: () => void;

  constructor(
    private readonly root: HTMLElement,
    private readonly config: DashboardClientConfig,
    /** the camera list changed (the sensors and event filters follow it) */
    private readonly onCameras: (rows: CameraRow[]) => void,
  ) {}

  async load(): Promise<void> {
    const [{ cameras }, streams] = await Promise.all([
      get<{ cameras: CameraRow[] }>(API_PATHS.cameras),
      getOptional<{ streams: StreamRow[] }>(API_PATHS.streams),
    ]);
    // Each row carries its device's newest event: the grid takes these two requests whatever the
    // number of devices (one request per device took 17 s at 600, issue 18).
    for (const s of streams?.streams ?? [])
      this.streams.set(s.path, { online: Boolean(s.online), readers: s.readers, kbps: s.inbound_kbps });
    this.render(cameras);
    // The sensors and the event filter follow once every card is built: they are below the grid.
    this.afterBuild = () => this.onCameras(cameras);
    if (this.queued.size === 0) this.built();
  }

  stop(): void {
    for (const c of this.cards.values()) {
      c.player?.stop();
      this.endPending(c);
    }
    clearTimeout(this.reloadTimer);
    clearTimeout(this.buildTimer);
    this.queued.clear();
  }

  handle(m: FeedMessage): void {
    if (m.type === 'stream-health') {
      this.streams.set(m.path, { online: m.online, readers: m.readers, kbps: m.inboundKbps ?? null });
      return this.showStream(m.path);
    }
    if (m.type === 'hello') return;
    const card = this.cards.get(m.deviceId);
    const row = card?.row ?? this.queued.get(m.deviceId);
    if (!row) {
      if (m.type !== 'command') this.reloadSoon(); // a device we have not seen: list again
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
    if (!card) return; // a queued card is built from its row as it is now
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

  private render(rows: CameraRow[]): void {
    const seen = new Set<string>();
    this.queued.clear();
    for (const row of rows) {
      seen.add(row.camera_id);
      const existing = this.cards.get(row.camera_id);
      if (!existing) {
        this.queued.set(row.camera_id, row);
        continue;
      }
      existing.row = row;
      existing.name.textContent = row.camera_name ?? row.camera_id;
      this.showConnection(existing);
      this.showMode(existing);
      this.showEvent(existing);
      existing.lastSeen.textContent = fmtAgo(fromSeconds(row.last_seen));
    }
    for (const [id, c] of this.cards) {
      if (seen.has(id)) continue;
      c.player?.stop();
      c.root.remove();
      this.cards.delete(id);
    }
    this.buildQueued(FIRST_CARDS);
    if (rows.length === 0) clear(this.root, h('p', { class: 'empty' }, 'No cameras yet: they appear when they first connect.'));
    else this.root.querySelector('.empty')?.remove();
  }

  /** Builds the next `count` queued cards (one insertion), then the rest a batch per task. */
  private buildQueued(count: number): void {
    clearTimeout(this.buildTimer);
    const batch = document.createDocumentFragment();
    for (const [id, row] of this.queued) {
      if (batch.childElementCount >= count) break;
      this.queued.delete(id);
      const card = this.card(row);
      this.cards.set(id, card);
      batch.append(card.root);
    }
    // New devices (a reload) join at the end, as they did when every card was built at once.
    this.root.append(batch);
    if (this.queued.size > 0) this.buildTimer = window.setTimeout(() => this.buildQueued(CARD_BATCH));
    else this.built();
  }

  private built(): void {
    const then = this.afterBuild;
    this.afterBuild = undefined;
    then?.();
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
      void get<{ cameras: CameraRow[] }>(API_PATHS.cameras).then(
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
