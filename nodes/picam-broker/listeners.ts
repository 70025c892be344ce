/**
 * Where the broker listens: MQTT over TCP, MQTT over WebSocket and, for VBC01
 * cameras, MQTT over mutual TLS (a client certificate from our CA is required:
 * the TLS handshake refuses any other), each bound to one address (the role's
 * PICAM_MQTT_BIND), never to every interface by accident.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { clientAddress, type TrustedProxies } from '../lib/client-address';
import type { Peer, PeerCertificate } from './access';
import { limitPacketSize, MAX_PACKET_BYTES } from './packet-limit';

export interface ListenOptions {
  host: string;
  /** MQTT over TCP; 0: the system picks a free port */
  port: number;
  /** MQTT over WebSocket; undefined: no WebSocket listener */
  wsPort?: number;
  /** MQTT over mutual TLS for cameras; undefined: no such listener */
  tls?: CameraTlsOptions;
  /** proxies (the shipped nginx/Caddy) whose X-Forwarded-For names a WebSocket client's real address */
  trustedProxies: TrustedProxies;
  onConnection(conn: Duplex, peer: Peer): void;
  /** a connection closed for announcing a packet over MAX_PACKET_BYTES */
  onOversized(peer: Peer, why: string): void;
  /** a listener failed after it started (reported; never thrown into the runtime) */
  onError(err: Error): void;
}

export interface CameraTlsOptions {
  port: number;
  /** PEM: our CA (client certificates must chain to it), the broker's certificate and key */
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** a handshake that failed (no certificate, another CA's): reported, the socket is closed by TLS */
  onHandshakeError(address: string, err: Error): void;
}

/**
 * TLS 1.2 and 1.3 (the camera uses 1.2, as with the real platform's EMQX);
 * a client certificate is required and must chain to our CA.
 */
function cameraTlsServer(o: CameraTlsOptions, accept: (socket: TLSSocket) => void): TlsServer {
  const server = createTlsServer(
    { ca: o.ca, cert: o.cert, key: o.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    accept,
  );
  server.on('tlsClientError', (err, socket) => o.onHandshakeError(socket.remoteAddress ?? '', err));
  return server;
}

/** The client certificate TLS verified: its CN (the camera id in per-camera mode) and serial. */
function peerCertificate(socket: TLSSocket): PeerCertificate | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.serialNumber) return undefined;
  const cn = cert.subject?.CN;
  // A subject may repeat CN; Node then gives an array, which no certificate of ours has.
  return { cn: typeof cn === 'string' ? cn : '', serial: cert.serialNumber };
}

export class Listeners {
  private readonly sockets = new Set<Socket>();
  private closing?: Promise<void>;

  private constructor(
    private readonly tcp: TcpServer,
    private readonly http?: HttpServer,
    private readonly wss?: WebSocketServer,
    private readonly tls?: TlsServer,
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
    const tls =
      opts.tls &&
      cameraTlsServer(opts.tls, (socket) =>
        accept(socket, { transport: 'tls', address: socket.remoteAddress ?? '', certificate: peerCertificate(socket) }),
      );
    const listeners = new Listeners(tcp, http, wss, tls);
    tcp.on('connection', (s: Socket) => listeners.track(s));
    http?.on('connection', (s: Socket) => listeners.track(s));
    tls?.on('connection', (s: Socket) => listeners.track(s));
    try {
      await listen(tcp, opts.port, opts.host);
      tcp.on('error', opts.onError);
      if (http) {
        await listen(http, opts.wsPort!, opts.host);
        http.on('error', opts.onError);
      }
      if (tls) {
        await listen(tls, opts.tls!.port, opts.host);
        tls.on('error', opts.onError);
      }
    } catch (err) {
      await listeners.close();
      throw err;
    }
    return listeners;
  }

  /** "127.0.0.1:1883" and "ws://127.0.0.1:9001": what the status shows and tests check. */
  addresses(): { tcp?: AddressInfo; ws?: AddressInfo; tls?: AddressInfo } {
    return { tcp: addressOf(this.tcp), ws: this.http && addressOf(this.http), tls: this.tls && addressOf(this.tls) };
  }

  /** Stops listening and ends every connection, so the ports are free for the next deploy; safe twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = [closeServer(this.tcp)];
      if (this.http) closed.push(closeServer(this.http));
      if (this.tls) closed.push(closeServer(this.tls));
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

/**
 * Connections the kernel queues before the broker accepts them. Node's default, 511, made a
 * reconnect storm of 1,000 devices overflow the queue: the kernel drops the SYNs and each
 * device retries after 1, 3, 7 s (bench/fleet.ts saw CONNACKs 4 s late, with the runtime's CPU
 * mostly idle). Linux caps this at net.core.somaxconn (4096 by default since 5.4).
 */
export const LISTEN_BACKLOG = 8192;

function listen(server: TcpServer | HttpServer | TlsServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
    server.once('error', failed);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

function closeServer(server: TcpServer | HttpServer | TlsServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

function addressOf(server: TcpServer | HttpServer | TlsServer): AddressInfo | undefined {
  const a = server.address();
  return a && typeof a === 'object' ? a : undefined;
}
