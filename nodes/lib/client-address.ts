/**
 * Who is asking: the one place that decides a request's client address, for
 * every failure limiter (logins, API tokens, the live feed, the editor, the
 * camera gateway) and every log line about a client.
 *
 * Behind a reverse proxy every request arrives from the proxy's address, so a
 * limiter keyed on the socket would lock every client out at once. The proxy
 * says who its client was in `X-Forwarded-For`, but anyone can send that
 * header: it is believed only when the socket peer is a trusted proxy
 * (PICAM_TRUSTED_PROXIES, read in cli/runtime/roles.ts). The chain is walked from the
 * right, skipping hops that are themselves trusted proxies; the first hop that
 * is not is the client. Entries left of it were written by the client and are
 * never believed.
 *
 * Default: loopback only (127.0.0.0/8 and ::1), which is the shipped nginx and
 * Caddy configurations on the same host. `none` trusts nobody.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

export const DEFAULT_TRUSTED_PROXIES = 'loopback';

/** Headers a proxy adds: a request carrying any of them has been relayed, whatever its socket says. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

export class TrustedProxies {
  private readonly list = new BlockList();

  constructor(
    /** the entries as given, for messages */
    readonly entries: readonly string[],
  ) {
    for (const entry of entries) addEntry(this.list, entry);
  }

  has(address: string): boolean {
    const ip = normalizeAddress(address);
    const family = isIP(ip);
    if (family === 0) return false;
    return this.list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  }
}

function addEntry(list: BlockList, entry: string): void {
  if (entry === 'loopback') {
    list.addSubnet('127.0.0.0', 8, 'ipv4');
    list.addAddress('::1', 'ipv6');
    return;
  }
  const [address, bits] = entry.split('/') as [string, string | undefined];
  const family = isIP(address);
  if (family === 0) throw new Error(`"${entry}" is not an IP address or CIDR block`);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) return list.addAddress(address, type);
  const prefix = Number(bits);
  if (!/^\d{1,3}$/.test(bits) || prefix > (family === 6 ? 128 : 32)) throw new Error(`"${entry}" has an impossible prefix length`);
  list.addSubnet(address, prefix, type);
}

/**
 * PICAM_TRUSTED_PROXIES: comma-separated addresses and CIDR blocks, `loopback`
 * for 127.0.0.0/8 and ::1, or `none`. Unset or empty: loopback. Throws with a
 * message naming the bad entry.
 */
export function parseTrustedProxies(raw: string | undefined): TrustedProxies {
  const entries = (raw?.trim() ? raw : DEFAULT_TRUSTED_PROXIES)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 1 && entries[0] === 'none') return new TrustedProxies([]);
  try {
    return new TrustedProxies(entries);
  } catch (err) {
    throw new Error(`PICAM_TRUSTED_PROXIES: ${(err as Error).message} (expected addresses, CIDR blocks, "loopback" or "none")`);
  }
}

/** `::ffff:10.0.0.1` → `10.0.0.1`; `[::1]:80` → `::1`; `10.0.0.1:80` → `10.0.0.1`; anything else as given. */
export function normalizeAddress(address: string): string {
  let a = address.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(':'));
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return mapped ? mapped[1]! : a;
}

function forwardedChain(header: string | string[] | undefined): string[] {
  const all = Array.isArray(header) ? header.join(',') : (header ?? '');
  return all
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The address a request really comes from, as far as the trusted proxies vouch for it. */
export function clientAddress(req: IncomingMessage, trusted: TrustedProxies): string {
  const peer = normalizeAddress(req.socket.remoteAddress ?? '');
  if (!trusted.has(peer)) return peer || 'unknown';
  const chain = forwardedChain(req.headers['x-forwarded-for']);
  let client = peer;
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(chain[i]!);
    // Not an address: a trusted proxy never writes that, so it and all left of it are the client's words.
    if (isIP(hop) === 0) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

export function isLoopbackAddress(address: string | undefined): boolean {
  const a = normalizeAddress(address ?? '');
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}

/**
 * A request from a process on this machine, not relayed: the socket is
 * loopback and no proxy header is present. Local-only hooks (MediaMTX's auth)
 * answer nothing else, so a proxy on this host that forwards them by mistake
 * still cannot reach them.
 */
export function isLocalRequest(req: IncomingMessage): boolean {
  if (!isLoopbackAddress(req.socket.remoteAddress)) return false;
  return PROXY_HEADERS.every((h) => req.headers[h] === undefined);
}

/**
 * For nodes: the runtime puts PICAM_TRUSTED_PROXIES into Node-RED's settings
 * (`picamTrustedProxies`, cli/runtime/roles.ts). Elsewhere, or when unreadable: loopback.
 */
export function trustedProxiesFromSettings(settings: unknown, warn: (message: string) => void): TrustedProxies {
  const raw = (settings as { picamTrustedProxies?: unknown } | undefined)?.picamTrustedProxies;
  try {
    return parseTrustedProxies(typeof raw === 'string' ? raw : undefined);
  } catch (err) {
    warn(`${(err as Error).message}; trusting loopback proxies only`);
    return parseTrustedProxies(undefined);
  }
}
