/**
 * A camera's day of recordings (issue 19): a 24-hour time line of the local day with the
 * recorded stretches as bars and the events as marks, from GET /api/recordings/:cameraId.
 * A click on the line (or Enter on it, at the time its arrow keys chose) plays from that
 * moment; an event mark plays around its event; day back and forward; "Download MP4" takes
 * the stretch being shown.
 */
import type { CameraRow } from '../../nodes/lib/contract/dashboard-api';
import type { RecordingTimeline } from '../../nodes/lib/contract/recordings';
import { byId, clear, h } from './dom';
import { fmtClock } from './format';
import { mp4Player, recordedCameras, timeline, videoUrl } from './recordings';

const DAY_MS = 86_400_000;
/** How much a click plays: from the point, a few minutes (the recorder serves at most an hour). */
export const PLAY_SPAN_MS = 5 * 60_000;
/** Recorded segments closer than this draw as one bar (a day of 6-second segments is 14,400 of them). */
const JOIN_GAP_MS = 2_000;
/** What the arrow keys move the cursor by on the line (Shift: an hour). */
const STEP_MS = 5 * 60_000;

const dayStart = (ms: number) => {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
};

export class DayView {
  private readonly camera = byId<HTMLSelectElement>('day-camera');
  private readonly label = byId('day-label');
  private readonly line = byId('day-line');
  private readonly status = byId('day-status');
  private readonly player = byId('day-player');
  private day = dayStart(Date.now());
  private cursorMs = Date.now();
  private loads = 0;

  constructor() {
    byId('day-prev').addEventListener('click', () => this.shift(-1));
    byId('day-next').addEventListener('click', () => this.shift(1));
    this.camera.addEventListener('change', () => void this.load());
    this.line.addEventListener('click', (e) => {
      if ((e.target as HTMLElement).closest('.day-mark')) return; // a mark plays its event
      const box = this.line.getBoundingClientRect();
      this.play(this.day + ((e.clientX - box.left) / box.width) * DAY_MS);
    });
    this.line.addEventListener('keydown', (e) => this.key(e));
  }

  setCameras(rows: CameraRow[]): void {
    const chosen = this.camera.value;
    clear(this.camera, ...rows.map((r) => h('option', { value: r.camera_id }, r.camera_name ?? r.camera_id)));
    this.camera.value = rows.some((r) => r.camera_id === chosen) ? chosen : (rows[0]?.camera_id ?? '');
    if (this.camera.value !== chosen) void this.load();
  }

  /** Shows `cameraId`'s day around `timeMs` (a link from an alert). */
  show(cameraId: string, timeMs: number): void {
    if ([...this.camera.options].some((o) => o.value === cameraId)) this.camera.value = cameraId;
    this.day = dayStart(timeMs);
    void this.load();
  }

  private shift(days: number): void {
    const d = new Date(this.day);
    d.setDate(d.getDate() + days); // calendar days: a DST day is 23 or 25 hours
    this.day = d.getTime();
    void this.load();
  }

  async load(): Promise<void> {
    const cameraId = this.camera.value;
    const load = ++this.loads;
    const end = dayStart(this.day + DAY_MS + 3_600_000);
    this.label.textContent = new Date(this.day).toLocaleDateString(undefined, { dateStyle: 'full' });
    if (!cameraId) {
      this.status.textContent = 'No camera.';
      return;
    }
    this.status.textContent = 'Loading…';
    let t: RecordingTimeline | undefined;
    try {
      // No recorder on this server: nothing to ask (the storage panel says so too).
      t = (await recordedCameras()) ? await timeline(cameraId, this.day, end) : undefined;
    } catch (err) {
      if (load === this.loads) this.status.textContent = `The recordings could not be loaded: ${(err as Error).message}`;
      return;
    }
    if (load !== this.loads) return;
    if (!t) {
      this.status.textContent = 'This server keeps no recordings.';
      clear(this.line);
      return;
    }
    this.draw(t, end);
  }

