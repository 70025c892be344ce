/**
 * The base URL a camera reached the gateway at, for the presign answer's
 * upload URL (vbc01-protocol.md §3.3): the camera PUTs to exactly that URL, so
 * it must be the scheme, name and port the camera dialled.
 *
 * In order:
 *  1. behind a reverse proxy that terminates TLS, the gateway sees plain HTTP
 *     from the proxy: `X-Forwarded-Proto` and `X-Forwarded-Host` say what the
 *     camera dialled. Anyone can send those headers, so they are believed only
 *     when the socket peer is a trusted proxy (PICAM_TRUSTED_PROXIES, the same
 *     list that vouches for X-Forwarded-For in client-address.ts);
 *  2. the gateway's configured public URL (PICAM_GATEWAY_PUBLIC_URL), the one
 *     the config answer gives cameras;
 *  3. this connection: its scheme and the Host the camera sent.
 * A host that is not a host name or address with an optional port (a header
 * someone wrote to put a path, a user or a script into the URL), a list of
 * hosts or a scheme other than http(s) is never used: the next source answers
 * instead, down to the socket's own address.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TrustedProxies } from '../lib/client-address';

export interface PublicBaseSettings {
  trustedProxies: TrustedProxies;
  /** `https://host[:port]` without a trailing slash, or '' for none */
  configured: string;
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** `name[:port]`, `1.2.3.4[:port]` or `[v6][:port]`, the port 1-65535; anything else false. */
export function isHostHeader(value: string): boolean {
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return false;
  const [, host, port] = m as unknown as [string, string, string | undefined];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  if (host.startsWith('[')) return isIP(host.slice(1, -1)) === 6;
  return HOST_NAME.test(host);
}

/** A header's one value; '' when sent as a list or more than once (a list is not one host or scheme); undefined when absent. */
function single(req: IncomingMessage, name: string): string | undefined {
  const raw = req.headers[name];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? '' : raw.trim();
  return value.includes(',') ? '' : value;
}

/**
 * What a trusted proxy says the camera dialled; undefined when the peer is no
 * trusted proxy, sends neither header, or sends one we cannot use (then none
 * of its words are taken: a half-believed answer would be a wrong URL).
 */
function forwardedBase(req: IncomingMessage, trusted: TrustedProxies, socketScheme: string): string | undefined {
  if (!trusted.has(req.socket.remoteAddress ?? '')) return undefined;
  const proto = single(req, 'x-forwarded-proto')?.toLowerCase();
  const host = single(req, 'x-forwarded-host');
  if (proto === undefined && host === undefined) return undefined;
  if (proto !== undefined && proto !== 'http' && proto !== 'https') return undefined;
  if (host !== undefined && !isHostHeader(host)) return undefined;
  // One header alone: the other part as the proxy received the request.
  const chosenHost = host ?? (req.headers.host && isHostHeader(req.headers.host) ? req.headers.host : undefined);
  return chosenHost ? `${proto ?? socketScheme}://${chosenHost}` : undefined;
}

export function publicBaseOf(req: IncomingMessage, settings: PublicBaseSettings): string {
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const forwarded = forwardedBase(req, settings.trustedProxies, scheme);
  if (forwarded) return forwarded;
  if (settings.configured) return settings.configured;
  const host = req.headers.host;
  if (host && isHostHeader(host)) return `${scheme}://${host}`;
  const local = req.socket.localAddress ?? '127.0.0.1';
  return `${scheme}://${local.includes(':') ? `[${local}]` : local}:${req.socket.localPort}`;
}
