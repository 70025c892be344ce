/**
 * The masks-and-zones editor of one camera (issue 20): its latest picture with the polygons drawn
 * over it. Click on the picture to add corners, close the polygon, name it a zone (events carry
 * the name; optional: its minimum area, its own sensitivity and minimum motion duration) or make
 * it a mask (motion there is ignored), delete one, save. Saving posts the list
 * to POST /api/control/zones/{id}: the cloud keeps it and sends it to the camera now and whenever
 * it connects. The list is checked here with the API's own checker (nodes/lib/contract/zones.ts),
 * so a mistake is named before anything is sent; the server checks again.
 *
 * Coordinates are percent of the picture (0–100), whatever its size on the screen: the overlay is
 * an SVG with a 100×100 view box stretched over the picture.
 */
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-paths';
import type { CameraRow, CommandAccepted } from '../../nodes/lib/contract/dashboard-api';
import { readZones, ZONE_LIMITS, ZonesError, type ZonePoint, type ZonePolygon } from '../../nodes/lib/contract/zones';
import { ApiFailure, post, query } from './api';
import { clear, h } from './dom';

const SVG = 'http://www.w3.org/2000/svg';

/** Where the editor finds a picture of the camera, best first; the next is tried when one fails. */
export function pictureSources(row: CameraRow, mjpeg: Record<string, string>): string[] {
  const id = row.camera_id;
  const sources: string[] = [];
  if (row.device_type === 'ipcam') sources.push(apiUrl(API_PATHS.ipcamSnapshot, { id }));
  if (mjpeg[id]) sources.push(mjpeg[id]);
  if (row.last_event_id) sources.push(`${apiUrl(API_PATHS.mediaThumbnail, { eventId: row.last_event_id })}${query({ camera: id })}`);
  return sources;
}

/** Which cameras take masks and zones: our own analyser's (a Pi's camera, an IP camera), not a VBC01. */
export const takesZones = (row: CameraRow): boolean => row.device_type !== 'hive-cam';

export class ZoneEditor {
  readonly root: HTMLElement;
  private polygons: ZonePolygon[];
  private drawing: ZonePoint[] = [];
  private readonly overlay: SVGSVGElement;
  private readonly list = h('ul', { class: 'zone-list' });
  private readonly status = h('p', { class: 'zone-status', role: 'status', 'aria-live': 'polite' });
  private readonly kind = h(
    'select',
    { name: 'kind', class: 'zone-kind' },
    h('option', { value: 'zone' }, 'Zone'),
    h('option', { value: 'mask' }, 'Mask'),
  );
  private readonly name = h('input', { name: 'name', class: 'zone-name', maxlength: 32, placeholder: 'driveway', autocomplete: 'off' });
  private readonly minArea = h('input', { name: 'minArea', class: 'zone-number', type: 'number', min: 0, max: 100, step: 0.5 });
  /** empty: the camera's own */
  private readonly sensitivity = h('input', { name: 'sensitivity', class: 'zone-number', type: 'number', min: 0, max: 1, step: 0.1 });
  /** empty: any motion during the event */
  private readonly minMotion = h('input', { name: 'minMotionSeconds', class: 'zone-number', type: 'number', min: 0, max: 60, step: 0.5 });
  /** the zone-only fields, as the polygon's fields */
  private readonly zoneFields = { minArea: this.minArea, sensitivity: this.sensitivity, minMotionSeconds: this.minMotion } as const;

  constructor(
    private readonly row: CameraRow,
    sources: string[],
  ) {
    const label = row.camera_name ?? row.camera_id;
    this.polygons = structuredClone(row.zones ?? []);
    this.overlay = document.createElementNS(SVG, 'svg');
    this.overlay.setAttribute('viewBox', '0 0 100 100');
    this.overlay.setAttribute('preserveAspectRatio', 'none');
    this.overlay.setAttribute('class', 'zone-overlay');
    this.overlay.setAttribute('aria-hidden', 'true');
    const canvas = h(
      'div',
      { class: 'zone-canvas', role: 'application', 'aria-label': `Picture of ${label}: click to add a corner` },
      this.picture(sources, label),
      this.overlay,
    );
    canvas.addEventListener('click', (e) => this.addPoint(e, canvas));

    const close = h('button', { type: 'button', class: 'zone-close' }, 'Close polygon');
    close.addEventListener('click', () => this.closePolygon());
    const undo = h('button', { type: 'button', class: 'zone-undo' }, 'Undo corner');
    undo.addEventListener('click', () => {
      this.drawing.pop();
      this.draw();
    });
    const save = h('button', { type: 'button', class: 'zone-save' }, 'Save masks and zones');
    save.addEventListener('click', () => void this.save());
    this.kind.addEventListener('change', () => {
      for (const input of Object.values(this.zoneFields)) input.disabled = this.kind.value === 'mask';
    });

    this.root = h(
      'section',
      { class: 'zone-editor', 'aria-label': `Masks and zones of ${label}` },
      canvas,
      h('p', { class: 'hint' }, 'Click on the picture to add corners (3 or more), then close the polygon.'),
      h(
        'div',
        { class: 'zone-controls' },
        h('label', {}, 'Kind ', this.kind),
        h('label', {}, 'Name ', this.name),
        h('label', {}, 'Minimum area (% of the picture) ', this.minArea),
        h('label', { title: "0–1; empty: the camera's" }, 'Sensitivity ', this.sensitivity),
        h('label', { title: 'empty: any motion during the event' }, 'Minimum motion (s) ', this.minMotion),
        close,
        undo,
      ),
      this.list,
      h('div', { class: 'actions' }, save),
      this.status,
    );
    this.draw();
  }

