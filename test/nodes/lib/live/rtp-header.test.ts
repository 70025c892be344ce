/**
 * Reading RTP headers in place, and telling where an H.264 keyframe starts
 * (RFC 6184: single NAL unit, STAP-A, FU-A), the only place a viewer may start.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readRtp, startsH264Keyframe } from '../../../../nodes/lib/live/rtp-header';

function rtp(payload: number[], { csrcs = 0, extensionWords = -1 } = {}): Buffer {
  const ext = extensionWords >= 0 ? [0xbe, 0xde, 0, extensionWords, ...new Array<number>(extensionWords * 4).fill(0)] : [];
  const head = [0x80 | (ext.length ? 0x10 : 0) | csrcs, 0x80 | 103, 0x12, 0x34, 0, 0, 0x03, 0x84, 0x5f, 0xd5, 0x0a, 0x45];
  return Buffer.from([...head, ...new Array<number>(csrcs * 4).fill(0), ...ext, ...payload]);
}

describe('RTP headers', () => {
  it('reads payload type, sequence, timestamp, SSRC and where the payload starts', () => {
    assert.deepEqual(readRtp(rtp([0x65])), { payloadType: 103, sequence: 0x1234, timestamp: 900, ssrc: 1607797317, payloadOffset: 12 });
    assert.equal(readRtp(rtp([0x65], { csrcs: 2, extensionWords: 1 }))?.payloadOffset, 12 + 8 + 8);
  });

  it('rejects what is not RTP version 2 or is cut short', () => {
    assert.equal(readRtp(Buffer.from('hello world!')), undefined);
    assert.equal(readRtp(rtp([]).subarray(0, 8)), undefined);
    assert.equal(readRtp(rtp([], { extensionWords: 3 }).subarray(0, 18)), undefined);
  });
});

describe('H.264 keyframe starts', () => {
  it('an SPS or an IDR slice in a single NAL unit', () => {
    assert.ok(startsH264Keyframe(Buffer.from([0x67, 0x42])));
    assert.ok(startsH264Keyframe(Buffer.from([0x65, 0x88])));
    assert.ok(!startsH264Keyframe(Buffer.from([0x41, 0x9a])), 'a P slice');
    assert.ok(!startsH264Keyframe(Buffer.from([0x68, 0xce])), 'a PPS alone');
  });

  it('a STAP-A whose first unit is an SPS', () => {
    assert.ok(startsH264Keyframe(Buffer.from([0x78, 0x00, 0x0a, 0x67, 0x42])));
    assert.ok(!startsH264Keyframe(Buffer.from([0x78, 0x00, 0x0a, 0x06, 0x05])), 'an SEI first');
  });

  it('only the first FU-A fragment of an IDR', () => {
    assert.ok(startsH264Keyframe(Buffer.from([0x7c, 0x85, 0x88])));
    assert.ok(!startsH264Keyframe(Buffer.from([0x7c, 0x05, 0x88])), 'a middle fragment');
    assert.ok(!startsH264Keyframe(Buffer.from([0x7c, 0x81, 0x9a])), 'the start of a P slice');
  });
});
