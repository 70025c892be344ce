/**
 * Exactly one of each send when several runtimes run the same alert node over one outbox
 * (issue 21, item 4): two dispatchers on one real PostgreSQL claim disjoint rows and together
 * deliver every alert once, with one send in flight per destination across both; a runtime that
 * dies mid-send keeps its rows until its lease runs out, then the other sends them, and those
 * (the sends in flight at the death) are the only doubles. On SQLite (one runtime) a restart
 * takes every `sending` row back at once, as before.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { Dispatcher, type Channel, type DeliveryResult } from '../../../../nodes/lib/alerts/dispatcher';
import { Api } from 'node-telegram-bot-api';
import { AlertOutbox, type NewDelivery, type OutboxRow } from '../../../../nodes/lib/store/outbox';
import type { Alert } from '../../../../nodes/lib/types';
import { TelegramChannel } from '../../../../nodes/telegram-alert/telegram-channel';
import { FakeTelegram, testPng } from '../../../support/fake-telegram';
import { eachDialect, twoRuntimes, type TestStore } from '../../../support/stores';
import { waitFor } from '../../../support/wait';

const OWNER = 'telegram-node-1';
const LEASE_MS = 30_000;
const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);

/** Telegram as far as these tests care: which rows arrived, from which runtime, and how many at once per chat. */
class Receiver {
  readonly received: Array<{ runtime: string; id: number; target: string }> = [];
  /** most sends to one chat in flight at once, over both runtimes */
  maxInFlightPerTarget = 0;
  private readonly inFlight = new Map<string, number>();

  arrive(runtime: string, rows: readonly OutboxRow[]): () => void {
    const target = rows[0]!.target;
    const now = (this.inFlight.get(target) ?? 0) + 1;
    this.inFlight.set(target, now);
    this.maxInFlightPerTarget = Math.max(this.maxInFlightPerTarget, now);
    for (const r of rows) this.received.push({ runtime, id: r.id, target });
    let over = false;
    return () => {
      if (!over) this.inFlight.set(target, (this.inFlight.get(target) ?? 1) - 1);
      over = true;
    };
  }

  /** ids received more than once */
  doubles(): number[] {
    const seen = new Map<number, number>();
    for (const r of this.received) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  }
}

/** A runtime's channel: hands rows to the receiver; `hold` makes its sends wait (or never answer). */
class RuntimeChannel implements Channel {
  readonly name = 'telegram';
  readonly limits = { perTargetMs: 0, groupPerMinute: 0, globalPerSecond: 0 };
  /** sends waiting for their answer; each resolves (or rejects) its send */
  readonly held: Array<{ rows: OutboxRow[]; answer: (err?: Error) => void; over: () => void }> = [];
  hold = false;
  private nextMessageId = 1000;

  constructor(
    readonly runtime: string,
    private readonly receiver: Receiver,
    readonly maxDigest = 1,
  ) {}

  canDigest(row: OutboxRow) {
    return row.item === 'alert' && !row.image;
  }

  async deliver(rows: OutboxRow[]): Promise<DeliveryResult> {
    const over = this.receiver.arrive(this.runtime, rows);
    try {
      if (this.hold)
        await new Promise<void>((resolve, reject) => this.held.push({ rows, over, answer: (err) => (err ? reject(err) : resolve()) }));
      // A turn of the event loop: the other runtime gets its chance meanwhile.
      else await new Promise((r) => setImmediate(r));
    } finally {
      over();
    }
    return { messageId: this.nextMessageId++, delivered: rows.length };
  }

  /** The runtime is killed: Telegram has the messages it was sending; their answers go nowhere. */
  die(): void {
    for (const h of this.held) h.over();
  }

  classify(err: unknown) {
    return { retry: true, reason: (err as Error).message };
  }
}

const alert = (i: number): Alert => ({
  kind: 'text',
  deviceId: 'cam-1',
  deviceName: 'Porch',
  timeMs: T0 + i,
  severity: 'info',
  text: `alert ${i}`,
});

const delivery = (i: number, target: string): NewDelivery => ({
  target,
  item: 'alert',
  dedupeKey: `alert:${target}:${i}`,
  payload: alert(i),
  deviceId: 'cam-1',
});

/** The outbox of OWNER in `store`, on a clock the test moves. */
const outboxOf = (store: TestStore, clock: () => number, leaseMs = LEASE_MS) =>
  new AlertOutbox(store.exclusive, 'telegram', OWNER, undefined, clock, undefined, leaseMs);

