/**
 * werift's UDP transport picks a port of `icePortRange` by binding and closing each candidate,
 * then binds the one it found again, with no listener for that bind's error. Another program
 * taking the port in between (a few microseconds, but a busy server has many binders) made
 * the bind's 'error' event an uncaught exception: the whole runtime died for one viewer.
 *
 * Installed once for the process: a transport's start now fails with the bind's error, which
 * the viewer's answer turns into a refusal of that one viewer (503: they may try again).
 */
import type { Socket } from 'node:dgram';
import { UdpTransport } from 'werift';

interface TransportInternals {
  socket: Socket;
  init(): Promise<void>;
}

/** The viewer's port could not be bound: the server's condition, not a bad offer (503, try again). */
export class ViewerPortError extends Error {
  constructor(cause: Error) {
    super(`no UDP port for the viewer: ${cause.message}`);
    this.name = 'ViewerPortError';
  }
}

let installed = false;

export function guardUdpBinds(): void {
  if (installed) return;
  installed = true;
  const proto = UdpTransport.prototype as unknown as TransportInternals;
  const start = proto.init;
  proto.init = function (this: TransportInternals): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const failed = (err: Error) => reject(new ViewerPortError(err));
      this.socket.once('error', failed);
      start.call(this).then(() => {
        this.socket.off('error', failed);
        resolve();
      }, reject);
    });
  };
}
