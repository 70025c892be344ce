/**
 * UDP port pairs for the camera-facing side of the live bridge (issue 17):
 * RTP on an even port, RTCP on the next one (RFC 3550 §11, no rtcp-mux: a
 * VBC01 offers separate RTP and RTCP ports), taken from the configured range
 * (seed 5000–5050, the range the firewall opens) and given back on release.
 *
 * A port another process holds is skipped, not fatal; when no pair is left
 * the error says which range is exhausted and how many pairs this bridge holds.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface PortPair {
  /** the even port (RTP); RTCP is `rtp + 1` */
  rtp: number;
  rtpSocket: Socket;
  rtcpSocket: Socket;
}

export class PortRangeExhaustedError extends Error {
  constructor(min: number, max: number, held: number) {
    super(`no free UDP port pair left in ${min}-${max} (this bridge holds ${held} pair(s); widen the range or close a stream)`);
    this.name = 'PortRangeExhaustedError';
  }
}

export class PortAllocator {
  private readonly held = new Map<number, PortPair>();

  constructor(
    readonly min: number,
    readonly max: number,
    private readonly bindAddress = '0.0.0.0',
  ) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || max - min < 1) {
      throw new Error(`bad UDP port range ${min}-${max}: two ports at least, within 1-65535`);
    }
  }

  /** Binds the next free even/odd pair in the range. */
  async take(): Promise<PortPair> {
    for (let port = this.min + (this.min % 2); port + 1 <= this.max; port += 2) {
      if (this.held.has(port)) continue;
      const pair = await this.bindPair(port);
      if (!pair) continue; // another process has it
      this.held.set(port, pair);
      return pair;
    }
    throw new PortRangeExhaustedError(this.min, this.max, this.held.size);
  }

  /** Closes both sockets of the pair; safe to call twice. */
  async release(pair: PortPair): Promise<void> {
    if (this.held.get(pair.rtp) !== pair) return;
    this.held.delete(pair.rtp);
    await Promise.all([closeSocket(pair.rtpSocket), closeSocket(pair.rtcpSocket)]);
  }

  get pairsHeld(): number {
    return this.held.size;
  }

  private async bindPair(port: number): Promise<PortPair | undefined> {
    const rtpSocket = await bindSocket(port, this.bindAddress);
    if (!rtpSocket) return undefined;
    const rtcpSocket = await bindSocket(port + 1, this.bindAddress);
    if (!rtcpSocket) {
      await closeSocket(rtpSocket);
      return undefined;
    }
    return { rtp: port, rtpSocket, rtcpSocket };
  }
}

/**
 * The receive buffer asked for: a camera's 2-4 Mbit/s fills the kernel's default (208 KiB) in
 * under a second, and a runtime busy for that long (a garbage collection, a loaded machine)
 * lost a fifth of the packets, and with them every keyframe a viewer waited for. 4 MiB holds
 * about 8 s at 4 Mbit/s; the kernel grants at most twice net.core.rmem_max (docs/live-video.md).
 */
export const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** A bound socket, or undefined when the port is taken (any other error is thrown). */
function bindSocket(port: number, address: string): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: false, recvBufferSize: RECEIVE_BUFFER_BYTES });
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.close();
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(undefined);
      else reject(err);
    };
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch (err) {
      // already closed (ERR_SOCKET_DGRAM_NOT_RUNNING): nothing left to release
      if ((err as NodeJS.ErrnoException).code === 'ERR_SOCKET_DGRAM_NOT_RUNNING') resolve();
      else throw err;
    }
  });
}
