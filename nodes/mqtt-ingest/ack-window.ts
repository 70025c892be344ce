/**
 * The acknowledgements mqtt-ingest owes its broker, in the order the messages
 * arrived. A QoS 1 message is acknowledged (PUBACK) only when its receipt
 * settled (its rows committed, its alerts in the outbox) and every message
 * received before it on the same connection was acknowledged: MQTT 3.1.1 §4.6
 * and 5.0 §4.6 ask a receiver to send PUBACKs in the order of the PUBLISHes.
 *
 * The window is also the back-pressure: once `cap` messages are in flight,
 * `whenRoom` holds the next one back, which stops the MQTT client reading the
 * socket, so the broker keeps the rest queued (on disk, for Mosquitto).
 *
 * A connection that closed takes its acknowledgements with it: a PUBACK sent on
 * the next connection could name a packet id the broker has given to another
 * message by then. The broker redelivers those messages to the persistent
 * session instead, and mqtt-processor drops the duplicates.
 */

export interface Delivery {
  readonly qos: number;
  readonly messageId?: number;
  readonly connection: number;
  settled: boolean;
}

export interface AckWindowOptions {
  /** most messages in flight (received, not yet acknowledged) */
  cap: number;
  /** sends the PUBACK for `messageId` on the current connection */
  ack(messageId: number): void;
}

export class AckWindow {
  private queue: Delivery[] = [];
  private head = 0;
  private connection = 0;
  private waiter?: () => void;
  private closed = false;
  /** PUBACKs sent since the node started */
  acknowledged = 0;
  /** messages received since the node started */
  received = 0;

  constructor(private readonly opts: AckWindowOptions) {}

  get inFlight(): number {
    return this.queue.length - this.head;
  }

  get full(): boolean {
    return this.inFlight >= this.opts.cap;
  }

  /** Records one message as it arrives; settle it when its receipt does. */
  receive(qos: number, messageId?: number): Delivery {
    const d: Delivery = { qos, messageId, connection: this.connection, settled: false };
    this.queue.push(d);
    this.received++;
    return d;
  }

  settle(d: Delivery): void {
    d.settled = true;
    this.drain();
  }

  /** Runs `next` at once when there is room, otherwise once enough messages were acknowledged. */
  whenRoom(next: () => void): void {
    if (!this.full || this.closed) next();
    else this.waiter = next;
  }

  /** The connection closed: what it delivered is never acknowledged (the broker redelivers it). */
  connectionLost(): void {
    this.connection++;
    this.drain();
  }

  /** No acknowledgement after this; a held `whenRoom` is let go so the client can end. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.releaseWaiter();
  }

  private drain(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.settled) {
      const d = this.queue[this.head++]!;
      if (d.qos > 0 && d.messageId !== undefined && d.connection === this.connection && !this.closed) {
        this.opts.ack(d.messageId);
        this.acknowledged++;
      }
    }
    // Compact now and then rather than shift() per message (O(n) each).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (!this.full) this.releaseWaiter();
  }

  private releaseWaiter(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
