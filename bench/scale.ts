/**
 * npm run bench, API-at-scale case (issue 18): the cloud runtime on a store of a
 * fleet's year, every GET /api route and the dashboard's first load timed.
 *
 *   1. the store: bench/results/scale-<size>.db, made by `picam-guardian fill-store`
 *      when missing (full: 600 devices, 5 M events over a year, 30 M readings; about
 *      half an hour on a loaded 2-core machine), reused when present; `--db FILE`
 *      measures any store, `--size small|tiny` a smaller one while developing
 *   2. the runtime: `picam-guardian start --role cloud` (dist/, as deployed) on it
 *   3. warm: each request a few times unmeasured, then `--samples` (30) in a row:
 *      p50 and p95 of the time to the whole answer
 *   4. cold: the same request once right after the store's file was dropped from
 *      the page cache (`dd iflag=nocache count=0`: per file, no root needed; SQLite's
 *      own page cache in the runtime stays, it is 2 MB)
 *   5. the dashboard in Chromium: a logged-in reload until the cameras and the
 *      events are shown, and the Older button until the next page is shown
 *
 * Prints a table and writes bench/results/scale.json. Target: p95 ≤ 100 ms warm.
 * Alone: `npm run build && node --import tsx bench/scale.ts [--size full|small|tiny] [--db FILE] [--samples 30]`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { fillStore } from '../cli/commands/fill-store';
import { CAMERA_PAGE } from '../nodes/lib/contract/first-view';
import { API_PATHS, apiUrl } from '../nodes/lib/contract/api-routes';
import { encodeCursor } from '../nodes/lib/store/cursor';
import { Connection } from '../nodes/lib/store/sqlite';
import { launchChromium, skipWithoutChromium } from '../test/support/browser';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli, type CliProcess } from '../test/support/cli';
import { freePort } from '../test/support/ports';
import { tempDir } from '../test/support/tmp';
import { machine } from './machine';

const SIZES = {
  full: { devices: 600, events: 5_000_000, readings: 30_000_000 },
  small: { devices: 600, events: 500_000, readings: 3_000_000 },
  tiny: { devices: 60, events: 20_000, readings: 200_000 },
} as const;
const TARGET_P95_MS = 100;
/**
 * The store holds a year; the defaults keep 90 days of events and 30 of readings, and
 * the runtime's first retention run would delete most of it (0: keep for ever).
 */
const KEEP_EVERYTHING = {
  PICAM_RETAIN_ACTIVITY_DAYS: '0',
  PICAM_RETAIN_STATUS_DAYS: '0',
  PICAM_RETAIN_SENSOR_DAYS: '0',
  PICAM_RETAIN_DEAD_LETTER_DAYS: '0',
  PICAM_UPLOAD_RETAIN_DAYS: '0',
};
const RESULTS = join(__dirname, 'results');

interface Measured {
  name: string;
  path: string;
  status: number;
  p50: number;
  p95: number;
  cold: number;
  bytes: number;
}

const { values: opts } = parseArgs({
  options: {
    size: { type: 'string', default: 'full' },
    db: { type: 'string' },
    samples: { type: 'string', default: '30' },
  },
});
const size = SIZES[opts.size as keyof typeof SIZES];
if (!size) throw new Error(`--size must be one of ${Object.keys(SIZES).join(', ')}`);
const SAMPLES = Number(opts.samples);
const dbFile = resolve(opts.db ?? join(RESULTS, `scale-${opts.size}.db`));

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const round = (ms: number) => Math.round(ms * 10) / 10;

/** Drops the store's files from the OS page cache (posix_fadvise DONTNEED through GNU dd). */
function dropCache(): void {
  for (const f of [dbFile, `${dbFile}-wal`])
    if (existsSync(f)) spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
}

async function ensureStore(): Promise<void> {
  if (existsSync(dbFile)) {
    console.log(`reusing ${dbFile} (${(statSync(dbFile).size / 1e9).toFixed(2)} GB)`);
    return;
  }
  mkdirSync(RESULTS, { recursive: true });
  console.log(`building ${dbFile}: ${JSON.stringify(size)} (picam-guardian fill-store)`);
  await fillStore({ file: dbFile, ...size, days: 365, log: (l) => console.log(`  ${l}`) });
}

