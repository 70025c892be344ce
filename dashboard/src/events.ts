/**
 * The event timeline: filters (camera, type, dates), pages, thumbnails, and the
 * recording played in the page (HLS through hls.js, loaded only when a
 * recording is played: it is the largest part of the bundle). New events
 * arrive over the live feed and show at once on the first page. An event the recorder
 * cut a clip for (issue 19) plays it as a plain MP4 and offers it for download.
 */
import { EVENT_PAGE } from '../../nodes/lib/contract/first-view';
import type { EventClip } from '../../nodes/lib/contract/recordings';
import { clipPlayer, clipsFor, clipUrl, timeline } from './recordings';
import type { FeedMessage } from '../../nodes/lib/contract/feed';
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-paths';
import { ApiFailure, get, query } from './api';
import type { CameraRow, EventPage, EventRow } from '../../nodes/lib/contract/dashboard-api';
import { byId, clear, h } from './dom';
import { fmtDuration, fmtTime, fromSeconds } from './format';

/**
 * A thumbnail is often uploaded after the event. The page's events are asked
 * for again (one request for the page, never one per missing picture) while a
 * young event on it has none, and a picture is fetched only once the event
 * says it has one (`has_thumbnail`).
 */
const THUMB_WATCH_MS = 3000;
const THUMB_WATCHES = 20;
const YOUNG_MS = 5 * 60_000;

interface HlsLike {
  loadSource(url: string): void;
  attachMedia(video: HTMLMediaElement): void;
  destroy(): void;
  on(event: string, cb: (event: string, data: { fatal?: boolean; details?: string }) => void): void;
}

export class EventTimeline {
  /**
   * Pages by cursor (the API's `next`), so page 10,000 is as quick as page 1 and
   * newer events do not shift the page being read. Previous pages: the cursors
   * that led to them, kept as a stack (undefined: the first page).
   */
  private cursor?: string;
  private before: Array<string | undefined> = [];
  private nextCursor: string | null = null;
  private refreshTimer?: number;
  private thumbTimer?: number;
  /** boxes of the shown events still without a picture, by camera and event id */
  private waiting = new Map<string, { box: HTMLElement; event: EventRow }>();
  private hls?: HlsLike;
  private readonly list = byId('event-list');
  private readonly pageInfo = byId('event-page');
  private readonly prev = byId<HTMLButtonElement>('event-prev');
  private readonly next = byId<HTMLButtonElement>('event-next');
  private readonly form = byId<HTMLFormElement>('event-filters');
  private readonly camera = byId<HTMLSelectElement>('filter-camera');
  private readonly player = byId('event-player');
  /** where each shown event's clip buttons go, by camera and event id */
  private clipSlots = new Map<string, { slot: HTMLElement; event: EventRow; name: string }>();
  private loads = 0;

