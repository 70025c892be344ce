/**
 * Where the dashboard's time goes in the browser (issue 18): a cloud runtime on a store,
 * the dashboard in Debian's Chromium, and for each step a DevTools trace of the page's
 * main thread broken down into script, style, layout, paint, parsing and GC (self time:
 * what each kind of work took itself, not what it called).
 *
 *   first view: a reload until the grid's first page of cards and the first events are
 *               shown and the page is idle
 *   new tab:    the same first view in a new tab of the logged-in browser (opening the
 *               dashboard: no page to take down first), timed in the page, no trace
 *   Older:      a click on *Older* until the next page is painted, timed in the page
 *               (click to the frame after the new rows) as well as in the trace
 *
 * The runtime opens the store read-write (it runs its migrations and writes as it
 * runs): point `--db` at a store you may change, never at the only copy of a big one.
 *   npm run build && node --import tsx bench/dashboard-trace.ts --db FILE [--rounds 5] [--olders 10]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CDPSession, Page } from 'playwright-core';
import { launchChromium } from '../test/support/browser';
import { API_AUTH, cloudRoleEnv, LOGINS, startCli } from '../test/support/cli';
import { freePort } from '../test/support/ports';
import { tempDir } from '../test/support/tmp';
import { machine } from './machine';
import { CAMERA_PAGE } from '../nodes/lib/contract/first-view';

const { values: opts } = parseArgs({
  options: {
    db: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    olders: { type: 'string', default: '10' },
    tabs: { type: 'string', default: '5' },
    /** also a JS CPU profile of the first reload: the functions with the most self time */
    profile: { type: 'boolean', default: false },
    /** a folder to keep each step's trace in (open it in DevTools' Performance panel) */
    save: { type: 'string' },
  },
});
if (!opts.db) throw new Error('--db FILE is required (a store the runtime may write to)');

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  /** thread (CPU) time: what the work cost, less inflated than `dur` on a busy machine */
  tdur?: number;
  pid: number;
  tid: number;
  args?: { name?: string };
}

/**
 * Trace event names by the kind of work DevTools' summary shows them as (the first
 * that matches); the task wrappers (RunTask and the like) count as "other".
 */
const KINDS: Array<[kind: string, names: RegExp]> = [
  ['gc', /GC|Heap|Sweep|Mark|Scavenge/],
  ['parse', /ParseHTML|ParseAuthorStyleSheet|[Cc]ompile|parseOnBackground|Deserialize/],
  ['style', /Style|UpdateLayoutTree/],
  ['layout', /Layout|layout|IntersectionObserver|ResizeObserver/],
  ['paint', /Paint|Composit|Layeriz|Raster|Commit|Decode|Image|Canvas|PrePaint|HitTest/],
  [
    'script',
    /FunctionCall|EvaluateScript|v8\.|V8\.|TimerFire|EventDispatch|Microtask|AnimationFrame|XHR|HandlePostMessage|ResponseBodyLoader|ScriptedIdle|ParseJSON/,
  ],
];
const kindOf = (name: string) => KINDS.find(([, re]) => re.test(name))?.[0] ?? 'other';
const ms = (us: number) => Math.round(us / 100) / 10;

/**
 * CPU self time per event name on the renderer's main thread (nesting resolved with a
 * stack, by wall time), µs; `forced`: layouts run from inside script (a read of a size
 * after a change), `layouts` all of them.
 */
function selfTimes(events: TraceEvent[]): {
  self: Map<string, number>;
  busy: number;
  span: number;
  longest: number;
  layouts: number;
  forced: number;
} {
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const complete = events
    .filter((e) => main && e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.dur !== undefined)
    .sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const self = new Map<string, number>();
  const stack: Array<{ e: TraceEvent; end: number; child: number }> = [];
  const cpu = (e: TraceEvent) => e.tdur ?? e.dur!;
  const pop = () => {
    const top = stack.pop()!;
    self.set(top.e.name, (self.get(top.e.name) ?? 0) + Math.max(0, cpu(top.e) - top.child));
  };
  let busy = 0;
  let longest = 0;
  let layouts = 0;
  let forced = 0;
  for (const e of complete) {
    while (stack.length && stack.at(-1)!.end <= e.ts) pop();
    if (e.name === 'Layout') {
      layouts++;
      if (stack.some((s) => /FunctionCall|EvaluateScript|TimerFire|EventDispatch|v8\.callFunction/.test(s.e.name))) forced++;
    }
    if (stack.length) stack.at(-1)!.child += cpu(e);
    else {
      busy += cpu(e);
      longest = Math.max(longest, e.dur!);
    }
    stack.push({ e, end: e.ts + e.dur!, child: 0 });
  }
  while (stack.length) pop();
  const first = complete[0]?.ts ?? 0;
  const last = complete.reduce((m, e) => Math.max(m, e.ts + e.dur!), first);
  return { self, busy, span: last - first, longest, layouts, forced };
}

