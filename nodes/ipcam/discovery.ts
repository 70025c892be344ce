/**
 * WS-Discovery (ONVIF's way to find cameras): one SOAP Probe over UDP to the
 * multicast group 239.255.255.250:3702 for NetworkVideoTransmitter devices,
 * then the ProbeMatches that come back for a few seconds.
 *
 * Multicast with TTL 1 reaches only the LAN segment this runtime is on: the
 * cloud runtime finds nothing on a home LAN (run discovery on the Pi, or give
 * the camera's address). Replies are untrusted: each is bounded in size, XML
 * with a DOCTYPE or entity is dropped (no entity expansion), and anything that
 * is not a ProbeMatch for our probe is ignored.
 */
import type { DiscoveredCamera } from '../lib/contract/ip-cameras';
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { texts } from './onvif';

export const WS_DISCOVERY_GROUP = { host: '239.255.255.250', port: 3702 };

/** A reply larger than this is not a camera's ProbeMatches. */
export const MAX_REPLY_BYTES = 32 * 1024;
/** At most this many cameras are listed (memory stays bounded on a busy LAN). */
export type { DiscoveredCamera };

export const MAX_CAMERAS = 64;

export interface DiscoveryOptions {
  /** how long to collect replies (default 3 s) */
  durationMs?: number;
  /** where the probe goes; the multicast group unless a test sends to a loopback responder */
  destination?: { host: string; port: number };
}

export function probeMessage(messageId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"' +
    ' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"' +
    ' xmlns:tds="http://www.onvif.org/ver10/device/wsdl">' +
    `<s:Header><a:MessageID>${messageId}</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>` +
    '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>' +
    '<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types></d:Probe></s:Body></s:Envelope>'
  );
}

/** `onvif://www.onvif.org/name/Front%20Door` → "Front Door" for key "name". */
function scope(scopes: string[], key: string): string | undefined {
  const prefix = `onvif://www.onvif.org/${key}/`;
  const s = scopes.find((x) => x.toLowerCase().startsWith(prefix));
  if (!s) return undefined;
  try {
    return decodeURIComponent(s.slice(prefix.length)).slice(0, 100) || undefined;
  } catch {
    return s.slice(prefix.length, prefix.length + 100);
  }
}

/**
 * The cameras in one reply, or none when it is not a ProbeMatches for `messageId`
 * (too large, an entity or DOCTYPE, another probe's answer, garbage).
 */
export function parseProbeMatches(reply: Buffer, messageId: string, from: string): DiscoveredCamera[] {
  if (reply.length > MAX_REPLY_BYTES) return [];
  const xml = reply.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return [];
  const relatesTo = texts(xml, 'RelatesTo')[0];
  if (relatesTo !== undefined && relatesTo !== messageId) return [];
  const found: DiscoveredCamera[] = [];
  for (const match of texts(xml, 'ProbeMatch').slice(0, MAX_CAMERAS)) {
    const xaddrs = (texts(match, 'XAddrs')[0] ?? '')
      .split(/\s+/)
      .filter((u) => /^https?:\/\/[^\s<>"]{1,300}$/.test(u))
      .slice(0, 8);
    const first = xaddrs.map(parseUrl).find((u) => u !== undefined);
    if (!first) continue;
    const scopes = (texts(match, 'Scopes')[0] ?? '').split(/\s+/).filter(Boolean).slice(0, 64);
    const endpoint = texts(texts(match, 'EndpointReference')[0] ?? '', 'Address')[0]?.slice(0, 200) || xaddrs[0]!;
    found.push({
      endpoint,
      xaddrs,
      host: first.hostname.replace(/^\[|\]$/g, ''),
      port: Number(first.port) || (first.protocol === 'https:' ? 443 : 80),
      name: scope(scopes, 'name'),
      hardware: scope(scopes, 'hardware'),
      from,
    });
  }
  return found;
}

function parseUrl(u: string): URL | undefined {
  try {
    return new URL(u);
  } catch {
    return undefined;
  }
}

/** Sends a Probe and collects the cameras that answer within `durationMs`, each once. */
export function discover(opts: DiscoveryOptions = {}): Promise<DiscoveredCamera[]> {
  const destination = opts.destination ?? WS_DISCOVERY_GROUP;
  const durationMs = opts.durationMs ?? 3000;
  const messageId = `urn:uuid:${randomUUID()}`;
  const probe = Buffer.from(probeMessage(messageId));
  const cameras = new Map<string, DiscoveredCamera>();
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    let repeat: NodeJS.Timeout | undefined;
    let finish: NodeJS.Timeout | undefined;
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      clearTimeout(repeat);
      clearTimeout(finish);
      socket.close();
      if (err) reject(err);
      else resolve([...cameras.values()]);
    };
    socket.on('error', (err) =>
      end(new Error(`WS-Discovery could not send its probe (${(err as NodeJS.ErrnoException).code ?? err.message})`)),
    );
    socket.on('message', (reply, rinfo) => {
      if (ended) return;
      for (const c of parseProbeMatches(reply, messageId, `${rinfo.address}:${rinfo.port}`)) {
        if (cameras.size >= MAX_CAMERAS) return;
        if (!cameras.has(c.endpoint)) cameras.set(c.endpoint, c);
      }
    });
    socket.bind(0, () => {
      try {
        // TTL 1: the probe stays on this LAN segment, as WS-Discovery wants.
        socket.setMulticastTTL(1);
      } catch {
        /* not a multicast socket on every platform: the default TTL is 1 anyway */
      }
      const send = () =>
        socket.send(probe, destination.port, destination.host, (err) => {
          if (err) end(new Error(`WS-Discovery could not send its probe (${(err as NodeJS.ErrnoException).code ?? err.message})`));
        });
      send();
      // UDP may lose the probe: send it once more (same MessageID, cameras answer once per probe).
      repeat = setTimeout(send, Math.min(500, durationMs / 3));
      finish = setTimeout(() => end(), durationMs);
    });
  });
}