  constructor() {
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.firstPage();
    });
    this.form.addEventListener('reset', () => window.setTimeout(() => this.firstPage()));
    this.prev.addEventListener('click', () => {
      if (this.before.length === 0) return;
      this.cursor = this.before.pop();
      void this.load();
    });
    this.next.addEventListener('click', () => {
      if (!this.nextCursor) return;
      this.before.push(this.cursor);
      this.cursor = this.nextCursor;
      void this.load();
    });
  }

  private firstPage(): void {
    this.cursor = undefined;
    this.before = [];
    void this.load();
  }

  setCameras(rows: CameraRow[]): void {
    const chosen = this.camera.value;
    clear(this.camera, h('option', { value: '' }, 'All cameras'));
    for (const r of rows) this.camera.append(h('option', { value: r.camera_id }, r.camera_name ?? r.camera_id));
    this.camera.value = rows.some((r) => r.camera_id === chosen) ? chosen : '';
  }

  handle(m: FeedMessage): void {
    if (m.type !== 'event-start' && m.type !== 'event-end') return;
    // Only the first page changes when an event arrives; a later page stays where the user is reading.
    if (this.before.length !== 0) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => void this.load(), 300);
  }

  private filters(): Record<string, string | number | undefined> {
    const data = new FormData(this.form);
    const day = (name: string, end: boolean) => {
      const v = String(data.get(name) ?? '');
      if (!v) return undefined;
      // The date inputs are local days: from the start of the first to the end of the last.
      const d = new Date(`${v}T00:00:00`);
      if (end) d.setDate(d.getDate() + 1);
      return end ? d.getTime() - 1 : d.getTime();
    };
    return {
      camera: String(data.get('camera') ?? '') || undefined,
      type: String(data.get('type') ?? '').trim() || undefined,
      zone: String(data.get('zone') ?? '').trim() || undefined,
      label: String(data.get('label') ?? '') || undefined,
      from: day('from', false),
      to: day('to', true),
      limit: EVENT_PAGE,
      cursor: this.cursor,
    };
  }

  async load(): Promise<void> {
    let page: EventPage;
    try {
      page = await get<EventPage>(`${API_PATHS.events}${query(this.filters())}`);
    } catch (err) {
      this.pageInfo.textContent = `Events could not be loaded: ${err instanceof ApiFailure ? err.message : 'no connection'}`;
      return;
    }
    this.nextCursor = page.next;
    this.waiting.clear();
    this.clipSlots.clear();
    clear(this.list, ...page.events.map((e) => this.item(e)));
    this.watchThumbnails(0);
    if (page.events.length === 0) this.list.append(h('li', { class: 'empty' }, 'No events match.'));
    const skipped = this.before.length * EVENT_PAGE;
    const first = page.events.length === 0 ? skipped : skipped + 1;
    // A capped total says so: the API counts up to 10,000 matches and no further (issue 18).
    const total = `${page.total.toLocaleString('en-US')}${page.totalCapped ? '+' : ''}`;
    this.pageInfo.textContent = `${first.toLocaleString('en-US')}–${(skipped + page.events.length).toLocaleString('en-US')} of ${total}`;
    this.prev.disabled = this.before.length === 0;
    this.next.disabled = !page.next;
    void this.showClips(page.events, ++this.loads);
  }

  /**
   * Puts Play clip / Download MP4 on the rows whose event has a clip (the row's `clip`, filled by
   * the store), with the clip's state and times from the recorder's time line: one request per
   * camera that has clips on this page, none for a page without.
   */
  private async showClips(events: EventRow[], load: number): Promise<void> {
    const asked = events
      .filter((e) => e.clip !== null && e.start_timestamp !== null)
      .map((e) => ({
        cameraId: e.camera_id,
        eventId: e.event_id,
        startMs: (e.start_timestamp ?? 0) * 1000,
        endMs: ((e.end_timestamp ?? e.start_timestamp ?? 0) as number) * 1000,
      }));
    if (asked.length === 0) return;
    const clips = await clipsFor(asked);
    if (load !== this.loads) return; // another page is shown by now
    for (const [key, clip] of clips) {
      const shown = this.clipSlots.get(key);
      if (!shown || clip.state === 'failed') continue;
      const play = h(
        'button',
        { type: 'button', 'aria-label': `Play the clip of ${shown.event.activity_type ?? 'event'} at ${shown.name}` },
        'Play clip',
      );
      play.addEventListener('click', () => this.playClip(clip, shown.name, play));
      const download = h('a', { href: clipUrl(clip), download: `${clip.cameraId}-${clip.eventId}.mp4`, class: 'download' }, 'Download MP4');
      clear(shown.slot, play, ' ', download);
    }
  }

  /** Shows an event's clip in the player, as a signed link from an alert asks (after the login). */
  async openEvent(cameraId: string, eventId: string, timeMs: number): Promise<void> {
    const status = h('p', { role: 'status' }, 'Looking for the event…');
    this.stopPlayer();
    clear(this.player, h('h3', {}, `Event ${eventId}`), status);
    this.player.hidden = false;
    this.player.scrollIntoView({ block: 'start' });
    const t = await timeline(cameraId, timeMs - 60_000, timeMs + 6 * 3600_000).catch(() => undefined);
    const event = t?.events.find((e) => e.eventId === eventId);
    if (!event?.clip || event.clip.state === 'failed') {
      status.textContent = !t
        ? 'This server keeps no recordings, so the event has no clip.'
        : event?.clip
          ? `The event's clip failed: ${event.clip.reason ?? 'no reason given'}`
          : 'The event has no clip (yet).';
      return;
    }
    this.playClip(event.clip, cameraId, this.list);
  }

  private playClip(clip: EventClip, name: string, back: HTMLElement): void {
    this.stopPlayer();
    clear(
      this.player,
      ...clipPlayer(clip, name, () => {
        this.stopPlayer();
        this.player.hidden = true;
        back.focus();
      }),
    );
    this.player.hidden = false;
    this.player.querySelector('video')?.focus();
  }

  private item(e: EventRow): HTMLLIElement {
    const name = e.camera_name ?? e.camera_id;
    const start = fromSeconds(e.start_timestamp ?? e.end_timestamp);
    const thumbBox = h('div', { class: 'thumb' }, h('span', { class: 'no-thumb' }, 'no picture'));
    if (e.has_thumbnail) this.thumbnail(thumbBox, e);
    else if (start !== null && Date.now() - start < YOUNG_MS) this.waiting.set(`${e.camera_id}/${e.event_id}`, { box: thumbBox, event: e });
    const play = h(
      'button',
      { type: 'button', 'aria-label': `Play the recording of ${e.activity_type ?? 'event'} at ${name}` },
      'Play recording',
    );
    play.addEventListener('click', () => void this.play(e, name, play));
    const clipSlot = h('span', { class: 'event-clip' });
    this.clipSlots.set(`${e.camera_id}/${e.event_id}`, { slot: clipSlot, event: e, name });
    return h(
      'li',
      { class: 'event', 'data-event': e.event_id },
      thumbBox,
      h(
        'div',
        { class: 'event-text' },
        h('strong', { class: 'event-type' }, e.activity_type ?? 'event'),
        ...(e.detection ? [h('span', { class: 'event-label' }, `${e.detection.label} ${Math.round(e.detection.score * 100)} %`)] : []),
        h('span', { class: 'event-camera' }, name),
        h('time', { datetime: start ? new Date(start).toISOString() : '' }, fmtTime(start)),
        h('span', { class: 'event-duration' }, `Duration: ${fmtDuration(e.duration_seconds)}`),
        // Our cameras say where the motion was (issue 20); a VBC01's events have no zones.
        e.zones === null
          ? null
          : h('span', { class: 'event-zones' }, e.zones.length ? `Zones: ${e.zones.join(', ')}` : 'Outside every zone'),
        play,
        clipSlot,
      ),
    );
  }

  private thumbnail(box: HTMLElement, e: EventRow): void {
    // Not lazy: a detached or undisplayed lazy image never loads, and a page holds only ten.
    const img = h('img', {
      // The camera is part of the event's key: two cameras may use the same event id.
      src: `${apiUrl(API_PATHS.mediaThumbnail, { eventId: e.event_id })}${query({ camera: e.camera_id })}`,
      alt: `Picture of ${e.activity_type ?? 'the event'} at ${e.camera_name ?? e.camera_id}`,
    });
    img.addEventListener('load', () => clear(box, img));
  }

  /** While young events on the page have no picture: ask for the page again, show the pictures that came. */
  private watchThumbnails(round: number): void {
    clearTimeout(this.thumbTimer);
    if (this.waiting.size === 0 || round >= THUMB_WATCHES) return;
    this.thumbTimer = window.setTimeout(() => {
      void get<EventPage>(`${API_PATHS.events}${query(this.filters())}`).then(
        (page) => {
          for (const e of page.events) {
            const key = `${e.camera_id}/${e.event_id}`;
            const waiting = this.waiting.get(key);
            if (!waiting || !e.has_thumbnail) continue;
            this.waiting.delete(key);
            if (waiting.box.isConnected) this.thumbnail(waiting.box, e);
          }
          this.watchThumbnails(round + 1);
        },
        () => this.watchThumbnails(round + 1),
      );
    }, THUMB_WATCH_MS);
  }

  private async play(e: EventRow, name: string, button: HTMLButtonElement): Promise<void> {
    const url = `${apiUrl(API_PATHS.mediaPlaylist, { eventId: e.event_id })}${query({ camera: e.camera_id })}`;
    const status = h('p', { role: 'status' }, 'Loading the recording…');
    this.stopPlayer();
    clear(
      this.player,
      h('h3', {}, `Recording: ${e.activity_type ?? 'event'} at ${name}, ${fmtTime(fromSeconds(e.start_timestamp))}`),
      status,
    );
    this.player.hidden = false;
    const res = await fetch(url, { credentials: 'same-origin', headers: { 'x-requested-with': 'picam-dashboard' } });
    if (!res.ok) {
      const why = ((await res.json().catch(() => ({}))) as { error?: string }).error ?? `${res.status}`;
      status.textContent = res.status === 404 ? `No recording to play: ${why}` : `The recording cannot be played: ${why}`;
      button.focus();
      return;
    }
    const video = h('video', { controls: true, playsinline: true, 'aria-label': `Recording of ${name}` });
    const close = h('button', { type: 'button' }, 'Close player');
    close.addEventListener('click', () => {
      this.stopPlayer();
      this.player.hidden = true;
      button.focus();
    });
    this.player.append(video, close);
    if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url; // Safari plays HLS itself
    } else {
      const { default: Hls } = await import('hls.js');
      if (!Hls.isSupported()) {
        status.textContent = 'This browser cannot play the recording (no Media Source Extensions).';
        return;
      }
      const hls = new Hls({ enableWorker: false }) as unknown as HlsLike;
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) status.textContent = `The recording stopped: ${data.details ?? 'playback error'}`;
      });
      hls.loadSource(url);
      hls.attachMedia(video);
      this.hls = hls;
    }
    status.textContent = 'Ready to play.';
    video.focus();
  }

  private stopPlayer(): void {
    this.hls?.destroy();
    this.hls = undefined;
    clear(this.player);
  }
}

/** An event row, with the clip the API may add to it one day (undefined: the API does not say). */
