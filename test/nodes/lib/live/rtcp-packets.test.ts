/**
 * The RTCP the camera gets, read back with werift's parser as a receiver
 * would: RR + SDES, REMB with its SSRCs and a bitrate never above the one
 * meant, PLI, FIR with its target, NACK with the lost sequence numbers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GenericNack,
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSourceDescriptionPacket,
  RtcpTransportLayerFeedback,
} from 'werift';
import { fir, nack, pli, receiverReport, remb, rembExpMantissa } from '../../../../nodes/lib/live/rtcp-packets';

describe('RTCP towards the camera', () => {
  it('a receiver report with a CNAME', () => {
    const [rr, sdes] = RtcpPacketConverter.deSerialize(
      receiverReport(42, 'bridge', [
        { ssrc: 1607797317, fractionLost: 20, packetsLost: 3, highestSequence: 70000, jitter: 5, lsr: 9, dlsr: 10 },
      ]),
    );
    assert.ok(rr instanceof RtcpRrPacket && sdes instanceof RtcpSourceDescriptionPacket);
    assert.equal(rr.ssrc, 42);
    assert.deepEqual(
      { ...rr.reports[0]!.toJSON() },
      { ssrc: 1607797317, fractionLost: 20, packetsLost: 3, highestSequence: 70000, jitter: 5, lsr: 9, dlsr: 10 },
    );
    assert.equal(sdes.chunks[0]?.items[0]?.text, 'bridge');
  });

  it('a REMB for the camera SSRCs, exact where 18 bits allow and rounded down otherwise', () => {
    const [packet] = RtcpPacketConverter.deSerialize(remb(42, 5_000_000, [1607797317, 229236353]));
    assert.ok(packet instanceof RtcpPayloadSpecificFeedback && packet.feedback instanceof ReceiverEstimatedMaxBitrate);
    assert.equal(packet.feedback.bitrate, 5_000_000n);
    assert.deepEqual(packet.feedback.ssrcFeedbacks, [1607797317, 229236353]);
    const { exp, mantissa } = rembExpMantissa(5_000_001);
    assert.ok(mantissa * 2 ** exp <= 5_000_001 && mantissa < 2 ** 18);
  });

  it('PLI, FIR and NACK', () => {
    const [p] = RtcpPacketConverter.deSerialize(pli(42, 7));
    assert.ok(p instanceof RtcpPayloadSpecificFeedback && p.feedback.count === 1);
    const f = fir(42, 7, 300);
    assert.deepEqual([f[0]! & 0x1f, f[1], f.readUInt32BE(12), f[16]], [4, 206, 7, 300 & 0xff]);
    const [n] = RtcpPacketConverter.deSerialize(nack(42, 7, [105, 101, 140]));
    assert.ok(n instanceof RtcpTransportLayerFeedback && n.feedback instanceof GenericNack);
    assert.deepEqual(n.feedback.lost, [101, 105, 140]);
    assert.equal(n.feedback.mediaSourceSsrc, 7);
  });
});
