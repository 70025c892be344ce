/**
 * Sense HAT readings: the latest values (from the live feed) and charts of the
 * last hour, day, week, month or year (GET /api/sensors/{id}, averaged by the server
 * into at most `points` buckets, from its minute and hour roll-ups for long ranges).
 * Each chart draws the mean as a line and each bucket's lowest to highest reading as a
 * band. One panel per Pi.
 *
 * A fleet has hundreds of Pis: a panel builds its tiles and charts, asks for its history and
 * draws only once it comes near the screen, and redraws only while it is there; until then it
 * is its heading and the space it will take (200 panels' bodies were 6,400 elements to style
 * and lay out right after the first view). Drawing every
 * panel's charts at once took seconds at 200 Pis (600 uPlot charts, each measuring its
 * box right after the last one was inserted: a forced layout of the whole page per chart),
 * and kept 600 canvases for the browser to composite on every later change (issue 18).
 */
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { FeedMessage, SensorMessage } from '../../nodes/lib/contract/feed';
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-paths';
import { get, query } from './api';
import type { CameraRow, SensorHistory } from '../../nodes/lib/contract/dashboard-api';
import { h } from './dom';
import { fmtClock, fmtNumber } from './format';

type Metric = 'temperature' | 'humidity' | 'pressure';
const METRICS: Array<{ key: Metric; label: string; unit: string; digits: number; stroke: string }> = [
  { key: 'temperature', label: 'Temperature', unit: '°C', digits: 1, stroke: '#d9480f' },
  { key: 'humidity', label: 'Humidity', unit: '%RH', digits: 0, stroke: '#1971c2' },
  { key: 'pressure', label: 'Pressure', unit: 'hPa', digits: 1, stroke: '#2b8a3e' },
];
const RANGES = [
  { key: 'hour', label: 'Last hour', ms: 3600_000 },
  { key: 'day', label: 'Last day', ms: 24 * 3600_000 },
  { key: 'week', label: 'Last week', ms: 7 * 24 * 3600_000 },
  { key: 'month', label: 'Last month', ms: 30 * 24 * 3600_000 },
  { key: 'year', label: 'Last year', ms: 365 * 24 * 3600_000 },
] as const;
type RangeKey = (typeof RANGES)[number]['key'];
const POINTS = 300;

/**
 * uPlot, loaded with the first panel that comes near the screen: it is 40 % of the page's script,
 * and no chart is on the first screen (a separate chunk, so the page starts without it).
 */
let Plot: typeof uPlot | undefined;
let plotLoading: Promise<typeof uPlot> | undefined;
const loadPlot = () => (plotLoading ??= import('uplot').then((m) => (Plot = m.default)));

interface Panel {
  deviceId: string;
  name: string;
  root: HTMLElement;
  /** tiles, range buttons and charts: built the first time the panel comes near the screen */
  body?: PanelBody;
  /** the newest reading, shown on the tiles once they are built */
  latest?: SensorMessage;
  range: RangeKey;
  /** seconds, and per metric the means and each bucket's lowest and highest reading */
  data: { t: number[]; series: Record<Metric, Band> };
  /** on or near the screen (an IntersectionObserver says so) */
  near: boolean;
  /** the history of `range` was asked for (it is, the first time the panel comes near) */
  loaded: boolean;
  /** data changed while the panel was away from the screen: draw when it comes back */
  stale: boolean;
}

interface PanelBody {
  values: Record<Metric, HTMLElement>;
  updated: HTMLElement;
  rangeButtons: Map<RangeKey, HTMLButtonElement>;
  charts: Map<Metric, { plot?: uPlot; box: HTMLElement; summary: HTMLElement }>;
}

interface Band {
  mean: Array<number | null>;
  min: Array<number | null>;
  max: Array<number | null>;
}

const noData = (): Panel['data'] => ({
  t: [],
  series: { temperature: band(), humidity: band(), pressure: band() },
});
const band = (): Band => ({ mean: [], min: [], max: [] });

export class SensorPanels {
  private readonly panels = new Map<string, Panel>();
  private readonly byRoot = new WeakMap<Element, Panel>();
  /** Panels within a screen of the viewport count as near: their charts are ready when scrolled to. */
  private readonly nearScreen = new IntersectionObserver((entries) => this.nearChanged(entries), { rootMargin: '100% 0px' });

