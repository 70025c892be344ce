/**
 * The runtime's own access to the embedded broker, without an MQTT client: the
 * broker node registers itself under its node id, and a node that sends to
 * devices (commands) looks it up. No client means no client id a device could
 * take over, no login to leak and no loopback connection to drop.
 */
import { processRegistry } from '../process-registry';

/** The embedded broker's node type (nodes/picam-broker). */
export const EMBEDDED_BROKER_TYPE = 'picam-broker';

export interface LocalBroker {
  /** Routes a message as if a client had published it; resolves once aedes has routed it (stored for offline persistent sessions, handed to online subscribers). */
  publish(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
  /** Is a client with this id connected now? */
  isConnected(clientId: string): boolean;
  /**
   * Hands every message routed to `filter` to `handler`, in process (the MQTT API and Home
   * Assistant discovery read their request and status topics so). Resolves once subscribed,
   * with the function that ends the subscription.
   */
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>>;
}

const brokers = processRegistry<LocalBroker>('local-brokers');

/** Registers a running broker; call the returned function when it stops. */
export const registerLocalBroker = (brokerNodeId: string, broker: LocalBroker): (() => void) => brokers.register(brokerNodeId, broker);

/** The broker registered under this node id, if it is running. */
export const localBroker = (brokerNodeId: string): LocalBroker | undefined => brokers.get(brokerNodeId);
