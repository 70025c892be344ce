/**
 * mqtt-ingest's MQTT.js options from the node's settings: the broker the stock
 * `mqtt-broker` config used to reach (host, port, TLS with CA/certificate/key
 * files, a login), plus what "nothing acknowledged is lost" needs: a persistent
 * session under a client id that is the runtime's own and stays the same across
 * restarts, and MQTT 5's receive maximum so the broker never has more than the
 * in-flight cap of messages on their way to us.
 */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';

export interface IngestSettings {
  host: string;
  port: number;
  tls: boolean;
  /** file paths (PEM); empty means the system's CAs / no client certificate */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  clientId: string;
  maxInFlight: number;
  /** how long the broker keeps the session (and queues for it) while the runtime is away */
  sessionExpirySeconds: number;
}

export const DEFAULT_MAX_IN_FLIGHT = 2000;
/** A week: longer than any outage we plan for; Mosquitto's queue limits bound what it keeps. */
export const DEFAULT_SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;
/** MQTT 5 Receive Maximum is a two-byte integer (§3.1.2.11.3). */
const RECEIVE_MAXIMUM_LIMIT = 65_535;

export function brokerUrl(s: Pick<IngestSettings, 'host' | 'port' | 'tls'>): string {
  const host = s.host.includes(':') && !s.host.startsWith('[') ? `[${s.host}]` : s.host;
  return `${s.tls ? 'mqtts' : 'mqtt'}://${host}:${s.port}`;
}

/** Throws with a message for the node's status when a certificate file cannot be read. */
export function clientOptions(s: IngestSettings): IClientOptions {
  const read = (what: string, file?: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    clientId: s.clientId,
    // A persistent session: the broker keeps our subscription and queues what
    // arrives while the runtime is down or busy, and redelivers what we never acknowledged.
    clean: false,
    protocolVersion: 5,
    properties: {
      sessionExpiryInterval: s.sessionExpirySeconds,
      receiveMaximum: Math.max(1, Math.min(RECEIVE_MAXIMUM_LIMIT, s.maxInFlight)),
    },
    username: s.username || undefined,
    password: s.password || undefined,
    keepalive: 60,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
    // Our own subscribe on every connect; MQTT.js's copy would subscribe twice.
    resubscribe: false,
    ...(s.tls && {
      ca: read('CA', s.caFile),
      cert: read('certificate', s.certFile),
      key: read('key', s.keyFile),
      rejectUnauthorized: true,
    }),
  };
}
