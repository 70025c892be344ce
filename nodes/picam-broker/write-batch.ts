/**
 * One socket write per connection per event-loop turn. With the PUBACK held
 * until the COMMIT, a committed batch settles a device's messages one by one
 * (each on its own setImmediate, nodes/lib/ingest/ingest-gate.ts), and every PUBACK became its own
 * 4-byte socket write: on loopback a write also runs the receiver's TCP path,
 * and the writes took 14 % of the runtime's CPU in the ingest bench. Acknowledging
 * on arrival never paid this: a read's PUBACKs were written in one synchronous
 * run, inside mqtt-packet's cork.
 *
 * Here the stream is corked at the first write of a turn and uncorked on the
 * next turn's check phase, so everything aedes wrote to that connection in
 * between (a batch's PUBACKs, deliveries) leaves in one writev. Order is kept,
 * nothing waits longer than one turn, and what is held is what aedes already
 * wrote (a few bytes per packet): no unbounded buffer. A write's callback still
 * runs after the bytes reached the socket.
 */
import type { Duplex } from 'node:stream';

/** connections corked this turn; one shared setImmediate uncorks them all (not one timer per connection) */
let held = new Set<Duplex>();

function releaseAll(): void {
  const corked = held;
  held = new Set();
  for (const conn of corked) conn.uncork();
}

export function writeOncePerTurn(conn: Duplex): void {
  const write = conn.write.bind(conn) as (...args: unknown[]) => boolean;
  conn.write = ((...args: unknown[]) => {
    if (!held.has(conn) && !conn.destroyed) {
      if (held.size === 0) setImmediate(releaseAll);
      held.add(conn);
      conn.cork();
    }
    return write(...args);
  }) as Duplex['write'];
}
