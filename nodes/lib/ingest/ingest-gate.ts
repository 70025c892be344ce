/**
 * Device messages into the flow, acknowledged after commit (picam-broker, amqp-ingest). The messages that
 * arrive in one event-loop turn (at most `maxBatch`) leave as one Node-RED
 * message (lib/types.ts DeviceBatchMessage) with one receipt
 * (nodes/lib/ingest/receipts.ts): the hops to the processor and the store, their
 * hooks and the receipt are paid once per batch, not per message. With
 * `maxBatch` 1 each message leaves alone, in the shape `mqtt in` sends.
 *
 * The broker's callbacks for a batch's messages run, in arrival order, only when
 * its receipt settles, i.e. when every node downstream completed (the store
 * completes after COMMIT). Until then aedes writes no PUBACK and reads no more
 * packets from those clients: back-pressure reaches the publishers' sockets.
 *
 * At most `maxInFlight` messages are in flight (in batches sent, or in the one
 * forming); messages beyond it wait here unsent. Once `maxWaiting` are waiting
 * (the broker: one batch), the gate has no room: the broker stops reading
 * devices' sockets (read-throttle.ts) until it has again. A short line is enough
 * to refill the flow the moment a batch settles; a long one only made the broker
 * read and parse more sockets in each turn of the event loop, and every hop of a
 * batch through the flow waits for a turn to end (ingest +10-15 % with one
 * batch waiting instead of 2,000 messages: docs/benchmarks.md).
 */
import type { ReceiptBook, ReceiptOutcome } from './receipts';
import { DEVICE_BATCH_TOPIC, type DeviceBatchMessage, type DeviceMessage } from '../types';

export type { DeviceMessage } from '../types';
export type Release = (outcome: ReceiptOutcome) => void;
/** What the gate sends: a batch, or (maxBatch 1) the message itself. */
export type GateOutput = (DeviceBatchMessage | DeviceMessage) & Record<string, unknown>;

function releaseAll(releases: Release[], outcome: ReceiptOutcome): void {
  for (const release of releases) release(outcome);
}

export class IngestGate {
  // Messages and their releases in parallel arrays: no pair allocated per message.
  private waiting: DeviceMessage[] = [];
  private waitingReleases: Release[] = [];
  private forming: DeviceMessage[] = [];
  private formingReleases: Release[] = [];
  private flushScheduled = false;
  /** messages in batches sent and not yet settled */
  private sent = 0;
  private closed = false;
  private roomListener: () => void = () => undefined;

  constructor(
    private readonly book: ReceiptBook,
    private readonly send: (msg: GateOutput) => void,
    private readonly maxInFlight: number,
    private readonly maxBatch = 1,
    /** messages waiting beyond those in flight before the gate has no room */
    private readonly maxWaiting = maxInFlight,
  ) {}

  /** Messages sent downstream (or about to be, this turn) and not yet completed. */
  get inFlight(): number {
    return this.sent + this.forming.length;
  }

  /** Messages waiting for room under the in-flight cap. */
  get held(): number {
    return this.waiting.length;
  }

  /** Room for more messages: fewer than `maxWaiting` waiting beyond those in flight. */
  get hasRoom(): boolean {
    return this.waiting.length < this.maxWaiting;
  }

  /** `listener` runs whenever messages left the waiting line while there is room again. */
  onRoom(listener: () => void): void {
    this.roomListener = listener;
  }

  /** Sends `msg` when there is room; `release` runs (on a later tick) once everything downstream completed. */
  admit(msg: DeviceMessage, release: Release): void {
    if (this.closed) return; // never acknowledged: the publisher sends it again
    // First come, first sent: nothing overtakes a message already waiting.
    if (this.waiting.length > 0 || this.inFlight >= this.maxInFlight) {
      this.waiting.push(msg);
      this.waitingReleases.push(release);
    } else this.take(msg, release);
  }

  /** Stops: open and waiting messages are never acknowledged (their publishers resend them). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting = [];
    this.waitingReleases = [];
    this.forming = [];
    this.formingReleases = [];
    this.book.close();
  }

  private take(msg: DeviceMessage, release: Release): void {
    this.forming.push(msg);
    this.formingReleases.push(release);
    if (this.forming.length >= this.maxBatch) this.flush();
    else if (!this.flushScheduled) {
      // The check phase after this poll: every socket read in this turn joins the batch.
      this.flushScheduled = true;
      setImmediate(this.flushLater);
    }
  }

  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.closed || this.forming.length === 0) return;
    const items = this.forming;
    const releases = this.formingReleases;
    this.forming = [];
    this.formingReleases = [];
    this.sent += items.length;
    const msg = (this.maxBatch === 1 ? items[0]! : { topic: DEVICE_BATCH_TOPIC, payload: items }) as GateOutput;
    const id = this.book.open(msg, (outcome) => {
      this.sent -= items.length;
      // Settling runs inside a downstream node's done(): hand back to aedes on its own stack.
      setImmediate(releaseAll, releases, outcome);
      this.next();
    });
    this.send(msg);
    this.book.sent(id);
  }

  private next(): void {
    if (this.closed) return;
    const n = Math.min(this.waiting.length, this.maxInFlight - this.inFlight);
    if (n > 0) {
      const msgs = this.waiting.splice(0, n);
      const releases = this.waitingReleases.splice(0, n);
      for (let i = 0; i < n; i++) this.take(msgs[i]!, releases[i]!);
    }
    if (!this.closed && this.hasRoom) this.roomListener();
  }
}
