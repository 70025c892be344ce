/**
 * The public address browsers reach the bridge on (`iceAddress`), when the
 * server sits behind a 1:1 NAT or a port forward (a cloud VM's public IP).
 *
 * werift's `iceAdditionalHostAddresses` binds a socket on each address, so it
 * only works for an address this host has (a specific interface, loopback);
 * a public address it cannot bind is silently skipped. For that case the
 * answer gets one extra host candidate per IPv4 host candidate: same port,
 * the public address (the NAT forwards the same port; open the ICE port range,
 * `icePortRange`, on it). The browser's checks to it arrive at the private
 * socket, which werift answers like any other.
 */
import { networkInterfaces } from 'node:os';

/** Whether this host has the address on one of its interfaces. */
export function isLocalAddress(address: string): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === address));
}

const CANDIDATE = /^a=candidate:(\S+) (\d+) (udp|tcp) (\d+) (\d{1,3}(?:\.\d{1,3}){3}) (\d+) typ host(.*)$/i;

/** The SDP with a public copy of every IPv4 host candidate (priority one lower, so a direct path still wins on a LAN). */
export function addPublicCandidates(sdp: string, publicAddress: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    out.push(line);
    const m = CANDIDATE.exec(line);
    if (!m) continue;
    const [, foundation, component, transport, priority, address, port, rest] = m;
    const key = `${component}/${transport}/${port}`;
    if (address === publicAddress || seen.has(key)) continue;
    seen.add(key);
    out.push(`a=candidate:${foundation}p ${component} ${transport} ${Number(priority) - 1} ${publicAddress} ${port} typ host${rest}`);
  }
  return out.join(eol);
}
