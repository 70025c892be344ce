/**
 * Where the broker listens: MQTT over TCP and MQTT over WebSocket, each bound to
 * one address (the role's PICAM_MQTT_BIND), never to every interface by accident.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { clientAddress, type TrustedProxies } from '../lib/client-address';
import type { Peer } from './access';
import { limitPacketSize, MAX_PACKET_BYTES } from './packet-limit';

export interface ListenOptions {
  host: string;
  /** MQTT over TCP; 0: the system picks a free port */
  port: number;
  /** MQTT over WebSocket; undefined: no WebSocket listener */
  wsPort?: number;
  /** proxies (the shipped nginx/Caddy) whose X-Forwarded-For names a WebSocket client's real address */
  trustedProxies: TrustedProxies;
  onConnection(conn: Duplex, peer: Peer): void;
  /** a connection closed for announcing a packet over MAX_PACKET_BYTES */
  onOversized(peer: Peer, why: string): void;
  /** a listener failed after it started (reported; never thrown into the runtime) */
  onError(err: Error): void;
}

export class Listeners {
  private readonly sockets = new Set<Socket>();
  private closing?: Promise<void>;

  private constructor(
    private readonly tcp: TcpServer,
    private readonly http?: HttpServer,
    private readonly wss?: WebSocketServer,
  ) {}

  static async start(opts: ListenOptions): Promise<Listeners> {
    // Every connection reaches aedes through the packet size check.
    const accept = (conn: Duplex, peer: Peer) =>
      opts.onConnection(
        limitPacketSize(conn, MAX_PACKET_BYTES, (why) => opts.onOversized(peer, why)),
        peer,
      );
    const tcp = createTcpServer((socket) => accept(socket, { transport: 'tcp', address: socket.remoteAddress ?? '' }));
    let http: HttpServer | undefined;
    let wss: WebSocketServer | undefined;
    if (opts.wsPort !== undefined) {
      http = createHttpServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n'));
      // A WebSocket message carries one MQTT packet (or a few): ws's own 100 MiB default is far too much.
      wss = new WebSocketServer({ server: http, maxPayload: 2 * MAX_PACKET_BYTES });
      // ws re-emits the HTTP server's errors; those are reported by the server's own handlers below.
      wss.on('error', () => undefined);
      wss.on('connection', (ws, req) => {
        const stream = createWebSocketStream(ws);
        // Behind the proxy every WebSocket comes from loopback: the login limiter must
        // key on the real client, or one guesser locks everybody out.
        accept(stream, { transport: 'ws', address: clientAddress(req, opts.trustedProxies) });
      });
    }
    const listeners = new Listeners(tcp, http, wss);
    tcp.on('connection', (s: Socket) => listeners.track(s));
    http?.on('connection', (s: Socket) => listeners.track(s));
    try {
      await listen(tcp, opts.port, opts.host);
      tcp.on('error', opts.onError);
      if (http) {
        await listen(http, opts.wsPort!, opts.host);
        http.on('error', opts.onError);
      }
    } catch (err) {
      await listeners.close();
      throw err;
    }
    return listeners;
  }

  /** "127.0.0.1:1883" and "ws://127.0.0.1:9001": what the status shows and tests check. */
  addresses(): { tcp?: AddressInfo; ws?: AddressInfo } {
    return { tcp: addressOf(this.tcp), ws: this.http && addressOf(this.http) };
  }

  /** Stops listening and ends every connection, so the ports are free for the next deploy; safe twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = [closeServer(this.tcp)];
      if (this.http) closed.push(closeServer(this.http));
      for (const ws of this.wss?.clients ?? []) ws.terminate();
      this.wss?.close();
      for (const s of this.sockets) s.destroy();
      await Promise.all(closed);
    })();
    return this.closing;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}

function listen(server: TcpServer | HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

function closeServer(server: TcpServer | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

function addressOf(server: TcpServer | HttpServer): AddressInfo | undefined {
  const a = server.address();
  return a && typeof a === 'object' ? a : undefined;
}