/** What the requests need from the store: a Pi, a camera, a command, a stream path, the time span. */
async function samplesFromStore() {
  const db = await Connection.open(dbFile, true);
  try {
    const one = async <T>(sql: string) => (await db.get<T>(sql))!;
    const pi = await one<{ id: string }>(
      "SELECT device_id AS id FROM sensor_readings WHERE device_id = (SELECT camera_id FROM camera_registry WHERE device_type = 'picam' ORDER BY camera_id LIMIT 1) LIMIT 1",
    );
    const camera = await one<{ id: string }>("SELECT camera_id AS id FROM camera_registry WHERE device_type = 'hive-cam' LIMIT 1");
    const command = await one<{ id: string }>('SELECT command_id AS id FROM command_queue ORDER BY seq DESC LIMIT 1');
    const stream = await one<{ path: string }>('SELECT path FROM stream_health ORDER BY time_ms DESC LIMIT 1');
    const span = await one<{ first: number; last: number }>('SELECT min(sort_ts) AS first, max(sort_ts) AS last FROM activity_events');
    const counts = await one<{ events: number; devices: number }>(
      'SELECT (SELECT max(rowid) FROM activity_events) AS events, (SELECT count(*) FROM camera_registry) AS devices',
    );
    return { pi: pi.id, camera: camera.id, command: command?.id, stream: stream?.path, ...span, ...counts };
  } finally {
    await db.close();
  }
}

async function timed(base: string, path: string): Promise<{ ms: number; status: number; bytes: number }> {
  const t = performance.now();
  const res = await fetch(`${base}${path}`, { headers: { authorization: API_AUTH } });
  const body = await res.arrayBuffer();
  return { ms: performance.now() - t, status: res.status, bytes: body.byteLength };
}

/** requests that vary (cursors, days) cycle through this many positions: warm means read before */
const POSITIONS = 5;

/**
 * Warm p50/p95 over SAMPLES: `paths(i)` gives position i (a cursor, a day); each of the
 * POSITIONS is read once unmeasured first. Cold: a position never read, right after the
 * store's files left the page cache.
 */
async function measure(base: string, name: string, paths: (i: number) => string): Promise<Measured> {
  for (let i = 0; i < POSITIONS; i++) await timed(base, paths(i));
  const times: number[] = [];
  let last = { ms: 0, status: 0, bytes: 0 };
  for (let i = 0; i < SAMPLES; i++) {
    last = await timed(base, paths(i % POSITIONS));
    times.push(last.ms);
  }
  dropCache();
  const cold = await timed(base, paths(POSITIONS + 3));
  return {
    name,
    path: paths(0),
    status: last.status,
    p50: round(percentile(times, 50)),
    p95: round(percentile(times, 95)),
    cold: round(cold.ms),
    bytes: last.bytes,
  };
}

type Request = [name: string, path: (i: number) => string];

function requests(s: Awaited<ReturnType<typeof samplesFromStore>>): Request[] {
  const day = 86_400;
  const ev = API_PATHS.events;
  /** a position i/SAMPLES of the way into the history, a different one per sample */
  const depth = (i: number) => s.last - Math.floor((((i * 7919) % 1000) / 1000) * (s.last - s.first));
  const monthAgo = (i: number) => s.last - 30 * day - (i % 20) * day;
  const sensors = (days: number) => (i: number) =>
    `${apiUrl(API_PATHS.sensors, { deviceId: s.pi })}?from=${(s.last - days * day - i * 60) * 1000}&to=${(s.last - i * 60) * 1000}`;
  const list: Request[] = [
    ['events: first page (50)', () => ev],
    ['events: dashboard page (10)', () => `${ev}?limit=10`],
    ['events: cursor anywhere in the year', (i) => `${ev}?cursor=${encodeCursor('events', [depth(i), '', ''])}`],
    ['events: offset 1,000', () => `${ev}?offset=1000`],
    ['events: offset 10,000 (the most)', () => `${ev}?offset=10000`],
    ['events: camera', () => `${ev}?camera=${s.camera}`],
    ['events: type PERSON', () => `${ev}?type=PERSON`],
    ['events: type ANIMAL (rare)', () => `${ev}?type=ANIMAL`],
    ['events: camera + type', () => `${ev}?camera=${s.camera}&type=MOTION`],
    ['events: one day a month ago', (i) => `${ev}?from=${monthAgo(i)}&to=${monthAgo(i) + day}`],
    ['events: camera + a day', (i) => `${ev}?camera=${s.camera}&from=${monthAgo(i)}&to=${monthAgo(i) + day}`],
    ['events: type + a day', (i) => `${ev}?type=PERSON&from=${monthAgo(i)}&to=${monthAgo(i) + day}`],
    ['events: camera + type + a week, deep', (i) => `${ev}?camera=${s.camera}&type=MOTION&from=${depth(i) - 7 * day}&to=${depth(i)}`],
    ['cameras', () => API_PATHS.cameras],
    ['status', () => API_PATHS.status],
    ['sensors: a day', sensors(1)],
    ['sensors: a week', sensors(7)],
    ['sensors: a month', sensors(30)],
    ['alerts', () => API_PATHS.alerts],
    ['alerts: camera', () => `${API_PATHS.alerts}?camera=${s.camera}`],
    ['dead-letters', () => API_PATHS.deadLetters],
    ['dead-letters: cursor', (i) => `${API_PATHS.deadLetters}?cursor=${encodeCursor('dead-letters', [1 + ((i * 37) % 4000)])}`],
    ['streams', () => API_PATHS.streams],
    ['streams: a path, last hour', () => `${API_PATHS.streams}?path=${encodeURIComponent(s.stream ?? 'none')}`],
    ['commands', () => API_PATHS.commands],
    ['commands: one', () => apiUrl(API_PATHS.command, { id: s.command ?? 'none' })],
    ['gateway cameras', () => API_PATHS.gatewayCameras],
    ['gateway usage', () => API_PATHS.gatewayUsage],
    ['media usage', () => API_PATHS.mediaUsage],
    ['ipcams', () => API_PATHS.ipcams],
    ['live', () => API_PATHS.live],
    ['metrics', () => '/metrics'],
  ];
  return list;
}

