/**
 * Back-pressure from the flow to the devices' sockets. aedes reads a client's
 * socket as soon as that client's previous packets are handled, and parses a
 * whole read at once (up to ~80 KB: hundreds of packets). Under a flood from
 * many devices, every device's next read then waited in the ingest gate:
 * 67,000 parsed messages and ~600 MB in the bench's flood of 1,000 devices.
 *
 * Here aedes parses a device's bytes only while the gate has room. Otherwise
 * the connection is parked, one of two ways:
 * - holding: bytes already taken off its socket, which aedes may not parse yet;
 * - waiting: nothing held, and its socket not asked for more: what the device
 *   sends stays in the kernel, TCP slows it down, and nothing is dropped.
 * Parked devices may read ahead, so they parse the moment room frees, but only
 * READ_AHEAD_BYTES in all (a read asked for counts as a whole 64 KB until it
 * arrives): with a read of 64 KB each, 1,000 flooding devices held ~60 MB.
 * When room frees, holding connections parse first (the gate fills as they
 * do), then waiting ones ask their sockets for a read, in the order they were
 * parked. A read arrives only in a later poll, so at most READS_PER_TURN are
 * asked for a turn. What one read parses goes into the gate synchronously
 * (aedes calls authorizePublish in the same tick), so the gate overshoots its
 * limit by the reads under way.
 */
import type { Duplex } from 'node:stream';

/** Socket reads asked for in one turn of the event loop when room frees. */
const READS_PER_TURN = 32;
/** Bytes all parked devices may hold, read ahead. */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;
/** The most one socket read brings (libuv reads 64 KiB at a time): what a read asked for counts. */
export const ONE_READ = 64 * 1024;

export class ReadThrottle {
  /** parked with bytes aedes has not parsed, in order (a Set keeps insertion order) */
  private readonly holding = new Set<Duplex>();
  /** parked with nothing held: how each goes on to ask its socket for the next read */
  private readonly waiting = new Map<Duplex, () => void>();
  /** bytes each parked connection holds or has asked its socket for (a read asked for: ONE_READ) */
  private readonly ahead = new Map<Duplex, number>();
  private aheadBytes = 0;
  private waking = false;

  constructor(
    private readonly hasRoom: () => boolean,
    private readonly readAheadBytes = READ_AHEAD_BYTES,
  ) {}

  /** Connections waiting for room. */
  get parkedCount(): number {
    return this.holding.size + this.waiting.size;
  }

  /**
   * Throttles a connection `applies()` says is a device (not the runtime's own client, not one
   * still logging in): `conn.read` (aedes's only way to take bytes) refuses while there is no
   * room, and `conn._read` (the stream asking its socket for more) waits for room unless the
   * read-ahead allowance has some left.
   */
  throttle(conn: Duplex, applies: () => boolean): void {
    const read = conn.read.bind(conn);
    conn.read = ((size?: number) => {
      if (!applies() || this.hasRoom()) {
        this.count(conn, 0);
        return read(size);
      }
      if (conn.readableLength > 0) {
        this.holding.add(conn);
        this.waiting.delete(conn); // the read it waited for came
        this.count(conn, conn.readableLength);
      } else if (!this.waiting.has(conn)) {
        // Nothing held. Reading ahead: the stream asks its socket (see _read), unless a read
        // is under way already. Otherwise aedes reads again once there is room, and the
        // stream asks then, a read like any other.
        if (this.mayReadAhead(conn)) read(0);
        else this.waiting.set(conn, () => conn.emit('readable'));
      }
      return null;
    }) as Duplex['read'];
    const pull = conn._read.bind(conn);
    conn._read = (size: number) =>
      // The stream asks for more inside read(), before aedes parses what it got: decide after.
      process.nextTick(() => {
        if (conn.destroyed) return;
        if (!applies() || this.hasRoom()) return pull(size);
        if (this.mayReadAhead(conn)) {
          this.count(conn, ONE_READ);
          return pull(size);
        }
        this.waiting.set(conn, () => pull(size));
      });
    conn.once('close', () => {
      this.holding.delete(conn);
      this.waiting.delete(conn);
      this.count(conn, 0);
    });
  }

  /** Room freed: parked connections go on, on their own tick (not inside the caller's). */
  wake(): void {
    if (this.waking || this.parkedCount === 0) return;
    this.waking = true;
    setImmediate(() => {
      this.waking = false;
      for (const conn of this.holding) {
        if (!this.hasRoom()) return;
        this.holding.delete(conn);
        // aedes reads on 'readable' (client.js nextBatch); our read above lets it through now.
        if (!conn.destroyed) conn.emit('readable');
      }
      let reads = 0;
      for (const [conn, goOn] of this.waiting) {
        if (!this.hasRoom()) return;
        if (reads++ === READS_PER_TURN) {
          this.wake(); // the rest next turn, once these reads are parsed
          return;
        }
        this.waiting.delete(conn);
        goOn();
      }
    });
  }

  /** Forgets every parked connection (the broker is closing). */
  clear(): void {
    this.holding.clear();
    this.waiting.clear();
    this.ahead.clear();
    this.aheadBytes = 0;
  }

  private mayReadAhead(conn: Duplex): boolean {
    return this.aheadBytes - (this.ahead.get(conn) ?? 0) + ONE_READ <= this.readAheadBytes;
  }

  /** What `conn` holds or has asked for, read ahead of room. */
  private count(conn: Duplex, bytes: number): void {
    this.aheadBytes += bytes - (this.ahead.get(conn) ?? 0);
    if (bytes > 0) this.ahead.set(conn, bytes);
    else this.ahead.delete(conn);
  }
}