  /** The picture to draw on: the first source that loads, else a blank frame of the usual shape. */
  private picture(sources: string[], label: string): HTMLElement {
    const box = h('div', { class: 'zone-picture' }, h('span', { class: 'no-thumb' }, 'no picture yet: draw on the blank frame'));
    const next = (i: number) => {
      const src = sources[i];
      if (!src) return;
      const img = h('img', { src, alt: `Latest picture of ${label}`, draggable: 'false' });
      img.addEventListener('load', () => clear(box, img), { once: true });
      img.addEventListener('error', () => next(i + 1), { once: true });
    };
    next(0);
    return box;
  }

  private addPoint(e: MouseEvent, canvas: HTMLElement): void {
    const r = canvas.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return;
    if (this.drawing.length >= ZONE_LIMITS.points) return this.say(`A polygon has at most ${ZONE_LIMITS.points} corners.`, 'warn');
    const pct = (v: number) => Math.round(Math.min(100, Math.max(0, v * 100)) * 10) / 10;
    this.drawing.push([pct((e.clientX - r.left) / r.width), pct((e.clientY - r.top) / r.height)]);
    this.draw();
  }

  /** The drawn corners become a zone or a mask, checked as the server will check it. */
  private closePolygon(): void {
    const kind = this.kind.value === 'mask' ? 'mask' : 'zone';
    const name = this.name.value.trim();
    const polygon: ZonePolygon = { kind, ...(name ? { name } : {}), points: this.drawing };
    if (kind === 'zone') {
      for (const [field, input] of Object.entries(this.zoneFields) as Array<[keyof typeof this.zoneFields, HTMLInputElement]>) {
        const value = input.value.trim();
        if (value !== '') polygon[field] = Number(value);
      }
    }
    const problem = check([...this.polygons, polygon]);
    if (problem) return this.say(problem.replace(/^polygon \d+/, 'this polygon'), 'error');
    this.polygons.push(polygon);
    this.drawing = [];
    this.name.value = '';
    for (const input of Object.values(this.zoneFields)) input.value = '';
    this.say(`${kind === 'zone' ? `Zone "${name}"` : 'Mask'} added: save to send it to the camera.`, 'busy');
    this.draw();
  }

  private async save(): Promise<void> {
    const problem = check(this.polygons);
    if (problem) return this.say(problem, 'error');
    this.say('Saving…', 'busy');
    try {
      await post<CommandAccepted>(apiUrl(API_PATHS.controlZones, { id: this.row.camera_id }), { zones: this.polygons });
      this.row.zones = structuredClone(this.polygons);
      this.say('Saved: the camera uses them as soon as it gets them, and again whenever it connects.', 'ok');
    } catch (err) {
      this.say(`Not saved: ${err instanceof ApiFailure ? err.message : 'the server cannot be reached'}`, 'error');
    }
  }

  private draw(): void {
    const shapes: SVGElement[] = this.polygons.map((p) => {
      const el = svg('polygon', { points: pointsText(p.points), class: `zone-shape ${p.kind}` });
      if (p.name) el.append(svg('title', {}, p.name));
      return el;
    });
    if (this.drawing.length) {
      shapes.push(svg('polyline', { points: pointsText(this.drawing), class: 'zone-drawing' }));
      for (const [x, y] of this.drawing) shapes.push(svg('circle', { cx: x, cy: y, r: 0.8, class: 'zone-corner' }));
    }
    this.overlay.replaceChildren(...shapes);
    clear(
      this.list,
      ...this.polygons.map((p, i) => {
        const del = h('button', { type: 'button', class: 'zone-delete', 'aria-label': `Delete ${describe(p)}` }, 'Delete');
        del.addEventListener('click', () => {
          this.polygons.splice(i, 1);
          this.say(`${describe(p)} deleted: save to send the change.`, 'busy');
          this.draw();
        });
        return h('li', { 'data-kind': p.kind }, `${describe(p)} (${[`${p.points.length} corners`, ...settings(p)].join(', ')}) `, del);
      }),
    );
    if (this.polygons.length === 0) this.list.append(h('li', { class: 'empty' }, 'No masks or zones: motion anywhere counts.'));
  }

  private say(text: string, state: 'ok' | 'busy' | 'warn' | 'error'): void {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }
}

/** What is wrong with the list, in the API's words, or undefined. */
function check(polygons: ZonePolygon[]): string | undefined {
  try {
    readZones(polygons);
    return undefined;
  } catch (err) {
    if (err instanceof ZonesError) return err.message;
    throw err;
  }
}

/** A zone's own settings, as the list shows them. */
function settings(p: ZonePolygon): string[] {
  return [
    ...(p.minArea !== undefined ? [`at least ${p.minArea} % of the picture`] : []),
    ...(p.sensitivity !== undefined ? [`sensitivity ${p.sensitivity}`] : []),
    ...(p.minMotionSeconds !== undefined ? [`motion for ${p.minMotionSeconds} s`] : []),
  ];
}

function describe(p: ZonePolygon): string {
  return p.kind === 'zone' ? `zone "${p.name}"` : p.name ? `mask "${p.name}"` : 'mask';
}

const pointsText = (points: readonly ZonePoint[]): string => points.map(([x, y]) => `${x},${y}`).join(' ');

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag) as SVGElement;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text) el.textContent = text;
  return el;
}
