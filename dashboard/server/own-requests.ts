/**
 * A GET to the runtime's own HTTP server without the network: the request travels over a pair
 * of in-memory streams handed to the server as a connection, so it meets everything a browser's
 * request meets (the proxy rules, the login guard, the role, the routes' own checks), from the
 * client address given. Used to write a page's answers into it (first-view-page.ts).
 */
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';

export interface OwnAnswer {
  status: number;
  body: string;
}

/** Larger answers are not what a page's first view needs: the page asks for itself. */
const MAX_ANSWER_BYTES = 4 * 2 ** 20;

/**
 * GET `path` with `headers`, as if sent over the connection `like` (its client address, whether it
 * is TLS); rejects with the reason when there is no whole answer within `timeoutMs`.
 */
export function askOwnServer(
  server: Server | HttpsServer,
  path: string,
  headers: IncomingHttpHeaders,
  like: Socket,
  timeoutMs: number,
): Promise<OwnAnswer> {
  const [serverSide, clientSide] = streamPair();
  // What the server reads of a connection's peer: clientAddress(), req.ip, and whether it came over TLS.
  Object.assign(serverSide, { remoteAddress: like.remoteAddress, remotePort: like.remotePort, encrypted: (like as TLSSocket).encrypted });
  // An HTTPS server speaks HTTP on its connections once TLS is done: this one is past that already.
  server.emit(server instanceof TlsServer ? 'secureConnection' : 'connection', serverSide);
  return new Promise((resolve, reject) => {
    const req = request({ path, headers: { ...headers, connection: 'close' }, createConnection: () => clientSide }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= MAX_ANSWER_BYTES) return void chunks.push(chunk);
        reject(new Error(`${path} answered more than ${MAX_ANSWER_BYTES} bytes`));
        req.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // A timer of our own: the in-memory connection has no socket timeouts.
    const timer = setTimeout(() => req.destroy(new Error(`${path} did not answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', reject);
    req.on('close', () => {
      clearTimeout(timer);
      clientSide.destroy();
      serverSide.destroy();
    });
    req.end();
  });
}

/** Two connected streams: what one writes, the other reads. */
function streamPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        other().push(chunk);
        done();
      },
      final(done) {
        other().push(null);
        done();
      },
    });
  ends.push(
    end(() => ends[1]!),
    end(() => ends[0]!),
  );
  return [ends[0]!, ends[1]!];
}
