/**
 * Device messages into the flow, acknowledged after commit. Each message gets a
 * receipt (nodes/lib/ingest/receipts.ts); the broker's callback for it runs only
 * when the receipt settles, i.e. when every node downstream completed (the store
 * completes after COMMIT). Until then aedes writes no PUBACK and reads no more
 * packets from that client: back-pressure reaches the publisher's socket.
 *
 * At most `maxInFlight` receipts are open at once; messages beyond it wait here
 * unsent. Once `maxInFlight` more are waiting, the gate has no room: the broker
 * stops reading devices' sockets (read-throttle.ts) until it has again.
 */
import type { ReceiptBook, ReceiptOutcome } from '../lib/ingest/receipts';

/** What mqtt-processor reads: an MQTT message as `mqtt in` sends it. */
export interface DeviceMessage extends Record<string, unknown> {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** the publishing client's id (its device id) */
  clientId: string;
  /** sent again after it was not stored: the processor must not drop it as a duplicate */
  resent?: boolean;
}

export type Release = (outcome: ReceiptOutcome) => void;

export class IngestGate {
  private waiting: Array<[DeviceMessage, Release]> = [];
  private closed = false;
  private roomListener: () => void = () => undefined;

  constructor(
    private readonly book: ReceiptBook,
    private readonly send: (msg: DeviceMessage) => void,
    private readonly maxInFlight: number,
  ) {}

  /** Messages sent downstream and not yet completed. */
  get inFlight(): number {
    return this.book.inFlight;
  }

  /** Messages waiting for room under the in-flight cap. */
  get held(): number {
    return this.waiting.length;
  }

  /** Room for more messages: fewer than `maxInFlight` waiting beyond those in flight. */
  get hasRoom(): boolean {
    return this.waiting.length < this.maxInFlight;
  }

  /** `listener` runs whenever messages left the waiting line while there is room again. */
  onRoom(listener: () => void): void {
    this.roomListener = listener;
  }

  /** Sends `msg` when there is room; `release` runs (on a later tick) once everything downstream completed. */
  admit(msg: DeviceMessage, release: Release): void {
    if (this.closed) return; // never acknowledged: the publisher sends it again
    // First come, first sent: nothing overtakes a message already waiting.
    if (this.waiting.length > 0 || this.book.inFlight >= this.maxInFlight) this.waiting.push([msg, release]);
    else this.dispatch(msg, release);
  }

  /** Stops: open and waiting messages are never acknowledged (their publishers resend them). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting = [];
    this.book.close();
  }

  private dispatch(msg: DeviceMessage, release: Release): void {
    const id = this.book.open(msg, (outcome) => {
      // Settling runs inside a downstream node's done(): hand back to aedes on its own stack.
      setImmediate(release, outcome);
      this.next();
    });
    this.send(msg);
    this.book.sent(id);
  }

  private next(): void {
    while (!this.closed && this.waiting.length > 0 && this.book.inFlight < this.maxInFlight) {
      const [msg, release] = this.waiting.shift()!;
      this.dispatch(msg, release);
    }
    if (!this.closed && this.hasRoom) this.roomListener();
  }
}
