/**
 * Telegram's per-group and per-bot windows across runtimes (issue 21, item 4): two dispatchers
 * on one real PostgreSQL outbox, each with its own bot client and its own SendLimiter as two
 * processes have, keep together to what one would keep alone, as the Bot API (the fake) receives
 * the messages: no more than the group's limit in any minute in one group chat, no more than the
 * bot's limit in any second over all chats. The store carries what each runtime's limiter cannot
 * see (AlertOutbox.spaced and claim, migration 29). On SQLite (one runtime) the limiter alone
 * paces, and nothing is written.
 *
 * The windows are short in these tests by two means the code allows: a clock running 20 times
 * faster than the wall's for the minute (the fake measures on it too), and small limits for the
 * bot's second (a channel whose limits are injected).
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { Api } from 'node-telegram-bot-api';
import { Dispatcher } from '../../../../nodes/lib/alerts/dispatcher';
import { TELEGRAM_LIMITS, type SendLimits } from '../../../../nodes/lib/alerts/send-limiter';
import { AlertOutbox, type NewDelivery } from '../../../../nodes/lib/store/outbox';
import { TelegramChannel } from '../../../../nodes/telegram-alert/telegram-channel';
import { FakeTelegram, testPng } from '../../../support/fake-telegram';
import { eachDialect, twoRuntimes, type TestStore } from '../../../support/stores';

const OWNER = 'telegram-node-1';
const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);
/** Long enough that no claim runs out during these tests, whatever the clock's speed. */
const LEASE_MS = 3_600_000;

/** TelegramChannel with other limits: the test's stand-in for "the dispatcher takes its channel's limits". */
class LimitedChannel extends TelegramChannel {
  override readonly limits: SendLimits;
  constructor(fake: FakeTelegram, limits: SendLimits) {
    super(new Api(fake.token, { apiRoot: fake.url, maxRetries: 0, timeoutMs: 10_000 }), { timeZone: 'UTC' });
    this.limits = limits;
  }
}

/** A photo alert: a message of its own (never part of a digest). */
const photoAlert = (i: number, target: string): NewDelivery => ({
  target,
  item: 'alert',
  dedupeKey: `alert:${target}:${i}`,
  payload: { kind: 'text', deviceId: 'cam-1', deviceName: 'Porch', timeMs: T0 + i, severity: 'info', text: `alert ${i}` },
  image: testPng(2, 2, (i * 17) % 256),
  deviceId: 'cam-1',
});

