/**
 * A cap on the size of one MQTT packet, checked on the fixed header before any
 * of the packet is buffered. aedes (0.46) has none: its parser keeps collecting
 * bytes until the packet its header announced is complete, so a client (logged
 * in or not: CONNECT is a packet too) could announce 256 MB and stream it into
 * the runtime's memory. Over the limit, the connection is closed.
 */
import { Duplex } from 'node:stream';
import { SocketReads } from './socket-reads';

/** Far above any device message (the processor takes at most 256 KiB payloads), far below harm. */
export const MAX_PACKET_BYTES = 1024 * 1024;

/**
 * What the wrapper gathers from its socket before it stops reading it: small reads of a
 * chatty device are parsed together. A large read stops it at once, so a device the broker
 * does not read holds one read at most, and read-throttle.ts bounds how many do.
 */
const READ_AHEAD = 1024;

/** Reads MQTT fixed headers across chunk boundaries and says when one announces too much. */
export class PacketSizeCheck {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;
  /** Bytes at the end of the last chunk checked that begin a packet not yet complete. */
  unfinished = 0;

  constructor(private readonly maxBytes: number) {}

  /** Undefined while the stream is fine; otherwise why it is not. */
  check(chunk: Buffer): string | undefined {
    let i = 0;
    let packetStart = 0; // a packet under way when the chunk began started before it
    while (i < chunk.length) {
      if (this.state === 'body') {
        const skip = Math.min(this.remaining, chunk.length - i);
        i += skip;
        this.remaining -= skip;
        if (this.remaining === 0) this.state = 'type';
      } else if (this.state === 'type') {
        packetStart = i++;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else {
        const byte = chunk[i++]!;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (byte & 0x80) {
          if (this.lengthBytes === 4) return 'malformed packet length';
          continue;
        }
        if (this.length > this.maxBytes) return `a packet of ${this.length} bytes (at most ${this.maxBytes})`;
        this.remaining = this.length;
        this.state = this.remaining > 0 ? 'body' : 'type';
      }
    }
    this.unfinished = this.state === 'type' ? 0 : chunk.length - packetStart;
    return undefined;
  }
}

/**
 * `inner` with its incoming bytes checked: what aedes reads from. The socket
 * stops (socket-reads.ts) once a read or two are waiting for aedes, and reads
 * again once aedes has taken them and the broker lets it (read-throttle.ts):
 * while the broker does not read a device, what it sends waits in the kernel,
 * not here.
 */
export function limitPacketSize(inner: Duplex, maxBytes: number, refused: (why: string) => void): Duplex {
  const sizes = new PacketSizeCheck(maxBytes);
  const reads = new SocketReads(inner);
  /** The unfinished packet a read ended with, copied, for the parser after the rest of that read. */
  let carried: Buffer | undefined;
  const outer = new Duplex({
    readableHighWaterMark: READ_AHEAD,
    read: () => {
      if (!carried) return reads.next();
      const next = carried;
      carried = undefined;
      // Not inside read(): it would join the whole packets it follows (a copy of the read).
      process.nextTick(() => outer.push(next));
    },
    write: (chunk: Buffer, encoding, callback) => inner.write(chunk, encoding, callback),
    // mqtt-packet corks the stream around each packet's pieces: one write to the socket, not four.
    writev: (chunks, callback) => inner.write(Buffer.concat(chunks.map((c) => c.chunk as Buffer)), callback),
    final: (callback) => inner.end(callback),
    destroy: (err, callback) => {
      inner.destroy(err ?? undefined);
      callback(err);
    },
  });
  inner.on('data', (chunk: Buffer) => {
    const why = sizes.check(chunk);
    if (why) {
      refused(why);
      outer.destroy();
      return;
    }
    // aedes's parser keeps the bytes of an unfinished packet as a view of the read they came
    // in, and a view keeps its whole read (up to 64 KB) alive: one per device waiting for room
    // under a flood. A copy of those bytes frees the read once its packets are done.
    const whole = chunk.length - sizes.unfinished;
    if (whole > 0 && sizes.unfinished > 0) carried = Buffer.from(chunk.subarray(whole));
    const piece = carried ? chunk.subarray(0, whole) : chunk;
    // Small reads gather up to the high-water mark, so aedes parses several at once. The
    // socket stops first: a consumer reading inside push() asks for the next read.
    if (carried || outer.readableLength + piece.length >= READ_AHEAD) reads.hold();
    outer.push(piece);
  });
  inner.on('end', () => {
    if (carried) outer.push(carried);
    outer.push(null);
  });
  inner.on('error', (err) => outer.destroy(err));
  inner.on('close', () => outer.destroy());
  return outer;
}
