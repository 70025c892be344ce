/**
 * Back-pressure from the flow to the devices' sockets. aedes reads a client's
 * socket as soon as that client's previous packets are handled, and parses a
 * whole read at once (up to ~80 KB: hundreds of packets). Under a flood from
 * many devices, every device's next read then waited in the ingest gate:
 * 67,000 parsed messages and ~600 MB in the bench's flood of 1,000 devices.
 *
 * Here a device's socket is read only while the gate has room. Otherwise the
 * connection is parked: its bytes stay in the kernel's socket buffers, TCP
 * slows the device down, and nothing is dropped. When room frees, parked
 * connections read again in the order they were parked. What one read parses
 * goes into the gate synchronously (aedes calls authorizePublish in the same
 * tick), so the gate overshoots its limit by at most one read.
 */
import type { Duplex } from 'node:stream';

export class ReadThrottle {
  /** connections whose read was refused, in order (a Set keeps insertion order) */
  private readonly parked = new Set<Duplex>();
  private waking = false;

  constructor(private readonly hasRoom: () => boolean) {}

  /** Connections waiting for room. */
  get parkedCount(): number {
    return this.parked.size;
  }

  /**
   * Makes `conn.read` (aedes's only way to take bytes) refuse while there is no
   * room, for connections `applies()` says are throttled (devices, not the runtime).
   */
  throttle(conn: Duplex, applies: () => boolean): void {
    const read = conn.read.bind(conn);
    conn.read = ((size?: number) => {
      if (applies() && !this.hasRoom()) {
        this.parked.add(conn);
        return null;
      }
      return read(size);
    }) as Duplex['read'];
    conn.once('close', () => this.parked.delete(conn));
  }

  /** Room freed: parked connections read again, on their own tick (not inside the caller's). */
  wake(): void {
    if (this.waking || this.parked.size === 0) return;
    this.waking = true;
    setImmediate(() => {
      this.waking = false;
      for (const conn of this.parked) {
        if (!this.hasRoom()) return;
        this.parked.delete(conn);
        // aedes reads on 'readable' (client.js nextBatch); our read above lets it through now.
        if (!conn.destroyed) conn.emit('readable');
      }
    });
  }

  /** Forgets every parked connection (the broker is closing). */
  clear(): void {
    this.parked.clear();
  }
}