  constructor(private readonly root: HTMLElement) {
    window.addEventListener('resize', () => {
      for (const p of this.panels.values()) for (const c of p.body?.charts.values() ?? []) c.plot?.setSize(this.size(c.box));
    });
  }

  /** After a logout: nothing of the last session stays on the page. */
  reset(): void {
    this.nearScreen.disconnect();
    for (const p of this.panels.values()) for (const c of p.body?.charts.values() ?? []) c.plot?.destroy();
    this.panels.clear();
    this.root.replaceChildren();
  }

  private nearChanged(entries: IntersectionObserverEntry[]): void {
    for (const entry of entries) {
      const p = this.byRoot.get(entry.target);
      if (!p) continue;
      p.near = entry.isIntersecting;
      if (!p.near) continue;
      p.body ??= this.build(p);
      if (!p.loaded) void this.load(p, p.range);
      else if (p.stale) this.draw(p);
    }
  }

  /** Pis (device type picam) have a Sense HAT; other devices get a panel when a reading arrives. */
  setDevices(rows: CameraRow[]): void {
    for (const r of rows) if (r.device_type === 'picam') this.panel(r.camera_id, r.camera_name ?? r.camera_id);
    this.showEmpty();
  }

  handle(m: FeedMessage): void {
    if (m.type !== 'sensor') return;
    const p = this.panel(m.deviceId, m.deviceId);
    p.latest = m;
    if (p.body) this.showLatest(p.body, m);
    // Before its history is loaded a panel has no chart to add to: the history will hold this reading.
    if (p.range === 'hour' && p.loaded) {
      const { t, series } = p.data;
      t.push(m.timeMs / 1000);
      // A single reading is its own lowest and highest.
      for (const metric of METRICS) for (const s of Object.values(series[metric.key])) s.push(m[metric.key] ?? null);
      const cut = (Date.now() - 3600_000) / 1000;
      while (t.length && t[0]! < cut) {
        t.shift();
        for (const b of Object.values(series)) for (const s of Object.values(b)) s.shift();
      }
      this.draw(p);
    }
  }

  private showEmpty(): void {
    if (this.panels.size === 0 && !this.root.querySelector('.empty')) {
      this.root.append(h('p', { class: 'empty' }, 'No Sense HAT readings yet: a Pi shows here when it sends its first.'));
    }
  }

  private panel(deviceId: string, name: string): Panel {
    const existing = this.panels.get(deviceId);
    if (existing) return existing;
    this.root.querySelector('.empty')?.remove();
    const panel: Panel = {
      deviceId,
      name,
      root: h('section', { class: 'sensor-panel', 'data-device': deviceId, 'aria-label': `Sensors of ${name}` }, h('h3', {}, name)),
      range: 'hour',
      data: noData(),
      near: false,
      loaded: false,
      stale: false,
    };
    this.root.append(panel.root);
    this.panels.set(deviceId, panel);
    this.byRoot.set(panel.root, panel);
    this.nearScreen.observe(panel.root);
    return panel;
  }

  /** The panel's tiles, range buttons and chart boxes, with the newest reading if one came. */
  private build(p: Panel): PanelBody {
    const values = {} as Record<Metric, HTMLElement>;
    const tiles = h('dl', { class: 'tiles' });
    for (const m of METRICS) {
      values[m.key] = h('dd', { 'data-metric': m.key }, '—');
      tiles.append(h('div', { class: 'tile' }, h('dt', {}, `${m.label} (${m.unit})`), values[m.key]));
    }
    const updated = h('p', { class: 'updated' }, 'waiting for a reading…');
    const rangeButtons = new Map<RangeKey, HTMLButtonElement>();
    const ranges = h('div', { class: 'ranges', role: 'group', 'aria-label': `Chart range for ${p.name}` });
    for (const r of RANGES) {
      const b = h('button', { type: 'button', 'aria-pressed': String(r.key === p.range) }, r.label);
      b.addEventListener('click', () => void this.load(p, r.key));
      rangeButtons.set(r.key, b);
      ranges.append(b);
    }
    const charts: PanelBody['charts'] = new Map();
    const chartsBox = h('div', { class: 'charts' });
    for (const m of METRICS) {
      const box = h('div', { class: 'chart', role: 'img', 'aria-label': `${m.label} of ${p.name}` });
      const summary = h('p', { class: 'chart-summary' });
      charts.set(m.key, { box, summary });
      chartsBox.append(h('figure', {}, h('figcaption', {}, `${m.label} (${m.unit})`), box, summary));
    }
    p.root.append(tiles, updated, ranges, chartsBox);
    p.root.dataset.built = '';
    const body: PanelBody = { values, updated, rangeButtons, charts };
    if (p.latest) this.showLatest(body, p.latest);
    return body;
  }

