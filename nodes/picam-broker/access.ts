/**
 * Who may connect to the embedded broker and what each client may do: the same
 * rules as the Mosquitto ACL in cloud/mosquitto/acl, so a device is confined to
 * its own topics whichever broker the site runs.
 *
 *   device   publishes only under its own client id (its hosted IP cameras' topics
 *            included), reads only its own commands
 *   runtime  this runtime's stock MQTT client (a reserved id, TCP from loopback)
 *   integration  a program beside us (Home Assistant, a maker's flow) logged in with the
 *            integration login: reads the MQTT API and discovery topics, publishes
 *            requests and set topics (docs/mqtt-api.md); never the device tree
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isRuntimeClientId } from '../lib/runtime-identity';
import { HOSTED_DEVICE_TYPE } from '../lib/hosted-devices';
import { DEVICE_ID_PATTERN } from '../lib/types';

/**
 * Where a connection comes from: the listener and the socket's remote address.
 * `tls` is the cameras' mutual-TLS listener: its peers passed the client
 * certificate check before MQTT starts.
 */
export interface Peer {
  transport: 'tcp' | 'ws' | 'tls';
  address: string;
  /** on the `tls` listener: the client certificate the handshake accepted (its common name and serial) */
  certificate?: PeerCertificate;
}

export interface PeerCertificate {
  /** the subject's common name: a camera id for a per-camera certificate, `camera_client` for the shared one */
  cn: string;
  /** hex, as Node prints it */
  serial: string;
}

export type ClientRole = 'device' | 'runtime' | 'integration';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
export const isLoopback = (address: string): boolean => LOOPBACK.test(address);

/** True when an address given to `listen` can only be reached from this machine. */
export const isLoopbackBind = (host: string): boolean => host === 'localhost' || isLoopback(host);

/**
 * The role of a client that logged in, or why its id is refused. A reserved id
 * (RUNTIME_CLIENT_ID_PREFIX) is the runtime's only over TCP from this machine:
 * the shipped proxy forwards WebSocket traffic from loopback, and any device
 * claiming the id could otherwise knock the runtime's own client off.
 */
export function roleOf(clientId: string, peer: Peer): ClientRole | { refused: string } {
  if (isRuntimeClientId(clientId)) {
    if (peer.transport === 'tcp' && isLoopback(peer.address)) return 'runtime';
    return { refused: `client id "${clientId}" is reserved for PiCam Guardian runtimes` };
  }
  return 'device';
}

/** The device login (username and password credentials), compared in constant time. */
export class Login {
  private readonly user: Buffer;
  private readonly pass: Buffer;
  /** No username and no password configured: anyone may connect (the demo, on loopback only). */
  readonly open: boolean;

  constructor(username: string, password: string) {
    this.open = !username && !password;
    this.user = digest(username);
    this.pass = digest(password);
  }

  accepts(username: string | undefined, password: Buffer | string | undefined): boolean {
    if (this.open) return true;
    // Both compared every time, so the answer's timing says nothing about which one was wrong.
    const userOk = timingSafeEqual(digest(username ?? ''), this.user);
    const passOk = timingSafeEqual(digest(password ?? ''), this.pass);
    return userOk && passOk;
  }
}

// Digests have one length whatever was typed, as timingSafeEqual requires.
const digest = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();

/** A topic or filter's levels after the prefix's, or undefined when it is not under the prefix. */
function underPrefix(prefixLevels: readonly string[], topic: string): string[] | undefined {
  const levels = topic.split('/');
  if (levels.length <= prefixLevels.length) return undefined;
  for (let i = 0; i < prefixLevels.length; i++) if (levels[i] !== prefixLevels[i]) return undefined;
  return levels.slice(prefixLevels.length);
}

/** The largest retained message a device may leave: a connection message is a few hundred bytes. */
export const RETAINED_MAX_BYTES = 16 * 1024;

/** The per-device rule (cloud/mosquitto/acl with %c the client id). */
export class DeviceRules {
  private readonly prefix: string[];

  constructor(prefix: string) {
    this.prefix = prefix.replace(/\/+$/, '').split('/');
  }