/**
 * ms of main-thread CPU self time per kind, their total, the wall span from first to last
 * task, the longest task (wall: while it runs the page cannot paint or answer), layout counts.
 */
function breakdown(events: TraceEvent[]): Record<string, number> {
  const { self, busy, span, longest, layouts, forced } = selfTimes(events);
  const kinds: Record<string, number> = {};
  for (const [name, us] of self) kinds[kindOf(name)] = (kinds[kindOf(name)] ?? 0) + us;
  const out: Record<string, number> = {};
  for (const k of ['script', 'style', 'layout', 'paint', 'parse', 'gc', 'other']) out[k] = ms(kinds[k] ?? 0);
  return { ...out, cpu: ms(busy), span: ms(span), longestTask: ms(longest), layouts, forced };
}

/** The event names with the most self time: what to read first. */
function topNames(events: TraceEvent[], n = 14): string {
  return [...selfTimes(events).self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${k} ${ms(us)}`)
    .join(', ');
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** JS self time per function (name, file, line) from a CDP CPU profile, the top n. */
function hotFunctions(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, n = 15): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${k} ${ms(us)}`)
    .join('\n    ');
}

async function traced<T>(cdp: CDPSession, step: () => Promise<T>): Promise<{ result: T; events: TraceEvent[] }> {
  const events: TraceEvent[] = [];
  const onData = (d: { value: object[] }) => void events.push(...(d.value as TraceEvent[]));
  cdp.on('Tracing.dataCollected', onData);
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: { includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink', '__metadata'] },
  });
  const result = await step();
  const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
  await cdp.send('Tracing.end');
  await done;
  cdp.off('Tracing.dataCollected', onData);
  return { result, events };
}

/*
 * The page-side steps are strings: tsx would wrap named functions in a helper
 * (`__name`) that the page does not have.
 */

/** The first view is shown: every card and the first events; resolves with performance.now(). */
const FIRST_VIEW_SHOWN = (cards: number) => `new Promise((resolve) => {
  const check = () => {
    const done =
      document.querySelectorAll('#camera-grid [data-camera]').length >= ${cards} &&
      document.querySelector('#event-list li.event');
    if (done) requestAnimationFrame(() => setTimeout(() => resolve(performance.now())));
    else setTimeout(check, 20);
  };
  check();
})`;

/** Clicks *Older*; resolves with the ms from the click to the task after the frame that shows the new page. */
const CLICK_OLDER = `new Promise((resolve) => {
  const info = document.querySelector('#event-page');
  const t0 = performance.now();
  const seen = new MutationObserver(() => {
    seen.disconnect();
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
  });
  seen.observe(info, { childList: true, characterData: true, subtree: true });
  document.querySelector('#event-next').click();
})`;

/** Scrolls to the sensors; resolves with the ms until the first panel's three charts are drawn. */
const SENSORS_SHOWN = `new Promise((resolve) => {
  const t0 = performance.now();
  document.querySelector('#sensors').scrollIntoView();
  const check = () => {
    if (document.querySelectorAll('#sensor-panels .sensor-panel:first-child canvas').length >= 3)
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
    else setTimeout(check, 10);
  };
  check();
})`;

/**
 * Installed before the page's own script: the time of the frame after the first camera card
 * and after the first event were in the page (performance.now(), from navigation).
 */
const MARK_FIRST_PAINTS = `(() => {
  const marks = (window.__firstPaints = {});
  const seen = new MutationObserver(() => {
    for (const [name, sel] of [['cards', '#camera-grid [data-camera]'], ['events', '#event-list li.event']])
      if (!marks[name] && !marks[name + 'Pending'] && document.querySelector(sel)) {
        marks[name + 'Pending'] = true;
        marks[name + 'In'] = performance.now();
        requestAnimationFrame(() => setTimeout(() => (marks[name] = performance.now())));
      }
  });
  // From the start, not from DOMContentLoaded: the page's script may build the first view before that fires.
  seen.observe(document, { childList: true, subtree: true });
})()`;

/** The page's requests in the order they started: path, start and end (ms after navigation). */
const REQUESTS = `[performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
  .map((r) => new URL(r.name).pathname.replace(/^.*\\/(?=[^/]+\\/?$)/, '') + ' ' + Math.round(r.startTime) + '-' + Math.round(r.responseEnd))
  .join(', ')`;

const firstViewShown = (page: Page, cards: number) => page.evaluate<number>(FIRST_VIEW_SHOWN(cards));
const firstPaints = (page: Page) =>
  page.evaluate<{ cards: number; events: number; cardsIn: number; eventsIn: number }>('window.__firstPaints');
const sensorsShown = (page: Page) => page.evaluate<number>(SENSORS_SHOWN);
const clickOlder = (page: Page) => page.evaluate<number>(CLICK_OLDER);

