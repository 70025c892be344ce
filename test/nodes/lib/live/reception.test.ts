/**
 * Reception statistics as RFC 3550 Appendix A computes them: loss from
 * sequence gaps per interval, across the 16-bit wrap, reordering not counted
 * as loss, and LSR/DLSR from the camera's sender report.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reception } from '../../../../nodes/lib/live/reception';

describe('reception statistics', () => {
  it('counts the gaps of each interval as loss, and the whole as cumulative loss', () => {
    const r = new Reception(1, 90000);
    for (let s = 100; s < 200; s++) if (s % 10 !== 0) r.onPacket(s, s * 3000, 100);
    const first = r.takeInterval();
    assert.deepEqual([first.expected, first.lost], [99, 9]); // 101..199 expected (100 never came: counting starts at the first), 110..190 missing
    for (let s = 200; s < 300; s++) r.onPacket(s, s * 3000, 100);
    assert.deepEqual(r.takeInterval(), { expected: 100, lost: 0, fraction: 0 });
    assert.equal(r.cumulativeLost, 9);
    assert.equal(r.takeInterval().fraction, undefined, 'nothing expected: no evidence');
  });

  it('follows the sequence number across its wrap and does not count reordering as loss', () => {
    const r = new Reception(1, 90000);
    for (const s of [65533, 65535, 65534, 0, 2, 1, 3]) r.onPacket(s, 0, 10);
    assert.equal(r.extendedMax, 65536 + 3);
    assert.equal(r.cumulativeLost, 0);
    assert.ok(r.hasReceived(1) && !r.hasReceived(4));
  });

  it("echoes the camera's last sender report in the report block", () => {
    const r = new Reception(7, 90000);
    r.onPacket(1, 0, 10, 1000);
    r.onSenderReport(0x1234_5678_9abc_def0n, 1000);
    const block = r.report(r.takeInterval(), 1500);
    assert.equal(block.ssrc, 7);
    assert.equal(block.lsr, 0x5678_9abc);
    assert.equal(block.dlsr, 32768, 'half a second in 1/65536 s');
    assert.equal(block.highestSequence, 1);
  });

  it('starts a new sequence after restart() (a new local sender), without counting the jump as loss', () => {
    const r = new Reception(1, 90000);
    for (let s = 100; s < 110; s++) if (s !== 105) r.onPacket(s, s * 3000, 10);
    r.takeInterval();
    assert.equal(r.cumulativeLost, 1);
    r.restart();
    for (let s = 7; s < 17; s++) r.onPacket(s, s * 3000, 10); // the new ffmpeg's random start, "behind" the old one
    assert.equal(r.cumulativeLost, 1, 'the loss before stays, the jump adds none');
    assert.deepEqual(r.takeInterval(), { expected: 10, lost: 0, fraction: 0 });
    assert.ok(r.hasReceived(16) && !r.hasReceived(108), 'only the new sender is remembered for NACKs');
    assert.equal(r.packets, 19, 'packets counted across the restart');
  });
});