  private draw(t: RecordingTimeline, end: number): void {
    const span = end - this.day;
    const pct = (ms: number) => `${(((Math.min(Math.max(ms, this.day), end) - this.day) / span) * 100).toFixed(3)}%`;
    // Positions through the CSSOM: the page's CSP allows no style attributes.
    const at = <T extends HTMLElement>(el: T, left: string, width?: string): T => {
      el.style.left = left;
      if (width) el.style.width = width;
      return el;
    };
    const bars = joined(t.segments).map(([s, e]) =>
      at(h('span', { class: 'day-bar', title: `${fmtClock(s)}–${fmtClock(e)}` }), pct(s), `calc(${pct(e)} - ${pct(s)})`),
    );
    const name = this.camera.selectedOptions[0]?.textContent ?? t.cameraId;
    const marks = t.events.map((e) => {
      const mark = at(
        h('button', {
          type: 'button',
          class: `day-mark${e.clip ? ' has-clip' : ''}`,
          'data-event': e.eventId,
          'aria-label': `Play ${e.activityType} at ${name}, ${fmtClock(e.startMs)}`,
          title: `${e.activityType} ${fmtClock(e.startMs)}`,
        }),
        pct(e.startMs),
      );
      mark.addEventListener('click', () =>
        this.play(e.clip ? e.clip.startMs : e.startMs - 5_000, e.clip?.endMs ?? (e.endMs ?? e.startMs) + 10_000),
      );
      return mark;
    });
    const hours = [0, 6, 12, 18].map((hr) =>
      at(h('span', { class: 'day-hour', 'aria-hidden': 'true' }, `${hr}:00`), `${(hr / 24) * 100}%`),
    );
    clear(this.line, ...hours, ...bars, ...marks);
    this.line.dataset.segments = String(bars.length);
    const recorded = t.segments.reduce((n, s) => n + (s.endMs - s.startMs), 0);
    this.status.textContent =
      `${t.segments.length ? `${Math.round(recorded / 60_000)} min recorded` : 'Nothing recorded'} · ` +
      `${t.events.length} event${t.events.length === 1 ? '' : 's'} · mode ${t.mode}`;
  }

  /** Arrow keys move a cursor over the day, Enter plays from it: the line works without a mouse. */
  private key(e: KeyboardEvent): void {
    const step = e.shiftKey ? 12 * STEP_MS : STEP_MS;
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const base = this.cursorMs >= this.day && this.cursorMs < this.day + DAY_MS ? this.cursorMs : this.day;
      this.cursorMs = Math.min(Math.max(base + (e.key === 'ArrowRight' ? step : -step), this.day), this.day + DAY_MS - 1);
      this.line.setAttribute('aria-valuenow', String(this.cursorMs - this.day));
      this.line.setAttribute('aria-valuetext', fmtClock(this.cursorMs));
      e.preventDefault();
    } else if (e.key === 'Enter' || e.key === ' ') {
      this.play(this.cursorMs);
      e.preventDefault();
    }
  }

  private play(fromMs: number, toMs = fromMs + PLAY_SPAN_MS): void {
    const cameraId = this.camera.value;
    if (!cameraId) return;
    this.cursorMs = fromMs; // the arrow keys go on from what plays
    const name = this.camera.selectedOptions[0]?.textContent ?? cameraId;
    const url = videoUrl(cameraId, fromMs, toMs);
    const { video, download } = mp4Player(url, `Recording of ${name} from ${fmtClock(fromMs)}`, `${cameraId}-${Math.round(fromMs)}`);
    const status = h('p', { role: 'status' }, `${name}, ${fmtClock(fromMs)}–${fmtClock(toMs)}`);
    // The recorder answers 404 where nothing was recorded: say so instead of a grey box.
    video.addEventListener('error', () => (status.textContent = `Nothing recorded to play at ${fmtClock(fromMs)}.`));
    clear(this.player, status, video, h('p', { class: 'actions' }, download));
    this.player.hidden = false;
    video.autoplay = true;
  }
}

/** Segments as [start, end] stretches, neighbours (gap under JOIN_GAP_MS) joined. */
function joined(segments: RecordingTimeline['segments']): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of [...segments].sort((a, b) => a.startMs - b.startMs)) {
    const last = out[out.length - 1];
    if (last && s.startMs - last[1] <= JOIN_GAP_MS) last[1] = Math.max(last[1], s.endMs);
    else out.push([s.startMs, s.endMs]);
  }
  return out;
}
