/**
 * A cap on the size of one MQTT packet, checked on the fixed header before any
 * of the packet is buffered. aedes (0.46) has none: its parser keeps collecting
 * bytes until the packet its header announced is complete, so a client (logged
 * in or not: CONNECT is a packet too) could announce 256 MB and stream it into
 * the runtime's memory. Over the limit, the connection is closed.
 */
import { Duplex } from 'node:stream';

/** Far above any device message (the processor takes at most 256 KiB payloads), far below harm. */
export const MAX_PACKET_BYTES = 1024 * 1024;

/** What the wrapper buffers from its socket before pausing it: far below a read, so one read is the most it holds. */
const PARKED_BYTES = 1024;

/** Reads MQTT fixed headers across chunk boundaries and says when one announces too much. */
export class PacketSizeCheck {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxBytes: number) {}

  /** Undefined while the stream is fine; otherwise why it is not. */
  check(chunk: Buffer): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const skip = Math.min(this.remaining, chunk.length - i);
        i += skip;
        this.remaining -= skip;
        if (this.remaining === 0) this.state = 'type';
      } else if (this.state === 'type') {
        i++;
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
    return undefined;
  }
}

/**
 * `inner` with its incoming bytes checked: what aedes reads from. Back-pressure
 * passes through (the inner stream pauses while this one is full).
 */
export function limitPacketSize(inner: Duplex, maxBytes: number, refused: (why: string) => void): Duplex {
  const sizes = new PacketSizeCheck(maxBytes);
  const outer = new Duplex({
    // Hold at most what one socket read brought: while the broker does not read a device
    // (read-throttle.ts), what it sends waits in the kernel, not here. With the default
    // 16 KB, 1,000 parked devices kept ~45 MB of buffers in the runtime under a flood.
    readableHighWaterMark: PARKED_BYTES,
    read: () => inner.resume(),
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
    if (!outer.push(chunk)) inner.pause();
  });
  inner.on('end', () => outer.push(null));
  inner.on('error', (err) => outer.destroy(err));
  inner.on('close', () => outer.destroy());
  return outer;
}