  /**
   * `{prefix}/device/connection/+/{id}`, `{prefix}/device/status/+/{id}`,
   * `{prefix}/device/message/+/{id}/#`, and for the IP cameras it hosts
   * (nodes/lib/hosted-devices.ts) `{prefix}/device/connection/ipcam/{id}/+` and
   * `{prefix}/device/status/ipcam/{id}/+` (their messages are under the third rule).
   * Ids a topic level cannot hold exactly (wildcards, slashes) publish nothing.
   */
  mayPublish(clientId: string, topic: string): boolean {
    return this.publishRule(clientId)(topic);
  }

  /**
   * `mayPublish` for one client, its id checked once: the broker asks for every message a
   * device sends, and the id's pattern test was a good part of that check.
   */
  publishRule(clientId: string): (topic: string) => boolean {
    if (!DEVICE_ID_PATTERN.test(clientId)) return () => false;
    return (topic) => {
      const l = underPrefix(this.prefix, topic);
      if (!l || l[0] !== 'device' || !l[2] || l[3] !== clientId) return false;
      if (l[1] === 'connection' || l[1] === 'status') return l.length === 4 || (l.length === 5 && l[2] === HOSTED_DEVICE_TYPE && !!l[4]);
      return l[1] === 'message';
    };
  }

  /**
   * Whether a device's retained message (one it may publish) is kept: only its connection state
   * (a Pi's online message and Last Will, those of the IP cameras it hosts), and only of a size
   * such a message has. Anything else marked retained is routed but not kept, so a device cannot
   * grow the broker's memory with retained messages nobody reads.
   */
  mayRetain(topic: string, bytes: number): boolean {
    const l = underPrefix(this.prefix, topic);
    return !!l && l[0] === 'device' && l[1] === 'connection' && bytes <= RETAINED_MAX_BYTES;
  }

  /** `{prefix}/honeycomb/{id}/#`: the id level literal, so `+` and `#` cannot reach other devices. */
  maySubscribe(clientId: string, filter: string): boolean {
    if (!DEVICE_ID_PATTERN.test(clientId)) return false;
    const l = underPrefix(this.prefix, filter);
    return !!l && l[0] === 'honeycomb' && l[1] === clientId;
  }
}

export { topicFilter, topicMatches } from '../lib/mqtt/topic-filter';

/**
 * Could some topic match both filters? Level by level: a wildcard meets anything, `#` the rest
 * (including the parent level: `a/#` matches `a`). Errs towards yes (a `$` first level is not
 * special-cased), which is the safe side for its one use: deciding whether anyone may listen.
 */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === '#' || y[i] === '#') return true;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== '+' && y[i] !== '+' && x[i] !== y[i]) return false;
  }
  return true;
}

/**
 * What an integration client may do (cloud/mosquitto/acl, user `picam-integration`): read
 * `{api}/#` and `{discovery}/#`; publish `{discovery}/status` (Home Assistant's birth message),
 * `{api}/request/{command}` and `{api}/devices/{id}/{what}/set`. Answers and state topics are
 * the runtime's to write, and the device tree (`prod/...`) is out of reach: commands reach a
 * device only through the runtime's checks and its command queue.
 */
export class IntegrationRules {
  private readonly api: string[];
  private readonly discovery: string[];

  constructor(apiPrefix: string, discoveryPrefix: string) {
    this.api = apiPrefix.replace(/\/+$/, '').split('/');
    this.discovery = discoveryPrefix.replace(/\/+$/, '').split('/');
  }

  mayPublish(topic: string): boolean {
    if (/[#+]/.test(topic)) return false;
    const d = underPrefix(this.discovery, topic);
    if (d) return d.length === 1 && d[0] === 'status';
    const l = underPrefix(this.api, topic);
    if (!l) return false;
    if (l[0] === 'request') return l.length === 2 && !!l[1];
    return l[0] === 'devices' && l.length === 4 && !!l[1] && !!l[2] && l[3] === 'set';
  }

  /** Filters inside the two trees only (their prefix levels literal, so `+/#` cannot widen them). */
  maySubscribe(filter: string): boolean {
    return !!(underPrefix(this.api, filter) ?? underPrefix(this.discovery, filter));
  }
}
