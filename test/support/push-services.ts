/**
 * Local stand-ins for the push services alert nodes talk to (ntfy, Pushover, a Web Push
 * service): one HTTP server on 127.0.0.1 that records each request with its raw body and
 * answers as it is told (200 by default; a script of answers for failures and retries).
 * The tests read the requests against each service's documented request shape.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PushRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface PushAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export class PushService {
  readonly requests: PushRequest[] = [];
  private readonly script: PushAnswer[] = [];
  private server?: Server;
  port = 0;

  static async start(): Promise<PushService> {
    const s = new PushService();
    await s.listen(0);
    return s;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next requests get these answers, in order. */
  answerNext(...answers: PushAnswer[]): void {
    this.script.push(...answers);
  }

  /** Listens on `port` (0: a random one; the same one again after `stop()`). */
  listen(port = this.port): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const answer = this.script.shift() ?? { status: 200 };
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '{"status":1}');
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Closes the port: connections are refused until `listen()` again. */
  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/** Bytes that stand in for a JPEG (SOI, JFIF header, EOI): the nodes only move them. */
export const jpeg = (seed: number) => Buffer.from([0xff, 0xd8, 0xff, 0xe0, seed, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0xff, 0xd9]);
