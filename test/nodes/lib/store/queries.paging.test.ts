/**
 * Events and dead letters at scale (issue 18): keyset paging with an opaque cursor,
 * small offsets only, capped totals, and every filter combination answered by an
 * index for both the filter and the order (EXPLAIN QUERY PLAN of the statements the
 * queries really run).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeCursor } from '../../../../nodes/lib/store/cursor';
import * as queries from '../../../../nodes/lib/store/queries';
import { MIGRATIONS, migrate } from '../../../../nodes/lib/store/schema';
import { Connection, type SqlValue } from '../../../../nodes/lib/store/sqlite';
import { EventStore } from '../../../../nodes/lib/store/store';
import { CAMERA, CAMERA_2 } from '../../../support/fixtures';
import { start } from '../../../support/records';
import { tempDir } from '../../../support/tmp';
import { eachDialect } from '../../../support/stores';
import type { StoreRecord } from '../../../../nodes/lib/types';

const dir = tempDir();
let n = 0;
const fresh = () => EventStore.open({ file: join(dir, `p${n++}.db`) });
const T0 = 1_705_300_000_000;

type Rejection = Error & { statusCode?: number };
const is400 = (pattern: RegExp) => (err: Rejection) => err.statusCode === 400 && pattern.test(err.message);

/** Events in groups of three sharing one second (two cameras), so the order needs its tie-breakers. */
async function storeWithEvents(count: number): Promise<EventStore> {
  const store = await fresh();
  for (let i = 0; i < count; i++) {
    const camera = i % 2 ? CAMERA : CAMERA_2;
    store.write(
      start(`ev-${String(i).padStart(4, '0')}`, T0 + Math.floor(i / 3) * 1000, camera, i % 5 ? 'MOTION' : 'PERSON'),
      () => undefined,
    );
  }
  await store.writer.flush();
  return store;
}

/** Every page from the first by following `next`; the ids in order. */
async function walk(store: EventStore, params: Record<string, string | number>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.query('events', { ...params, ...(cursor ? { cursor } : {}) });
    ids.push(...page.events.map((e) => `${e.camera_id}/${e.event_id}`));
    if (!page.next) return ids;
    cursor = page.next;
  }
  throw new Error('the cursor never reached the last page');
}

describe('events: keyset paging', () => {
  it('walks every event exactly once, newest first, through pages that end inside a second', async () => {
    const store = await storeWithEvents(50);
    const all = await store.query('events', { limit: 1000 });
    assert.equal(all.next, null, 'one page holds everything: no next page');
    const expected = all.events.map((e) => `${e.camera_id}/${e.event_id}`);
    assert.equal(expected.length, 50);
    for (const limit of [1, 4, 7]) assert.deepEqual(await walk(store, { limit }), expected, `pages of ${limit}`);
    const starts = all.events.map((e) => e.start_timestamp!);
    assert.deepEqual(
      starts,
      [...starts].sort((a, b) => b - a),
    );
    // With a filter the walk covers exactly the filtered rows.
    const persons = await walk(store, { limit: 3, type: 'person', camera: CAMERA_2 });
    assert.deepEqual(
      persons,
      expected.filter((id) => id.startsWith(CAMERA_2) && Number(id.slice(-4)) % 5 === 0),
    );
    await store.close();
  });

  it('answers the same page by offset and by cursor, and offers the cursor for the next page either way', async () => {
    const store = await storeWithEvents(30);
    const first = await store.query('events', { limit: 10 });
    const byCursor = await store.query('events', { limit: 10, cursor: first.next! });
    const byOffset = await store.query('events', { limit: 10, offset: 10 });
    assert.deepEqual(byCursor.events, byOffset.events);
    assert.equal(byOffset.next, byCursor.next);
    assert.equal(byOffset.total, 30);
    assert.equal(byOffset.totalCapped, false);
    await store.close();
  });

  it('keeps the place of a page when newer events arrive (an offset would shift)', async () => {
    const store = await storeWithEvents(20);
    const first = await store.query('events', { limit: 5 });
    const second = await store.query('events', { limit: 5, cursor: first.next! });
    await store.writeAsync(start('newest', T0 + 3_600_000));
    const again = await store.query('events', { limit: 5, cursor: first.next! });
    assert.deepEqual(
      again.events.map((e) => e.event_id),
      second.events.map((e) => e.event_id),
    );
    await store.close();
  });

  const badCursors: Array<[string, () => string, RegExp]> = [
    ['garbage', () => 'not a cursor at all', /"cursor" is not a page cursor/],
    ['garbage with the right outline', () => 'AAAA.BBBBBBBBBBBBBBBB', /"cursor" was changed or cut/],
    [
      'a tampered cursor (the key edited, the check kept)',
      () => {
        const real = encodeCursor('events', [1_705_300_100, CAMERA, 'ev-0001']);
        const [, check] = real.split('.');
        const edited = Buffer.from(JSON.stringify(['events', 1_905_300_100, CAMERA, 'ev-0001'])).toString('base64url');
        return `${edited}.${check}`;
      },
      /"cursor" was changed or cut/,
    ],
    ['a cut cursor', () => encodeCursor('events', [1_705_300_100, CAMERA, 'ev-0001']).slice(0, -3), /"cursor" is not a page cursor/],
    ['a dead-letters cursor', () => encodeCursor('dead-letters', [12]), /belongs to dead-letters, not events/],
    ['a cursor of the wrong shape', () => encodeCursor('events', ['yesterday', CAMERA]), /does not hold a events position/],
    ['a cursor longer than any of ours', () => 'A'.repeat(5000), /longer than 1024/],
  ];
  for (const [what, cursor, error] of badCursors) {
    it(`answers 400 for ${what}`, async () => {
      const store = await storeWithEvents(3);
      await assert.rejects(store.query('events', { cursor: cursor() }), is400(error));
      await store.close();
    });
  }

  it('answers 400 for a list of cursors, a cursor with an offset, and an offset past 10,000 (naming the cursor)', async () => {
    const store = await storeWithEvents(3);
    const c = encodeCursor('events', [1_705_300_100, CAMERA, 'ev-0001']);
    await assert.rejects(store.query('events', { cursor: [c, c] }), is400(/"cursor" must be a single value/));
    await assert.rejects(store.query('events', { cursor: c, offset: 20 }), is400(/"cursor" or "offset", not both/));
    await assert.rejects(store.query('events', { offset: 10_001 }), is400(/"offset" must be at most 10000: page further with "cursor"/));
    assert.equal((await store.query('events', { offset: 10_000 })).events.length, 0);
    await store.close();
  });
});

