/**
 * Reception statistics of one RTP source, as RFC 3550 Appendix A computes
 * them: extended highest sequence (A.1), expected vs received and the
 * fraction lost per report interval (A.3), interarrival jitter (A.8), and
 * the last sender report's time for LSR/DLSR (§6.4.1). Also a ring of
 * recently received sequence numbers, so a viewer's NACK for a packet the
 * bridge never got goes on to the camera, and one for a packet the bridge
 * has is answered locally (werift keeps the sent packets).
 */
import type { ReceptionReport } from './rtcp-packets';

const SEQ_MOD = 0x10000;
const RECENT = 1024;

export interface IntervalLoss {
  expected: number;
  lost: number;
  /** lost / expected, or undefined when no packet was expected */
  fraction: number | undefined;
}

export class Reception {
  packets = 0;
  bytes = 0;
  private base = -1;
  private maxSeq = 0;
  private cycles = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private jitter = 0;
  private lastTransit: number | undefined;
  private lastSrNtpMiddle = 0;
  private lastSrAt = 0;
  private readonly recent = new Int32Array(RECENT);
  /** loss and packets counted before the last restart() (a new sender, a new sequence) */
  private lostBefore = 0;
  private packetsBefore = 0;

  constructor(
    readonly ssrc: number,
    private readonly clockRate: number,
  ) {}

  /** Count one packet (sequence, RTP timestamp, size), arrival now. */
  onPacket(sequence: number, timestamp: number, size: number, nowMs = Date.now()): void {
    this.packets++;
    this.bytes += size;
    this.recent[sequence % RECENT] = sequence + 1;
    if (this.base < 0) {
      this.base = sequence;
      this.maxSeq = sequence;
    } else {
      const delta = (sequence - this.maxSeq + SEQ_MOD) % SEQ_MOD;
      if (delta > 0 && delta < SEQ_MOD / 2) {
        if (sequence < this.maxSeq) this.cycles += SEQ_MOD; // wrapped
        this.maxSeq = sequence;
      }
    }
    this.updateJitter(timestamp, nowMs);
  }

  /** The camera's sender report: its NTP time's middle 32 bits become our next LSR. */
  onSenderReport(ntpTimestamp: bigint, nowMs = Date.now()): void {
    this.lastSrNtpMiddle = Number((ntpTimestamp >> 16n) & 0xffffffffn);
    this.lastSrAt = nowMs;
  }

  /**
   * A new sender with the same SSRC (a restarted local copy): its sequence starts anew.
   * The counters carry on (packets, bytes, loss so far); sequence, jitter and SR state restart.
   */
  restart(): void {
    this.lostBefore = this.cumulativeLost;
    this.packetsBefore = this.packets;
    this.base = -1;
    this.maxSeq = 0;
    this.cycles = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.lastTransit = undefined;
    this.lastSrAt = 0;
    this.lastSrNtpMiddle = 0;
    this.recent.fill(0);
  }

  hasReceived(sequence: number): boolean {
    return this.recent[sequence % RECENT] === sequence + 1;
  }

  get started(): boolean {
    return this.base >= 0;
  }

  get extendedMax(): number {
    return this.cycles + this.maxSeq;
  }

  /** Packets the camera sent that never arrived (duplicates can make the count dip; never below 0). */
  get cumulativeLost(): number {
    if (!this.started) return this.lostBefore;
    return this.lostBefore + Math.max(0, this.extendedMax - this.base + 1 - (this.packets - this.packetsBefore));
  }

  /** Loss since the last call (A.3); advances the interval. */
  takeInterval(): IntervalLoss {
    if (!this.started) return { expected: 0, lost: 0, fraction: undefined };
    const expected = this.extendedMax - this.base + 1;
    const expectedInterval = expected - this.expectedPrior;
    const received = this.packets - this.packetsBefore;
    const receivedInterval = received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = received;
    const lost = Math.max(0, expectedInterval - receivedInterval);
    return { expected: expectedInterval, lost, fraction: expectedInterval > 0 ? lost / expectedInterval : undefined };
  }

  /** The report block for this source, given this interval's loss. */
  report(interval: IntervalLoss, nowMs = Date.now()): ReceptionReport {
    const dlsr = this.lastSrAt ? Math.round(((nowMs - this.lastSrAt) / 1000) * 65536) : 0;
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, Math.floor((interval.fraction ?? 0) * 256)),
      packetsLost: Math.min(this.cumulativeLost, 0x7fffff),
      highestSequence: this.extendedMax >>> 0,
      jitter: Math.round(this.jitter) >>> 0,
      lsr: this.lastSrNtpMiddle >>> 0,
      dlsr: dlsr >>> 0,
    };
  }

  private updateJitter(timestamp: number, nowMs: number): void {
    const arrival = Math.round((nowMs * this.clockRate) / 1000);
    const transit = (arrival - timestamp) | 0;
    if (this.lastTransit !== undefined) {
      const d = Math.abs((transit - this.lastTransit) | 0);
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }
}
