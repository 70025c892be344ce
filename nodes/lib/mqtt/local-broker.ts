/**
 * The runtime's own access to the embedded broker, without an MQTT client: the
 * broker node registers itself under its node id, and a node that sends to
 * devices (commands) looks it up. No client means no client id a device could
 * take over, no login to leak and no loopback connection to drop.
 *
 * The registry hangs off `globalThis` because Node-RED loads each node file on
 * its own: a module-level map could exist twice (as in nodes/lib/metrics.ts).
 */
export interface LocalBroker {
  /** Routes a message as if a client had published it; resolves once aedes has routed it (stored for offline persistent sessions, handed to online subscribers). */
  publish(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
  /** Is a client with this id connected now? */
  isConnected(clientId: string): boolean;
}

const KEY = Symbol.for('picam-guardian.local-brokers');

function registry(): Map<string, LocalBroker> {
  const g = globalThis as { [KEY]?: Map<string, LocalBroker> };
  return (g[KEY] ??= new Map());
}

/** Registers a running broker; call the returned function when it stops (a later registration under the same id is left alone). */
export function registerLocalBroker(brokerNodeId: string, broker: LocalBroker): () => void {
  registry().set(brokerNodeId, broker);
  return () => {
    if (registry().get(brokerNodeId) === broker) registry().delete(brokerNodeId);
  };
}

/** The broker registered under this node id, if it is running. */
export function localBroker(brokerNodeId: string): LocalBroker | undefined {
  return registry().get(brokerNodeId);
}