/** The chain case needs each answer's `next`: it is measured on its own. */
async function measureChain(base: string): Promise<Measured> {
  let cursor: string | null = null;
  const times: number[] = [];
  let status = 0;
  let bytes = 0;
  for (let i = 0; i < SAMPLES + 3; i++) {
    const t = performance.now();
    const res = await fetch(`${base}${API_PATHS.events}${cursor ? `?cursor=${cursor}` : ''}`, { headers: { authorization: API_AUTH } });
    const page = (await res.json()) as { next: string | null };
    if (i >= 3) times.push(performance.now() - t);
    status = res.status;
    bytes = JSON.stringify(page).length;
    cursor = page.next;
  }
  return {
    name: 'events: next, next, next… (a chain)',
    path: `${API_PATHS.events}?cursor=…`,
    status,
    p50: round(percentile(times, 50)),
    p95: round(percentile(times, 95)),
    cold: NaN,
    bytes,
  };
}

interface DashboardFigures {
  firstLoad: { camerasShownMs: number[]; firstPageMs: number[]; eventsShownMs: number[] };
  /** the same first card, opening the dashboard in a new tab (no page to take down first) */
  newTabCamerasShownMs: number[];
  olderPageMs: number[];
}

async function dashboard(base: string, devices: number): Promise<DashboardFigures | string> {
  if (skipWithoutChromium) return String(skipWithoutChromium);
  const browser: Browser = await launchChromium();
  try {
    const page: Page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${base}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#event-list li.event').first().waitFor({ timeout: 120_000 });
    const figures: DashboardFigures = {
      firstLoad: { camerasShownMs: [], firstPageMs: [], eventsShownMs: [] },
      newTabCamerasShownMs: [],
      olderPageMs: [],
    };
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await page.reload();
      const cameras = page
        .locator('#camera-grid [data-camera]')
        .first()
        .waitFor({ timeout: 120_000 })
        .then(() => figures.firstLoad.camerasShownMs.push(performance.now() - t));
      const all = page
        // The grid's first page: every card it shows before *Next* (camera-pages.ts).
        .waitForFunction((n) => document.querySelectorAll('#camera-grid [data-camera]').length >= n, Math.min(devices, CAMERA_PAGE), {
          timeout: 120_000,
        })
        .then(() => figures.firstLoad.firstPageMs.push(performance.now() - t));
      const events = page
        .locator('#event-list li.event')
        .first()
        .waitFor({ timeout: 120_000 })
        .then(() => figures.firstLoad.eventsShownMs.push(performance.now() - t));
      await Promise.all([cameras, all, events]);
    }
    for (let i = 0; i < 5; i++) {
      const tab = await page.context().newPage();
      const t = performance.now();
      await tab.goto(`${base}/dashboard/`, { waitUntil: 'commit' });
      await tab.locator('#camera-grid [data-camera]').first().waitFor({ timeout: 120_000 });
      figures.newTabCamerasShownMs.push(performance.now() - t);
      await tab.close();
    }
    // Paging alone: once the first view's requests are done (they are the first load's figure).
    await page.waitForLoadState('networkidle');
    const info = page.locator('#event-page');
    for (let i = 0; i < 20; i++) {
      const before = await info.textContent();
      const t = performance.now();
      // Found within the events section: a role query over the whole page computes the accessible name
      // of every one of 600 cards' buttons first, 0.5-2.7 s of the driver's time that no user waits for
      // (bench/dashboard-trace.ts times the click inside the page).
      await page.locator('#events').getByRole('button', { name: 'Older events' }).click();
      await page.waitForFunction((b) => document.querySelector('#event-page')?.textContent !== b, before, { timeout: 60_000 });
      figures.olderPageMs.push(performance.now() - t);
    }
    return figures;
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  await ensureStore();
  const s = await samplesFromStore();
  const dataDir = tempDir('picam-bench-scale-');
  const [http, mqttPort, wsPort] = [await freePort(), await freePort(), await freePort()];
  const base = `http://127.0.0.1:${http}`;
  const started = Date.now();
  const runtime: CliProcess = startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(dataDir, { http, mqtt: mqttPort, ws: wsPort }, { PICAM_DB_FILE: dbFile, ...KEEP_EVERYTHING }),
  );
  try {
    for (;;) {
      const ok = await fetch(`${base}/api/cameras`, { headers: { authorization: API_AUTH } }).catch(() => undefined);
      if (ok?.ok) break;
      if (runtime.child.exitCode !== null) throw new Error(`the runtime exited:\n${runtime.output()}`);
      if (Date.now() - started > 600_000) throw new Error(`the runtime did not answer in 10 minutes:\n${runtime.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`runtime answering after ${((Date.now() - started) / 1000).toFixed(1)} s; ${SAMPLES} samples per request`);
    const results: Measured[] = [];
    const print = (m: Measured) => {
      const mark = m.status !== 200 ? `HTTP ${m.status}` : m.p95 <= TARGET_P95_MS ? 'ok' : 'over';
      console.log(`${m.name.padEnd(42)} ${String(m.p50).padStart(8)} ${String(m.p95).padStart(8)} ${String(m.cold).padStart(8)}  ${mark}`);
    };
    console.log(`${'GET'.padEnd(42)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'cold ms'.padStart(8)}`);
    for (const [name, paths] of requests(s)) {
      results.push(await measure(base, name, paths));
      print(results.at(-1)!);
    }
    // Following `next` from the first page, as a client reads the history page after page.
    results.push(await measureChain(base));
    print(results.at(-1)!);
    const ui = await dashboard(base, s.devices);
    const summary = (xs: number[]) => ({ p50: round(percentile(xs, 50)), p95: round(percentile(xs, 95)) });
    const dash =
      typeof ui === 'string'
        ? { skipped: ui }
        : {
            camerasShownMs: summary(ui.firstLoad.camerasShownMs),
            firstPageShownMs: summary(ui.firstLoad.firstPageMs),
            newTabCamerasShownMs: summary(ui.newTabCamerasShownMs),
            eventsShownMs: summary(ui.firstLoad.eventsShownMs),
            olderPageMs: summary(ui.olderPageMs),
          };
    console.log(`dashboard: ${JSON.stringify(dash)}`);
    const report = {
      when: new Date().toISOString(),
      machine: machine(),
      loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      store: { file: dbFile, bytes: statSync(dbFile).size, events: s.events, devices: s.devices, size: opts.size },
      samples: SAMPLES,
      targetP95Ms: TARGET_P95_MS,
      routes: results,
      // The dashboard's views have the same target (issue 18): each first-view figure and Older, by p95.
      over: [
        ...results.filter((r) => r.status !== 200 || r.p95 > TARGET_P95_MS).map((r) => r.name),
        ...Object.entries(dash)
          .filter(([, v]) => typeof v === 'object' && v.p95 > TARGET_P95_MS)
          .map(([k]) => `dashboard ${k}`),
      ],
      dashboard: dash,
    };
    writeFileSync(join(RESULTS, 'scale.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`${machine()}; load ${report.loadavg.join(' ')}; over target: ${report.over.join(', ') || 'none'}`);
  } finally {
    await runtime.stop();
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