async function main(): Promise<void> {
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  const base = `http://127.0.0.1:${ports.http}`;
  const runtime = startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(tempDir('picam-dash-trace-'), ports, {
      PICAM_DB_FILE: opts.db!,
      PICAM_RETAIN_ACTIVITY_DAYS: '0',
      PICAM_RETAIN_STATUS_DAYS: '0',
      PICAM_RETAIN_SENSOR_DAYS: '0',
      PICAM_RETAIN_DEAD_LETTER_DAYS: '0',
      PICAM_UPLOAD_RETAIN_DAYS: '0',
    }),
  );
  const browser = await launchChromium();
  try {
    for (let t = Date.now(); !(await fetch(`${base}/dashboard/`).catch(() => undefined))?.ok;) {
      if (Date.now() - t > 600_000) throw new Error(`no runtime after 10 min:\n${runtime.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(MARK_FIRST_PAINTS);
    const page = await context.newPage();
    const cdp = await page.context().newCDPSession(page);
    await page.goto(`${base}/dashboard/`);
    await page.getByLabel('User name').fill(LOGINS.api.username);
    await page.getByLabel('Password').fill(LOGINS.api.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#event-list li.event').first().waitFor({ timeout: 120_000 });
    await page.waitForLoadState('networkidle');
    const devices = ((await (await fetch(`${base}/api/cameras`, { headers: { authorization: API_AUTH } })).json()) as { total: number })
      .total;
    // The grid's first page: all the cards it shows before *Next*.
    const cards = Math.min(devices, CAMERA_PAGE);
    await firstViewShown(page, cards);
    const panels = await page.locator('#sensor-panels .sensor-panel').count();
    console.log(
      `${devices} devices, ${cards} cards on the first page, ${panels} sensor panels; ${machine()}; load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );

    if (opts.profile) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
      await page.reload();
      await firstViewShown(page, cards);
      const { profile } = await cdp.send('Profiler.stop');
      console.log(`JS self time, first view:\n    ${hotFunctions(profile as never)}`);
    }
    for (let i = 0; i < Number(opts.rounds); i++) {
      const { result: shownAt, events } = await traced(cdp, async () => {
        await page.reload();
        const at = await firstViewShown(page, cards);
        await page.waitForLoadState('networkidle');
        return at;
      });
      if (opts.save) writeFileSync(join(opts.save, `first-view-${i}.json`), JSON.stringify({ traceEvents: events }));
      const { cards: cardsAt, events: eventsAt, cardsIn, eventsIn } = await firstPaints(page);
      console.log(
        `first view ${i}: first cards in the page at ${Math.round(cardsIn)} ms, painted at ${Math.round(cardsAt)} ms, first events in at ${Math.round(eventsIn)}, painted at ${Math.round(eventsAt)} ms, the page's ${cards} cards at ${Math.round(shownAt)} ms after navigation`,
        JSON.stringify(breakdown(events)),
      );
      console.log(`  requests: ${await page.evaluate<string>(REQUESTS)}`);
      if (i === 0) console.log(`  top self: ${topNames(events)}`);
    }
    for (let i = 0; i < Number(opts.tabs); i++) {
      const tab = await context.newPage();
      await tab.goto(`${base}/dashboard/`);
      const shownAt = await firstViewShown(tab, cards);
      const { cards: cardsAt, events: eventsAt, cardsIn, eventsIn } = await firstPaints(tab);
      console.log(
        `new tab ${i}: first cards in the page at ${Math.round(cardsIn)} ms, painted at ${Math.round(cardsAt)} ms, first events in at ${Math.round(eventsIn)}, painted at ${Math.round(eventsAt)} ms, the page's ${cards} cards at ${Math.round(shownAt)} ms after navigation`,
      );
      await tab.close();
    }
    {
      const { result: ms, events } = await traced(cdp, () => sensorsShown(page));
      console.log(`sensors: ${Math.round(ms)} ms from the scroll to the first panel's charts`, JSON.stringify(breakdown(events)));
      console.log(`  ${await page.locator('#sensor-panels canvas').count()} charts drawn; top self: ${topNames(events)}`);
      await page.locator('#events').scrollIntoViewIfNeeded();
    }
    for (let i = 0; i < Number(opts.olders); i++) {
      const { result: ms, events } = await traced(cdp, () => clickOlder(page));
      if (opts.save) writeFileSync(join(opts.save, `older-${i}.json`), JSON.stringify({ traceEvents: events }));
      console.log(`Older ${i}: ${Math.round(ms)} ms in the page`, JSON.stringify(breakdown(events)));
      if (i === 0) console.log(`  top self: ${topNames(events)}`);
    }
    // The bench's way (bench/scale.ts): Playwright finds the button by its role and name, then clicks.
    const info = page.locator('#event-page');
    for (let i = 0; i < 3; i++) {
      const before = await info.textContent();
      const t = performance.now();
      await page.getByRole('button', { name: 'Older events' }).click();
      await page.waitForFunction((b) => document.querySelector('#event-page')?.textContent !== b, before);
      console.log(`Older by role ${i}: ${Math.round(performance.now() - t)} ms from the driver`);
    }
    console.log(
      `load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await browser.close();
    await runtime.stop();
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
