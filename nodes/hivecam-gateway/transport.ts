/**
 * How the gateway listens: HTTPS the way VBC01 firmware calls its config server
 * (vbc01-protocol.md §3: TLS wraps the socket on port 80, TLS 1.2, a server
 * certificate from our CA naming the address the camera dialled, no client
 * certificate asked), or plain HTTP behind a reverse proxy that does the TLS.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import { isAbsolute, join } from 'node:path';
import { CERT_FILE_NAMES } from '../lib/cert-files';

export interface TransportSettings {
  https: boolean;
  /** PEM files; empty: config-server.crt / .key in the certificates folder */
  certFile: string;
  keyFile: string;
  certDir: string;
}

/**
 * TLS 1.2 only, as the real platform serves it (commit a27cd5e capped it for
 * "old camera curl"): the firmware's curl is known to work with 1.2, and a
 * client offering 1.3 as well still agrees on 1.2.
 */
export const CAMERA_TLS_VERSIONS = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;

export class TransportError extends Error {
  override readonly name = 'TransportError';
}

/** The certificate and key files the HTTPS server uses. */
export function tlsFilePaths(s: TransportSettings): { cert: string; key: string } {
  const inDir = (p: string, fallback: string) => (p ? (isAbsolute(p) ? p : join(s.certDir, p)) : join(s.certDir, fallback));
  return { cert: inDir(s.certFile, CERT_FILE_NAMES.configServerCert), key: inDir(s.keyFile, CERT_FILE_NAMES.configServerKey) };
}

function tlsOptions(s: TransportSettings): ServerOptions {
  const paths = tlsFilePaths(s);
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new TransportError(
        code === 'ENOENT'
          ? `${path} does not exist: make it with "picam-guardian certs --config-host <address cameras dial>" (or turn HTTPS off behind a proxy)`
          : `cannot read ${path}: ${code ?? (err as Error).message}`,
      );
    }
  };
  return { cert: read(paths.cert), key: read(paths.key), ...CAMERA_TLS_VERSIONS };
}

/** An HTTP or HTTPS server for the handler; throws TransportError when the TLS files are missing or broken. */
export function cameraServer(s: TransportSettings, handler: RequestListener): Server {
  if (!s.https) return createHttpServer(handler);
  try {
    return createHttpsServer(tlsOptions(s), handler);
  } catch (err) {
    if (err instanceof TransportError) throw err;
    throw new TransportError(`the config server certificate or key is not usable: ${(err as Error).message}`);
  }
}
