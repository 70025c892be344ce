/**
 * A socket that stops reading when told, at once. A paused net.Socket still
 * reads ahead: its libuv handle keeps reading until the stream's buffer is full
 * (only sockets created with `onread` stop it), so a device the broker does not
 * read for now left one more read (up to 64 KB) in the runtime's memory. Under
 * a flood from 1,000 devices that was ~60 MB. Here the handle itself stops, and
 * what the device sends meanwhile waits in the kernel.
 */
import type { Duplex } from 'node:stream';

/** The libuv handle under a net.Socket or TLSSocket; other streams (a WebSocket's) have none. */
interface ReadHandle {
  reading?: boolean;
  readStart(): number;
  readStop(): number;
}

export class SocketReads {
  private stopped = false;

  constructor(private readonly socket: Duplex) {}

  /** Nothing more is read from the socket until `next()`. */
  hold(): void {
    this.socket.pause();
    const handle = this.handle();
    if (!handle?.reading || this.stopped) return;
    // `reading` stays set: net.Socket's own read-ahead (its _read) then sees a read under way
    // and leaves the handle stopped, and next() knows to start it again.
    handle.readStop();
    this.stopped = true;
  }

  /** One more read, when the device has sent something. */
  next(): void {
    if (this.stopped) {
      this.stopped = false;
      this.handle()?.readStart();
    }
    this.socket.resume();
  }

  private handle(): ReadHandle | undefined {
    if (this.socket.destroyed) return undefined;
    const handle = (this.socket as Duplex & { _handle?: Partial<ReadHandle> | null })._handle;
    return typeof handle?.readStop === 'function' && typeof handle.readStart === 'function' ? (handle as ReadHandle) : undefined;
  }
}