  private async load(p: Panel, range: RangeKey): Promise<void> {
    const body = (p.body ??= this.build(p));
    p.range = range;
    p.loaded = true;
    for (const [k, b] of body.rangeButtons) b.setAttribute('aria-pressed', String(k === range));
    const span = RANGES.find((r) => r.key === range)!.ms;
    const to = Date.now();
    let history: SensorHistory;
    try {
      [history] = await Promise.all([
        get<SensorHistory>(`${apiUrl(API_PATHS.sensors, { deviceId: p.deviceId })}${query({ from: to - span, to, points: POINTS })}`),
        loadPlot(),
      ]);
    } catch {
      for (const c of body.charts.values()) c.summary.textContent = 'No history for this device yet.';
      return;
    }
    if (p.range !== range) return; // another range was chosen meanwhile
    const r = history.readings;
    p.data = {
      t: r.map((x) => x.time_ms / 1000),
      series: {
        temperature: { mean: r.map((x) => x.temperature), min: r.map((x) => x.temperature_min), max: r.map((x) => x.temperature_max) },
        humidity: { mean: r.map((x) => x.humidity), min: r.map((x) => x.humidity_min), max: r.map((x) => x.humidity_max) },
        pressure: { mean: r.map((x) => x.pressure), min: r.map((x) => x.pressure_min), max: r.map((x) => x.pressure_max) },
      },
    };
    const last = r.at(-1);
    if (last && !p.latest) {
      p.latest = {
        type: 'sensor',
        deviceId: p.deviceId,
        deviceType: 'picam',
        timeMs: last.time_ms,
        temperature: last.temperature ?? undefined,
        humidity: last.humidity ?? undefined,
        pressure: last.pressure ?? undefined,
      };
      this.showLatest(body, p.latest);
    }
    this.draw(p);
  }

  private showLatest(body: PanelBody, m: SensorMessage): void {
    for (const metric of METRICS) {
      const v = m[metric.key];
      if (v !== undefined) body.values[metric.key].textContent = fmtNumber(v, metric.digits);
    }
    body.updated.textContent = `updated ${fmtClock(m.timeMs)}`;
  }

  private draw(p: Panel): void {
    // Not near the screen, or its history (and uPlot with it) still coming: drawn when they are.
    p.stale = !p.near || !p.body || !Plot;
    if (p.stale) return;
    for (const metric of METRICS) {
      const c = p.body!.charts.get(metric.key)!;
      const { mean, min, max } = p.data.series[metric.key];
      const data: uPlot.AlignedData = [p.data.t, mean, min, max];
      const numbers = mean.filter((v): v is number => v !== null);
      const lows = min.filter((v): v is number => v !== null);
      const highs = max.filter((v): v is number => v !== null);
      c.summary.textContent = numbers.length
        ? `${numbers.length} points; min ${fmtNumber(Math.min(...lows), metric.digits)}, max ${fmtNumber(Math.max(...highs), metric.digits)} ${metric.unit}`
        : 'No readings in this range.';
      if (c.plot) {
        c.plot.setData(data);
        continue;
      }
      const edge = { stroke: `${metric.stroke}55`, width: 1, spanGaps: true };
      c.plot = new Plot!(
        {
          ...this.size(c.box),
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          series: [
            {},
            { label: metric.label, stroke: metric.stroke, width: 2, spanGaps: true },
            { label: `${metric.label} lowest`, ...edge },
            { label: `${metric.label} highest`, ...edge },
          ],
          // The range from each bucket's lowest to its highest reading, shaded behind the mean.
          bands: [{ series: [3, 2], fill: `${metric.stroke}22` }],
          axes: [{}, { size: 64 }],
        },
        data,
        c.box,
      );
    }
  }

  private size(box: HTMLElement): { width: number; height: number } {
    return { width: Math.max(200, box.clientWidth || 300), height: 160 };
  }
}