/** Rows straight into the tables (as the big-database generator does), many more than a page. */
async function bulk(file: string, events: number, deadLetters: number): Promise<void> {
  const db = await Connection.open(file);
  await db.exec('BEGIN');
  await db.run(
    `WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < ? - 1)
     INSERT INTO activity_events (event_id, camera_id, activity_type, start_timestamp, created_at)
     SELECT 'bulk-' || n, 'cam-' || (n % 7), CASE n % 3 WHEN 0 THEN 'PERSON' ELSE 'MOTION' END, 1700000000 + n, 1700000000 + n FROM i`,
    [events],
  );
  await db.run(
    `WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < ? - 1)
     INSERT INTO dead_letters (received_ms, source, reason) SELECT 1700000000000 + n, 'mqtt', 'bad json' FROM i`,
    [deadLetters],
  );
  await db.exec('COMMIT');
  await db.close();
}

describe('totals that do not scan', () => {
  it('counts up to 10,000 and says when there are more', async () => {
    const store = await fresh();
    await bulk(store.file, 12_000, 10_050);
    const all = await store.query('events', { limit: 5 });
    assert.deepEqual([all.total, all.totalCapped], [10_000, true]);
    const camera = await store.query('events', { camera: 'cam-3', limit: 5 });
    assert.deepEqual([camera.total, camera.totalCapped], [1714, false]);
    const dead = await store.query('dead-letters', { limit: 5 });
    assert.deepEqual([dead.total, dead.totalCapped], [10_000, true]);
    await store.close();
  });

  it('pages dead letters by cursor, newest first, each once', async () => {
    const store = await fresh();
    await bulk(store.file, 0, 23);
    const ids: number[] = [];
    let cursor: string | null = null;
    do {
      const page: queries.QueryResults['dead-letters'] = await store.query('dead-letters', { limit: 5, ...(cursor ? { cursor } : {}) });
      ids.push(...page.deadLetters.map((d) => d.id));
      cursor = page.next;
    } while (cursor);
    assert.deepEqual(
      ids,
      Array.from({ length: 23 }, (_, i) => 23 - i),
    );
    await assert.rejects(store.query('dead-letters', { cursor: encodeCursor('events', [1, 'a', 'b']) }), is400(/belongs to events/));
    await assert.rejects(store.query('dead-letters', { cursor: encodeCursor('dead-letters', [1.5]) }), is400(/does not hold/));
    await assert.rejects(store.query('dead-letters', { offset: 20_000 }), is400(/use|cursor/));
    await store.close();
  });
});

/** The statements a query runs, with their parameters, on the store's own reader. */
async function statements(
  db: Connection,
  run: (spy: Connection) => Promise<unknown>,
): Promise<Array<{ sql: string; args: readonly SqlValue[] }>> {
  const seen: Array<{ sql: string; args: readonly SqlValue[] }> = [];
  const spy = {
    all: (sql: string, args: readonly SqlValue[] = []) => (seen.push({ sql, args }), db.all(sql, args)),
    get: (sql: string, args: readonly SqlValue[] = []) => (seen.push({ sql, args }), db.get(sql, args)),
  } as unknown as Connection;
  await run(spy);
  return seen;
}