const dispatchers: Dispatcher[] = [];
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function dispatcher(outbox: AlertOutbox, channel: Channel, clock: () => number, maxInFlight = 8): Dispatcher {
  const d = new Dispatcher({
    outbox,
    channel,
    backoff: { baseMs: 20, maxMs: 100 },
    giveUpAfterMs: 0,
    maxInFlight,
    report: () => undefined,
    onError: () => undefined /* a runtime that "died" fails its late writes; the rows say what happened */,
    now: clock,
  });
  dispatchers.push(d);
  cleanups.unshift(() => d.close());
  return d;
}

async function states(store: TestStore): Promise<Record<string, number>> {
  const rows = await store.exclusive((db) =>
    db.all<{ state: string; n: number }>('SELECT state, count(*) AS n FROM alerts_outbox GROUP BY state'),
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

eachDialect('outbox claims', (open, dialect) => {
  it(
    dialect === 'sqlite'
      ? 'a restart takes every row left sending back at once (one runtime: its sender is gone)'
      : 'recover takes back only rows whose lease ran out; a claim renewed in time stays',
    async () => {
      const store = await open();
      cleanups.push(() => store.close());
      let now = T0;
      const clock = () => now;
      const a = outboxOf(store, clock);
      await a.add([delivery(1, 'chat-1')]);
      const [claimed] = await a.claim(await a.due(now));
      assert.equal(claimed?.state, 'sending');
      const b = outboxOf(store, clock);
      if (dialect === 'sqlite') {
        assert.equal(claimed.leaseUntilMs, undefined, 'no lease on SQLite');
        assert.equal(await b.recover(), 1);
        assert.deepEqual(await states(store), { pending: 1 });
        return;
      }
      assert.equal(claimed.leaseUntilMs, T0 + LEASE_MS);
      now = T0 + (LEASE_MS * 2) / 3;
      assert.equal(await b.recover(), 0, 'the lease is alive');
      const renewed = await a.renew([claimed]);
      assert.equal(renewed?.[0]?.leaseUntilMs, now + LEASE_MS);
      now = T0 + LEASE_MS + 1;
      assert.equal(await b.recover(), 0, 'renewed: alive past the first lease');
      assert.deepEqual(await b.due(now), [], 'not due while its sender holds it');
      now = renewed![0]!.leaseUntilMs! + 1;
      assert.equal(await b.recover(), 1, 'the renewed lease ran out');
      const [again] = await b.claim(await b.due(now));
      assert.equal(again?.id, claimed.id);
      // The first sender comes back late: it cannot renew, nor undo what the second decides.
      assert.equal(await a.renew(renewed!), undefined);
      assert.equal(await a.retry(renewed![0]!, 'timeout', now + 5000), false);
      assert.equal(await a.close(renewed![0]!, 'failed', 'gave up'), false);
      await b.markSent([again!], { messageId: 7 });
      assert.deepEqual(await states(store), { sent: 1 });
    },
  );
});

eachDialect('outbox wake-ups', (open) => {
  it('a row that falls due while the dispatcher looks is its next wake-up, not slept past', async () => {
    const store = await open();
    cleanups.push(() => store.close());
    let now = T0;
    const out = outboxOf(store, () => now);
    // A retry due 100 ms after the dispatcher's look at T0 (its backoff, or a snapshot's wait).
    await out.add([delivery(1, 'chat-1')]);
    const [row] = await out.claim(await out.due(now));
    await out.retry(row!, 'connection reset', T0 + 100);
    now = T0 + 150; // the dispatcher was slow: the row is due by the time it asks
    assert.equal(await out.nextDueMs(T0), T0 + 100, 'due since the look at T0: wake now');
  });
});

eachDialect('outbox shared by two runtimes', (open, dialect) => {
  if (dialect === 'sqlite') return; // one runtime per SQLite file

  it('two dispatchers claim disjoint rows and together deliver every alert exactly once, one send per chat at a time', async () => {
    const [a, b] = await twoRuntimes(open, cleanups);
    const receiver = new Receiver();
    const chats = ['chat-1', 'chat-2', 'chat-3', '-100-group'];
    const outA = outboxOf(a, Date.now);
    const outB = outboxOf(b, Date.now);
    // Each runtime takes half of the alerts (the broker's queue splits the work), all for the same alert node.
    for (let i = 0; i < 80; i++) await (i % 2 ? outA : outB).add([delivery(i, chats[i % chats.length]!)]);
    const dA = dispatcher(outA, new RuntimeChannel('A', receiver, 3), Date.now);
    const dB = dispatcher(outB, new RuntimeChannel('B', receiver, 3), Date.now);
    for (let i = 0; i < 5; i++) {
      dA.wake();
      dB.wake();
    }
    await waitFor('every alert sent', async () => ((await states(a)).sent === 80 ? true : undefined), 60_000);
    assert.equal(receiver.received.length, 80, 'each alert arrived once');
    assert.deepEqual(receiver.doubles(), []);
    assert.equal(receiver.maxInFlightPerTarget, 1, 'never two sends to one chat at once');
    const byRuntime = (r: string) => receiver.received.filter((x) => x.runtime === r).length;
    assert.equal(byRuntime('A') + byRuntime('B'), 80);
    const attempts = await a.exclusive((db) => db.all<{ attempts: number }>('SELECT DISTINCT attempts FROM alerts_outbox'));
    assert.deepEqual(attempts, [{ attempts: 1 }]);
  });

  it('a chat one runtime is sending to is left to it: the other serves the other chats meanwhile', async () => {
    const [a, b] = await twoRuntimes(open, cleanups);
    const receiver = new Receiver();
    const outA = outboxOf(a, Date.now);
    const outB = outboxOf(b, Date.now);
    for (let i = 0; i < 3; i++) await outA.add([delivery(i, 'chat-1')]);
    for (let i = 3; i < 6; i++) await outA.add([delivery(i, 'chat-2')]);
    const slow = new RuntimeChannel('A', receiver);
    slow.hold = true;
    dispatcher(outA, slow, Date.now, 1).wake();
    await waitFor('A sending to chat-1', async () => (slow.held.length === 1 ? true : undefined));
    assert.equal(slow.held[0]!.rows[0]!.target, 'chat-1');

    const fast = new RuntimeChannel('B', receiver);
    const dB = dispatcher(outB, fast, Date.now);
    dB.wake();
    await waitFor('chat-2 served by B', async () =>
      receiver.received.filter((r) => r.target === 'chat-2').length === 3 ? true : undefined,
    );
    assert.deepEqual(
      receiver.received.filter((r) => r.runtime === 'B').map((r) => r.target),
      ['chat-2', 'chat-2', 'chat-2'],
    );
    const pendingChat1 = (await outB.due(Date.now())).filter((r) => r.target === 'chat-1');
    assert.deepEqual(pendingChat1, [], "chat-1's backlog is not due elsewhere while A sends to it");
    const [next] = await a.exclusive((db) =>
      db.all<{ id: number }>(`SELECT id FROM alerts_outbox WHERE target = 'chat-1' AND state = 'pending' ORDER BY id LIMIT 1`),
    );
    const row = await outB.get(next!.id);
    assert.deepEqual(await outB.claim([row!]), [], 'nor can it be claimed');

    slow.hold = false;
    slow.held.shift()!.answer();
    await waitFor('every alert sent', async () => ((await states(a)).sent === 6 ? true : undefined), 60_000);
    assert.deepEqual(receiver.doubles(), []);
    assert.equal(receiver.maxInFlightPerTarget, 1);
  });

  it('a slow send keeps its rows: its runtime renews the lease while the send runs', async () => {
    const [a, b] = await twoRuntimes(open, cleanups);
    let now = T0;
    const clock = () => now;
    // A short lease, so that the renewals (every third of it, in real time) come while the test waits.
    const lease = 300;
    const receiver = new Receiver();
    const outA = outboxOf(a, clock, lease);
    await outA.add([delivery(1, 'chat-1')]);
    const slow = new RuntimeChannel('A', receiver);
    slow.hold = true;
    dispatcher(outA, slow, clock).wake();
    await waitFor('A sending', async () => (slow.held.length === 1 ? true : undefined));
    const leaseOf = () => a.exclusive(async (db) => (await db.get<{ ms: number }>('SELECT next_attempt_ms AS ms FROM alerts_outbox'))?.ms);
    assert.equal(await leaseOf(), T0 + lease);
    now = T0 + 200;
    await waitFor('the lease renewed', async () => ((await leaseOf()) === T0 + 200 + lease ? true : undefined));
    now = T0 + lease + 100; // past the first lease, within the renewed one
    const outB = outboxOf(b, clock, lease);
    assert.equal(await outB.recover(), 0);
    assert.deepEqual(await outB.due(now), []);
    slow.hold = false;
    slow.held.shift()!.answer();
    await waitFor('sent', async () => ((await states(a)).sent === 1 ? true : undefined));
    assert.deepEqual(receiver.doubles(), []);
  });

  it("two runtimes sending to one chat keep Telegram's second between messages, as the Bot API receives them", async () => {
    const [a, b] = await twoRuntimes(open, cleanups);
    const fake = await FakeTelegram.start();
    cleanups.push(() => fake.stop());
    const CHAT = '4242';
    const outA = outboxOf(a, Date.now);
    const outB = outboxOf(b, Date.now);
    // Each runtime its own bot client and its own SendLimiter, as two processes have.
    const channel = () =>
      new TelegramChannel(new Api(fake.token, { apiRoot: fake.url, maxRetries: 0, timeoutMs: 5000 }), { timeZone: 'UTC' });
    const dA = dispatcher(outA, channel(), Date.now);
    const dB = dispatcher(outB, channel(), Date.now);
    // Alerts keep arriving at both runtimes (the broker's queue splits the cameras' messages), and
    // each add wakes that runtime's dispatcher, as the alert node does. Photos, so that a backlog
    // is not one digest: each alert is a message of its own.
    const ALERTS = 8;
    for (let i = 0; i < ALERTS; i++) {
      const [out, d] = i % 2 ? [outA, dA] : [outB, dB];
      await out.add([{ ...delivery(i, CHAT), image: testPng(2, 2, i * 30) }]);
      d.wake();
      await new Promise((r) => setTimeout(r, 300));
    }
    await waitFor(
      'every alert sent',
      async () => {
        dA.wake();
        dB.wake();
        return (await states(a)).sent === ALERTS ? true : undefined;
      },
      60_000,
    );
    const sent = fake.sent(Number(CHAT));
    const gaps = sent.slice(1).map((m, i) => m.atMs - sent[i]!.atMs);
    console.log(`one chat, two runtimes: A sent ${dA.stats.sent}, B sent ${dB.stats.sent}; ms between arrivals: ${gaps.join(', ')}`);
    assert.equal(sent.length, ALERTS, 'each alert is a message');
    // The fake records every message closer than Telegram's limit in one chat (its 50 ms of tolerance aside).
    assert.deepEqual(fake.violations, []);
  });

  it('a runtime that dies mid-send: its rows wait for the lease, then the other sends them (the documented doubles)', async () => {
    const a = await open();
    const b = await open(a.location);
    cleanups.push(() => b.close());
    let now = T0;
    const clock = () => now;
    const receiver = new Receiver();
    const outA = outboxOf(a, clock);
    const outB = outboxOf(b, clock);
    for (let i = 0; i < 4; i++) await outA.add([delivery(i, 'chat-1')]);
    for (let i = 4; i < 6; i++) await outA.add([delivery(i, 'chat-2')]);

    // A hands the first row of each chat to Telegram, which gets them; the answers never come back.
    const dying = new RuntimeChannel('A', receiver);
    dying.hold = true;
    dispatcher(outA, dying, clock).wake();
    await waitFor('A sending to both chats', async () => (dying.held.length === 2 ? true : undefined));
    const inFlight = dying.held.flatMap((h) => h.rows.map((r) => r.id)).sort((x, y) => x - y);
    // A is gone: its database connections close; its sends never finish.
    dying.die();
    await a.close();
    // At the end its hung sends fail (before the dispatchers are closed, which waits for them).
    cleanups.unshift(async () => {
      for (const h of dying.held.splice(0)) h.answer(new Error('the runtime was killed'));
    });

    // B starts while A's leases are alive: it takes nothing of A's.
    let looked = 0;
    const nextDueMs = outB.nextDueMs.bind(outB);
    outB.nextDueMs = async () => {
      looked++;
      return nextDueMs();
    };
    const dB = dispatcher(outB, new RuntimeChannel('B', receiver), clock);
    dB.wake();
    await waitFor('B looked at the outbox', async () => (looked > 0 ? true : undefined));
    assert.equal(outB.recovered, 0);
    assert.deepEqual(
      receiver.received.filter((r) => r.runtime === 'B'),
      [],
      'before the lease runs out nothing of A is sent again',
    );
    assert.deepEqual(await states(b), { sending: 2, pending: 4 });

    // The lease runs out: B takes A's rows back and sends everything.
    now = T0 + LEASE_MS + 1;
    dB.wake();
    await waitFor('every alert sent', async () => ((await states(b)).sent === 6 ? true : undefined), 60_000);
    assert.equal(outB.recovered, 2);
    assert.equal(dB.stats.recovered, 2);
    assert.deepEqual(
      receiver.doubles().sort((x, y) => x - y),
      inFlight,
      'the sends in flight at the death arrive twice, nothing else',
    );
    assert.equal(receiver.received.length, 6 + inFlight.length);
    assert.equal(receiver.maxInFlightPerTarget, 1);
  });
});