/** The most of `times` within any `windowMs` (a time t counts in the window (s - windowMs, s]). */
function mostInAnyWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let end = 0, start = 0; end < sorted.length; end++) {
    while (sorted[start]! <= sorted[end]! - windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/** A clock running `speed` times faster than the wall's, from T0. */
function fastClock(speed: number): () => number {
  const start = Date.now();
  return () => T0 + Math.floor((Date.now() - start) * speed);
}

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function dispatcher(outbox: AlertOutbox, channel: TelegramChannel, clock: () => number, errors: Error[]): Dispatcher {
  const d = new Dispatcher({
    outbox,
    channel,
    backoff: { baseMs: 20, maxMs: 100 },
    giveUpAfterMs: 0,
    report: () => undefined,
    onError: (err) => errors.push(err),
    now: clock,
  });
  cleanups.unshift(() => d.close());
  return d;
}

/**
 * Wakes the dispatchers often (each one's own timers count in the test clock's milliseconds, which
 * the wall's run slower than) until `total` sends were recorded; generous bound.
 */
async function driveUntilSent(dispatchers: Dispatcher[], total: number, store: TestStore): Promise<void> {
  const until = Date.now() + 120_000;
  for (let i = 0; ; i++) {
    for (const d of dispatchers) d.wake();
    if (i % 20 === 0) {
      const row = await store.exclusive((db) => db.get<{ n: number }>(`SELECT count(*) AS n FROM alerts_outbox WHERE state = 'sent'`));
      if (Number(row?.n) === total) return;
      if (Date.now() > until) throw new Error(`timed out: ${row?.n} of ${total} sent`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

eachDialect('Telegram windows', (open, dialect) => {
  if (dialect === 'sqlite') {
    it('one runtime paces in its limiter alone: nothing is written for the windows', async () => {
      const store = await open();
      cleanups.push(() => store.close());
      const fake = await FakeTelegram.start();
      cleanups.push(() => fake.stop());
      const out = new AlertOutbox(store.exclusive, 'telegram', OWNER);
      for (let i = 0; i < 3; i++) await out.add([photoAlert(i, '-100555')]);
      const errors: Error[] = [];
      const d = dispatcher(out, new LimitedChannel(fake, TELEGRAM_LIMITS), Date.now, errors);
      await driveUntilSent([d], 3, store);
      assert.equal(fake.sent(-100555).length, 3);
      assert.deepEqual(fake.violations, []);
      const rows = await store.exclusive((db) => db.all('SELECT * FROM outbox_destinations'));
      assert.deepEqual(rows, []);
      assert.deepEqual(errors, []);
    });
    return;
  }

  it("a claim waits exactly until the group's oldest send in its window is a minute old, and the bot's a second", async () => {
    const [a, b] = await twoRuntimes(open, cleanups);
    let now = T0;
    const clock = () => now;
    const limits: SendLimits = { ...TELEGRAM_LIMITS, groupPerMinute: 3, globalPerSecond: 4 };
    const outs = [a, b].map((s) => new AlertOutbox(s.exclusive, 'telegram', OWNER, undefined, clock, undefined, LEASE_MS));
    /** Runtime `r` sends alert `i` to `target` now: claims it, is answered, records the answer. */
    const send = async (r: number, i: number, target: string) => {
      const out = outs[r]!;
      await out.add([photoAlert(i, target)]);
      const claimed = await out.claim(
        (await out.due(now)).filter((x) => x.target === target),
        limits,
      );
      assert.equal(claimed.length, 1, `alert ${i} claimed`);
      await out.spaced(target, now + limits.perTargetMs, { atMs: now, limits });
      await out.markSent(claimed, { messageId: i });
    };
    const refusalOf = async (r: number, i: number, target: string) => {
      const out = outs[r]!;
      await out.add([photoAlert(i, target)]);
      const rows = (await out.due(now)).filter((x) => x.target === target);
      const claimed = await out.claim(rows, limits);
      if (claimed.length > 0) {
        await out.release(claimed);
        return 'claimed';
      }
      return out.refusal(target);
    };

    // A group: three sends a few seconds apart, by the two runtimes in turn.
    const GROUP = '-100777';
    await send(0, 1, GROUP);
    now = T0 + 5000;
    await send(1, 2, GROUP);
    now = T0 + 9000;
    await send(0, 3, GROUP);
    now = T0 + 20_000;
    assert.deepEqual(await refusalOf(1, 4, GROUP), { untilMs: T0 + 60_000, everyTarget: false }, 'the first send is a minute old then');
    now = T0 + 59_999;
    assert.deepEqual(await refusalOf(0, 4, GROUP), { untilMs: T0 + 60_000, everyTarget: false });
    now = T0 + 60_000;
    assert.equal(await refusalOf(1, 4, GROUP), 'claimed');
    // A private chat has no such window: only its second.
    now = T0 + 70_000;
    for (let i = 0; i < 3; i++) {
      await send(i % 2, 10 + i, '4242');
      now += 1000;
    }
    assert.equal(await refusalOf(0, 13, '4242'), 'claimed');

    // The bot: four sends to four chats within a second fill it, for every chat.
    const T1 = T0 + 120_000;
    for (let i = 0; i < 4; i++) {
      now = T1 + i * 100;
      await send(i % 2, 20 + i, `chat-${i}`);
    }
    now = T1 + 500;
    assert.deepEqual(await refusalOf(1, 30, 'chat-9'), { untilMs: T1 + 1000, everyTarget: true });
    now = T1 + 1000;
    assert.equal(await refusalOf(0, 30, 'chat-9'), 'claimed');

    // Sends in flight hold their places: two answered and two claimed (one per runtime) fill it too.
    const T2 = T1 + 10_000;
    now = T2;
    await send(0, 40, 'chat-a');
    now = T2 + 100;
    await send(1, 41, 'chat-b');
    now = T2 + 200;
    for (const [r, i, target] of [
      [0, 42, 'chat-c'],
      [1, 43, 'chat-d'],
    ] as const) {
      await outs[r]!.add([photoAlert(i, target)]);
      const claimed = await outs[r]!.claim(
        (await outs[r]!.due(now)).filter((x) => x.target === target),
        limits,
      );
      assert.equal(claimed.length, 1);
    }
    assert.deepEqual(await refusalOf(0, 44, 'chat-e'), { untilMs: T2 + 1000, everyTarget: true }, "chat-a's send leaves the window then");
  });

  it('two runtimes sending to one group never put more than its limit into any minute, as the Bot API receives them', async () => {
    const [a, b] = await twoRuntimes(open, cleanups);
    const clock = fastClock(20);
    const fake = await FakeTelegram.start({ clock });
    cleanups.push(() => fake.stop());
    const GROUP = -100123;
    // Five a minute (Telegram's is 20) keeps the test short; the per-chat second is Telegram's.
    const limits: SendLimits = { ...TELEGRAM_LIMITS, groupPerMinute: 5 };
    const outA = new AlertOutbox(a.exclusive, 'telegram', OWNER, undefined, clock, undefined, LEASE_MS);
    const outB = new AlertOutbox(b.exclusive, 'telegram', OWNER, undefined, clock, undefined, LEASE_MS);
    const ALERTS = 8;
    for (let i = 0; i < ALERTS; i++) await (i % 2 ? outA : outB).add([photoAlert(i, String(GROUP))]);
    const errors: Error[] = [];
    const dA = dispatcher(outA, new LimitedChannel(fake, limits), clock, errors);
    const dB = dispatcher(outB, new LimitedChannel(fake, limits), clock, errors);
    await driveUntilSent([dA, dB], ALERTS, a);

    const times = fake.sent(GROUP).map((m) => m.atMs);
    console.log(
      `one group, two runtimes: A sent ${dA.stats.sent}, B sent ${dB.stats.sent}; arrivals (s after the first): ${times.map((t) => ((t - times[0]!) / 1000).toFixed(1)).join(', ')}`,
    );
    assert.equal(times.length, ALERTS, 'each alert is a message, once');
    assert.equal(mostInAnyWindow(times, 60_000), 5, 'never more than five in any minute');
    assert.deepEqual(fake.violations, [], "and Telegram's second per chat held");
    assert.deepEqual(errors, []);
  });

  it('two runtimes sending to many chats never put more than the bot’s limit into any second', async () => {
    const [a, b] = await twoRuntimes(open, cleanups);
    const fake = await FakeTelegram.start();
    cleanups.push(() => fake.stop());
    // Five a second (Telegram's is 30): two runtimes on a busy machine reach it for sure.
    const limits: SendLimits = { ...TELEGRAM_LIMITS, globalPerSecond: 5 };
    const outA = new AlertOutbox(a.exclusive, 'telegram', OWNER, undefined, Date.now, undefined, LEASE_MS);
    const outB = new AlertOutbox(b.exclusive, 'telegram', OWNER, undefined, Date.now, undefined, LEASE_MS);
    const CHATS = 20;
    for (let i = 0; i < CHATS; i++) await (i % 2 ? outA : outB).add([photoAlert(i, String(1000 + i))]);
    const errors: Error[] = [];
    const dA = dispatcher(outA, new LimitedChannel(fake, limits), Date.now, errors);
    const dB = dispatcher(outB, new LimitedChannel(fake, limits), Date.now, errors);
    await driveUntilSent([dA, dB], CHATS, a);

    const times = fake.sent().map((m) => m.atMs);
    console.log(`${CHATS} chats, two runtimes: A sent ${dA.stats.sent}, B sent ${dB.stats.sent}`);
    assert.equal(times.length, CHATS, 'each alert is a message, once');
    assert.equal(mostInAnyWindow(times, 1000), 5, 'never more than five in any second');
    assert.deepEqual(errors, []);
  });
});
