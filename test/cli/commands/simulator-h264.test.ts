/**
 * The simulated VBC01's H.264 path: ffmpeg's Annex-B output cut into pictures
 * and packed into RTP payloads a receiver can put back together (RFC 6184,
 * packetization-mode 1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnnexBSplitter, FuAReassembler, packetizeAccessUnit, type AccessUnit } from '../../../cli/commands/simulator-h264';

const sps = Buffer.from([0x67, 0x42, 0xe0, 0x1f, 0xda, 0x01]);
const pps = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
/** A slice NAL: first_mb_in_slice 0 when `first` (the ue(v) "1" bit), else 5. */
const slice = (type: 1 | 5, first: boolean, length = 40) =>
  Buffer.concat([Buffer.from([type === 5 ? 0x65 : 0x41, first ? 0x88 : 0x30]), Buffer.alloc(length - 2, 0x5a)]);

const annexB = (nals: Buffer[], fourByte = true) =>
  Buffer.concat(nals.flatMap((n, i) => [Buffer.from(fourByte || i === 0 ? [0, 0, 0, 1] : [0, 0, 1]), n]));

function split(stream: Buffer, chunkSize: number): AccessUnit[] {
  const out: AccessUnit[] = [];
  const splitter = new AnnexBSplitter((au) => out.push(au));
  for (let at = 0; at < stream.length; at += chunkSize) splitter.push(stream.subarray(at, at + chunkSize));
  splitter.end();
  return out;
}

describe('AnnexBSplitter', () => {
  // An IDR picture cut in two slices (zerolatency does that), then two P pictures.
  const nals = [sps, pps, slice(5, true), slice(5, false), slice(1, true), slice(1, true, 3000)];

  for (const chunk of [1, 7, 64, 100_000])
    it(`cuts pictures at their first slice and keeps NAL units whole, fed ${chunk} bytes at a time`, () => {
      const aus = split(annexB(nals), chunk);
      assert.deepEqual(
        aus.map((au) => au.nals),
        [[sps, pps, nals[2], nals[3]], [nals[4]], [nals[5]]],
      );
      assert.deepEqual(
        aus.map((au) => au.keyframe),
        [true, false, false],
      );
    });

  it('reads 3-byte start codes too', () => {
    assert.deepEqual(
      split(annexB(nals, false), 5).map((au) => au.nals.length),
      [4, 1, 1],
    );
  });
});

describe('packetizeAccessUnit and FuAReassembler', () => {
  const big = slice(5, true, 5000);
  const au: AccessUnit = { nals: [sps, pps, big], keyframe: true };

  it('sends small NAL units whole and fragments big ones into FU-A payloads no larger than the MTU', () => {
    const payloads = packetizeAccessUnit(au, 1200);
    assert.deepEqual(payloads.slice(0, 2), [sps, pps]);
    const fragments = payloads.slice(2);
    assert.equal(fragments.length, Math.ceil((big.length - 1) / 1198));
    assert.ok(payloads.every((p) => p.length <= 1200));
    assert.ok(
      fragments.every((f) => (f[0]! & 0x1f) === 28 && (f[1]! & 0x1f) === 5),
      'FU-A carrying an IDR',
    );
    assert.equal(fragments[0]![1]! & 0xc0, 0x80, 'start bit on the first');
    assert.equal(fragments.at(-1)![1]! & 0xc0, 0x40, 'end bit on the last');
  });

  it('the receiving side gets the same NAL units back', () => {
    const fu = new FuAReassembler();
    const back = packetizeAccessUnit(au, 300).flatMap((p) => fu.push(p) ?? []);
    assert.deepEqual(back, au.nals);
  });

  it('refuses an MTU too small for a fragment', () => {
    assert.throws(() => packetizeAccessUnit(au, 2), /cannot carry a FU-A fragment/);
  });
});
