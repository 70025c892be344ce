/**
 * Routes that must never be reachable from the network (MediaMTX's auth hook,
 * `POST /mediamtx/auth`) live on a listener of their own, bound to 127.0.0.1
 * on PICAM_INTERNAL_PORT (1881), which no shipped proxy configuration points to.
 *
 * Why not a loopback check on the public port: a reverse proxy on the same
 * host makes every internet client a loopback caller, and proxies and express
 * disagree on what matches a path (nginx `location` is case-sensitive, express
 * routes were not), so "the proxy blocks it" held for one spelling only.
 * The public app therefore also refuses these paths in any spelling
 * (`refuseLocalOnlyPaths`), and the hooks answer only unrelayed loopback
 * callers (nodes/lib/client-address.ts isLocalRequest).
 */
import { createServer, type Server } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { requestErrorHandler } from './http-errors';

/** Path prefixes served only on the internal listener. */
const LOCAL_ONLY = /^\/+mediamtx(?:\/|$)/;

/** `/MEDIAMTX//auth/`, `/%6Dediamtx/auth`, `/mediamtx%2Fauth`: what any router or proxy might take for /mediamtx/... */
function looksLocalOnly(rawPath: string): boolean {
  let path = rawPath;
  for (let i = 0; i < 3; i++) {
    try {
      const decoded = decodeURIComponent(path);
      if (decoded === path) break;
      path = decoded;
    } catch {
      break; // undecodable: judged as it stands
    }
  }
  return LOCAL_ONLY.test(path.replace(/\\/g, '/').toLowerCase());
}

/** First on the public app: local-only paths do not exist there, whatever their spelling. */
export function refuseLocalOnlyPaths(req: Request, res: Response, next: NextFunction): void {
  const rawPath = (req.originalUrl || req.url).split('?')[0]!;
  if (!looksLocalOnly(rawPath)) return next();
  res.status(404).json({ error: 'not found' });
}

export interface InternalServer {
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:port (0: the OS picks) with the routes `mount` adds. */
export async function startInternalServer(
  port: number,
  mount: (app: Express) => void,
  log: { warn(message: string): void },
): Promise<InternalServer> {
  const app = express();
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  mount(app);
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  app.use(requestErrorHandler(log));
  const server: Server = createServer(app);
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: Error) => fail(new Error(`the internal listener (PICAM_INTERNAL_PORT ${port}): ${err.message}`)));
    server.listen(port, '127.0.0.1', () => ok());
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