describe('query plans', () => {
  const cursor = encodeCursor('events', [1_700_005_000, 'cam-3', 'bulk-5000']);
  const combos: Array<Record<string, string | number>> = [];
  for (const camera of [undefined, 'cam-3'])
    for (const type of [undefined, 'PERSON'])
      for (const range of [{}, { from: 1_700_001_000 }, { to: 1_700_009_000 }, { from: 1_700_001_000, to: 1_700_009_000 }] as Array<
        Record<string, number>
      >)
        for (const page of [{}, { cursor }, { offset: 100 }] as Array<Record<string, string | number>>)
          combos.push({ ...(camera ? { camera } : {}), ...(type ? { type } : {}), ...range, ...page });

  it('answers every filter combination of events, and dead letters, from indexes: no table scan, no sort', async () => {
    const store = await fresh();
    await bulk(store.file, 2000, 50);
    // Statistics as a production file may have them (PRAGMA optimize): plans must not depend on their absence.
    const w = await Connection.open(store.file);
    await w.exec('ANALYZE');
    await w.close();
    const db = await Connection.open(store.file, true);
    const checked = new Set<string>();
    for (const params of [
      ...combos.map((p) => ['events', p] as const),
      ['dead-letters', {}] as const,
      ['dead-letters', { offset: 10 }] as const,
    ]) {
      const run = (spy: Connection) => (params[0] === 'events' ? queries.events(spy, params[1]) : queries.deadLetters(spy, params[1]));
      for (const { sql, args } of await statements(db, run)) {
        const plan = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, args)).map((r) => r.detail);
        const where = `${params[0]} ${JSON.stringify(params[1])}: ${plan.join(' | ')}`;
        assert.ok(!plan.some((d) => /TEMP B-TREE/.test(d)), `sorted in a temporary b-tree: ${where}`);
        assert.ok(
          !plan.some((d) => /^SCAN (e|activity_events)$/.test(d) || (/^SCAN (e|activity_events) /.test(d) && !/USING/.test(d))),
          `table scan: ${where}`,
        );
        for (const d of plan.filter((d) => /\b(e|activity_events)\b/.test(d)))
          assert.match(d, /(SEARCH|SCAN) e USING (COVERING )?INDEX activity_events_page/, where);
        // The thumbnail and recording flags look up their event's uploads by index.
        for (const d of plan.filter((d) => /\bf\b/.test(d)))
          assert.match(d, /SEARCH f USING COVERING INDEX file_uploads_camera_event/, where);
        // A filter is a SEARCH on its index, never a walk of everything filtered row by row.
        const p = params[1] as Record<string, unknown>;
        // (The total ignores the cursor: it counts the filter's rows wherever the page is.)
        const counting = /count\(\*\)/.test(sql);
        if (params[0] === 'events' && (p.camera || p.type || p.from || p.to || (p.cursor && !counting)))
          assert.ok(
            plan.some((d) => /^SEARCH e USING/.test(d)),
            `not a search: ${where}`,
          );
        checked.add(where);
      }
    }
    assert.ok(checked.size >= combos.length * 2, `${checked.size} statements checked`);
    await db.close();
    await store.close();
  });

  it("finds each camera's last event for the grid by one seek in a paging index, and shows the newest", async () => {
    const store = await fresh();
    await bulk(store.file, 2000, 0);
    const w = await Connection.open(store.file);
    await w.exec(`INSERT INTO camera_registry (camera_id) SELECT DISTINCT camera_id FROM activity_events`);
    // A stop whose start never came, newer than every start: the grid shows it, as the list does.
    await w.run(
      `INSERT INTO activity_events (event_id, camera_id, end_timestamp, created_at) VALUES ('stop-only', 'cam-3', ?, ?)`,
      [1_700_009_999, 1_700_009_999],
    );
    await w.exec('ANALYZE');
    await w.close();
    const db = await Connection.open(store.file, true);
    // The page's statement (the first counts the registry).
    const statement = (await statements(db, (spy) => queries.cameras(spy))).find((st) => /activity_events/.test(st.sql));
    const plan = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${statement!.sql}`, statement!.args)).map((r) => r.detail);
    const x = plan.filter((d) => /\bx\b/.test(d));
    assert.ok(x.length > 0 && x.every((d) => /^SEARCH x USING (COVERING )?INDEX activity_events_page_camera/.test(d)), plan.join(' | '));
    assert.ok(!plan.some((d) => /TEMP B-TREE/.test(d) && !/ORDER BY/.test(d)), plan.join(' | '));
    const cameras = (await queries.cameras(db)).cameras;
    assert.equal(cameras.length, 7);
    assert.equal(cameras.find((c) => c.camera_id === 'cam-3')!.last_event_id, 'stop-only');
    assert.equal(cameras.find((c) => c.camera_id === 'cam-4')!.last_event_id, 'bulk-1999', 'the newest start of the camera');
    await db.close();
    await store.close();
  });
});

describe('migration 11', () => {
  it('indexes events stored before it, so they page by cursor', async () => {
    const file = join(dir, `old${n++}.db`);
    const db = await Connection.open(file);
    await migrate(
      db,
      MIGRATIONS.filter((m) => m.version <= 10),
    );
    await db.run(
      `INSERT INTO activity_events (event_id, camera_id, activity_type, start_timestamp, end_timestamp, created_at)
       VALUES ('old-1', 'cam', 'MOTION', 1700000000, NULL, 1700000000), ('old-2', 'cam', 'MOTION', NULL, 1700000500, 1700000500),
              ('old-3', 'cam', 'MOTION', 1700000100, 1700000200, 1700000100)`,
    );
    await db.close();
    const store = await EventStore.open({ file });
    const first = await store.query('events', { limit: 2 });
    assert.deepEqual(
      first.events.map((e) => e.event_id),
      ['old-2', 'old-3'],
    );
    const second = await store.query('events', { limit: 2, cursor: first.next! });
    assert.deepEqual(
      second.events.map((e) => e.event_id),
      ['old-1'],
    );
    assert.equal(second.next, null);
    await store.close();
  });
});

eachDialect('cameras: pages for the grid (issue 18)', (open) => {
  /** `count` devices named "Cam 000"…, each with one event whose id names it. */
  const fleet = async (count: number) => {
    const store = await open();
    const records: StoreRecord[] = [];
    for (let i = 0; i < count; i++) {
      const id = `dev-${String(i).padStart(3, '0')}`;
      records.push({
        kind: 'connection',
        deviceId: id,
        deviceType: 'picam',
        timeMs: T0,
        status: 'connected',
        name: `Cam ${String(i).padStart(3, '0')}`,
        raw: '{}',
      });
      records.push(start(`${id}-ev`, T0 + i * 1000, id));
    }
    await new Promise<void>((resolve, reject) => store.writeMany(records, (err) => (err ? reject(err) : resolve())));
    return store;
  };

  it("answers a page with the total, in the whole list's order, each row with its own last event", async () => {
    const store = await fleet(30);
    try {
      const all = await store.query('cameras');
      assert.equal(all.total, 30);
      assert.equal(all.cameras.length, 30);
      assert.equal(all.limit, undefined, 'no page asked for: every row');
      const first = await store.query('cameras', { limit: '12' });
      const third = await store.query('cameras', { limit: 12, offset: '24' });
      assert.deepEqual([first.total, first.limit, first.offset, third.total, third.offset], [30, 12, 0, 30, 24]);
      assert.deepEqual(
        [...first.cameras, ...(await store.query('cameras', { limit: 12, offset: 12 })).cameras, ...third.cameras].map((c) => c.camera_id),
        all.cameras.map((c) => c.camera_id),
        'the pages, one after the other, are the whole list',
      );
      assert.equal(third.cameras.length, 6);
      for (const c of third.cameras) assert.equal(c.last_event_id, `${c.camera_id}-ev`);
    } finally {
      await store.close();
    }
  });

  it('answers a login limited to some cameras about those only, in the rows and the total', async () => {
    const store = await fleet(10);
    try {
      const mine = await store.query('cameras', { limit: 2 }, { cameras: ['dev-007', 'dev-003', 'dev-009', 'not-a-device'] });
      assert.equal(mine.total, 3);
      assert.deepEqual(
        mine.cameras.map((c) => c.camera_id),
        ['dev-003', 'dev-007'],
      );
      assert.deepEqual((await store.query('cameras', {}, { cameras: [] })).cameras, [], 'no camera: none');
      assert.equal((await store.query('cameras', {}, { cameras: null })).total, 10, 'null: all');
    } finally {
      await store.close();
    }
  });

  it('refuses a limit or offset that is not a small whole number, with the reason', async () => {
    const store = await fleet(1);
    try {
      for (const bad of [
        { limit: '0' },
        { limit: 'ten' },
        { limit: '1001' },
        { limit: '2.5' },
        { offset: '-1' },
        { limit: ['1', '2'] },
        { limit: { toString: '1' } },
      ])
        await assert.rejects(store.query('cameras', bad), is400(/"(limit|offset)"/), JSON.stringify(bad));
    } finally {
      await store.close();
    }
  });
});
