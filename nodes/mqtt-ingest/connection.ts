/**
 * mqtt-ingest's MQTT.js options from the node's settings: the broker the stock
 * `mqtt-broker` config used to reach (host, port, TLS with CA/certificate/key
 * files, a login), plus what "nothing acknowledged is lost" needs: a persistent
 * session under a client id that is the runtime's own and stays the same across
 * restarts, and MQTT 5's receive maximum so the broker never has more than the
 * in-flight cap of messages on their way to us.
 */
import type { IClientOptions } from 'mqtt';
import { connectionOptions, type BrokerAddress } from '../lib/mqtt/broker-connection';

export interface IngestSettings extends BrokerAddress {
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

/** Throws with a message for the node's status when a certificate file cannot be read. */
export function clientOptions(s: IngestSettings): IClientOptions {
  return {
    ...connectionOptions(s),
    clientId: s.clientId,
    // A persistent session: the broker keeps our subscription and queues what
    // arrives while the runtime is down or busy, and redelivers what we never acknowledged.
    clean: false,
    protocolVersion: 5,
    properties: {
      sessionExpiryInterval: s.sessionExpirySeconds,
      receiveMaximum: Math.max(1, Math.min(RECEIVE_MAXIMUM_LIMIT, s.maxInFlight)),
    },
    keepalive: 60,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
    // Our own subscribe on every connect; MQTT.js's copy would subscribe twice.
    resubscribe: false,
  };
}
