import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendLimiter, TELEGRAM_LIMITS } from '../../../../nodes/lib/alerts/send-limiter';
import { backoffMs } from '../../../../nodes/lib/backoff';

/** Sends as fast as the limiter allows, from t = 0, and returns the send times. */
function schedule(limiter: SendLimiter, targets: string[]): Array<[string, number]> {
  const sent: Array<[string, number]> = [];
  for (const target of targets) {
    let t = 0;
    for (;;) {
      const wait = limiter.waitMs(target, t);
      if (wait === 0) break;
      t += wait;
    }
    limiter.start(target);
    limiter.answered(target, t);
    sent.push([target, t]);
  }
  return sent;
}

describe('send limiter (Telegram limits)', () => {
  it('keeps one chat to one message a second', () => {
    const sent = schedule(new SendLimiter(TELEGRAM_LIMITS), ['42', '42', '42']);
    assert.deepEqual(
      sent.map(([, t]) => t),
      [0, 1000, 2000],
    );
  });

  it('keeps a group to 20 messages in any minute', () => {
    const sent = schedule(new SendLimiter(TELEGRAM_LIMITS), Array<string>(22).fill('-100'));
    assert.equal(sent[19]![1], 19_000);
    assert.equal(sent[20]![1], 60_000, 'the 21st waits until the first leaves the minute');
    assert.equal(sent[21]![1], 61_000);
  });

  it('keeps all chats together to 30 a second', () => {
    const chats = Array.from({ length: 31 }, (_, i) => String(i + 1));
    const sent = schedule(new SendLimiter(TELEGRAM_LIMITS), chats);
    assert.equal(sent.filter(([, t]) => t === 0).length, 30);
    assert.equal(sent[30]![1], 1000);
  });

  it('counts sends in flight against the global limit, and each from its answer', () => {
    const limiter = new SendLimiter(TELEGRAM_LIMITS);
    for (let i = 0; i < 30; i++) {
      assert.equal(limiter.waitMs(`c${i}`, 0), 0);
      limiter.start(`c${i}`);
    }
    assert.ok(limiter.waitMs('c30', 0) > 0, 'the 31st waits while 30 are on their way');
    for (let i = 0; i < 30; i++) limiter.answered(`c${i}`, 200);
    assert.equal(limiter.waitMs('c30', 1100), 100, 'and may go a second after their answers, not after they started');
    assert.equal(limiter.waitMs('c30', 1200), 0);
  });

  it('honours a pause (retry_after) for that chat only', () => {
    const limiter = new SendLimiter(TELEGRAM_LIMITS);
    limiter.pause('42', 7000);
    assert.equal(limiter.waitMs('42', 0), 7000);
    assert.equal(limiter.waitMs('43', 0), 0);
  });

  it("holds every chat when told the bot's second is full elsewhere (another runtime's sends)", () => {
    const limiter = new SendLimiter(TELEGRAM_LIMITS);
    limiter.pauseAll(400);
    assert.equal(limiter.waitMs('42', 0), 400);
    assert.equal(limiter.waitMs('-100', 100), 300);
    assert.equal(limiter.waitMs('43', 400), 0);
  });

  it('lets a channel without limits send at once', () => {
    const limiter = new SendLimiter({ perTargetMs: 0, groupPerMinute: 0, globalPerSecond: 0 });
    assert.deepEqual(
      schedule(limiter, ['a', 'a', 'a']).map(([, t]) => t),
      [0, 0, 0],
    );
  });
});

describe('backoff', () => {
  it('doubles up to the cap, with jitter in the upper half', () => {
    const opts = { baseMs: 1000, maxMs: 8000 };
    assert.equal(
      backoffMs(1, opts, () => 0),
      500,
    );
    assert.equal(
      backoffMs(1, opts, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(3, opts, () => 1),
      4000,
    );
    assert.equal(
      backoffMs(10, opts, () => 1),
      8000,
    );
    assert.equal(
      backoffMs(10, opts, () => 0),
      4000,
    );
  });
});
