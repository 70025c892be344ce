/** The Pi's outbox file on its own: bounds by age and size (oldest first, reported) and a sequence that never goes back. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OutboxStore, type DropReport } from '../../../nodes/mqtt-outbox/outbox-store';
import { tempDir } from '../../support/tmp';

const dir = tempDir('picam-outbox-store-');
let n = 0;
const HOUR = 3600_000;

async function open(limits: { maxBytes?: number; maxAgeMs?: number; file?: string } = {}) {
  let now = 1_800_000_000_000;
  const drops: DropReport[] = [];
  const setAside: string[] = [];
  const store = await OutboxStore.open({
    file: limits.file ?? join(dir, `o${n++}.db`),
    onSetAside: (movedTo) => setAside.push(movedTo),
    maxBytes: limits.maxBytes ?? 1024 * 1024,
    maxAgeMs: limits.maxAgeMs ?? 24 * HOUR,
    onDrop: (d) => drops.push(d),
    now: () => now,
  });
  return { store, drops, setAside, advance: (ms: number) => (now += ms), at: () => now };
}

const payloads = async (store: OutboxStore) => (await store.next(0, 1000)).map((m) => m.payload.toString());

describe('outbox store', () => {
  it('drops messages older than the age bound, oldest first, and reports how many and from when', async () => {
    const { store, drops, advance, at } = await open({ maxAgeMs: HOUR });
    const first = at();
    await Promise.all(['a', 'b', 'c'].map((p) => store.append('t', Buffer.from(p))));
    advance(2 * HOUR);
    await store.append('t', Buffer.from('d'));
    advance(30 * 60_000);
    await store.expire();
    assert.deepEqual(await payloads(store), ['d']);
    assert.deepEqual(drops, [{ reason: 'age', count: 3, bytes: 6, fromMs: first, toMs: first }]);
    assert.deepEqual(store.stats(), { count: 1, bytes: 2, oldestMs: first + 2 * HOUR, held: 0 });
    await store.close();
  });

  it('keeps the newest messages within the size bound and reports what it dropped', async () => {
    const { store, drops } = await open({ maxBytes: 50 });
    for (let i = 0; i < 10; i++) await store.append('topic', Buffer.from(`payload-${i}`)); // 5 + 9 = 14 bytes each
    assert.deepEqual(await payloads(store), ['payload-7', 'payload-8', 'payload-9']);
    assert.equal(
      drops.reduce((s, d) => s + d.count, 0),
      7,
    );
    assert.ok(drops.every((d) => d.reason === 'size'));
    assert.ok(store.stats().bytes <= 50);
    await assert.rejects(store.append('topic', Buffer.alloc(60)), /larger than the whole outbox/);
    await store.close();
  });

  it('never reuses a sequence number, even after every row was delivered and deleted', async () => {
    const { store } = await open();
    await store.append('t', Buffer.from('1'));
    await store.append('t', Buffer.from('2'));
    const sent = await store.next(0, 10);
    await store.remove(sent.map((m) => m.seq));
    await store.append('t', Buffer.from('3'));
    const [next] = await store.next(sent.at(-1)!.seq, 10);
    assert.equal(next?.payload.toString(), '3', 'a sender whose cursor is past the deleted rows still finds it');
    await store.close();
    await store.close(); // twice is fine
    await assert.rejects(store.append('t', Buffer.from('4')), /closed/);
  });

  it('holds messages it cannot write (a full disk), acknowledges none of them, and writes them in order once it can', async () => {
    const { store } = await open();
    await store.append('t', Buffer.from('before'));
    // SQLite's own "database or disk is full": the file may grow no further.
    const db = (store as unknown as { db: { exec(sql: string): Promise<void>; get<T>(sql: string): Promise<T> } }).db;
    const { page_count } = await db.get<{ page_count: number }>('PRAGMA page_count');
    await db.exec(`PRAGMA max_page_count = ${page_count}`);
    const written: string[] = [];
    const appends = Array.from({ length: 300 }, (_, i) => store.append('t', Buffer.alloc(500, i % 10)).then(() => written.push(String(i))));
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(written, [], 'none acknowledged while the file cannot take it');
    assert.match(store.stats().writeProblem ?? '', /full/);
    assert.equal(store.stats().held, 300);
    await db.exec('PRAGMA max_page_count = 1073741823'); // room again
    await Promise.all(appends);
    assert.deepEqual(
      written,
      Array.from({ length: 300 }, (_, i) => String(i)),
      'in the order they came',
    );
    assert.equal(store.stats().writeProblem, undefined);
    assert.equal((await store.next(0, 1000)).length, 301);
    await store.close();
  });

  it('sets a file that is not a database aside and begins a new one, rather than leave the Pi without an uplink', async () => {
    const file = join(dir, 'overwritten.db');
    const first = await open({ file });
    await first.store.append('t', Buffer.from('x'));
    await first.store.close();
    const bytes = readFileSync(file);
    bytes.fill(0x41, 0, 100);
    writeFileSync(file, bytes);
    const again = await open({ file });
    assert.equal(again.setAside.length, 1);
    assert.match(again.setAside[0]!, /overwritten\.db\.unreadable-/);
    assert.ok(existsSync(again.setAside[0]!), 'kept for a person to look at');
    await again.store.append('t', Buffer.from('y'));
    assert.deepEqual(await payloads(again.store), ['y']);
    await again.store.close();
  });
});
