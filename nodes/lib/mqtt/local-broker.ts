/**
 * The embedded broker, reachable in-process: nodes of the same runtime publish
 * through it without an MQTT client (so there is no client id to steal).
 * The broker node registers itself under its node id; users look it up by that id.
 */
export interface LocalBroker {
  /** Routes a message as if a client had published it; resolves once aedes has routed it (stored for offline persistent sessions, handed to online subscribers). */
  publish(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
  /** Is a client with this id connected now? */
  isConnected(clientId: string): boolean;
}

const brokers = new Map<string, LocalBroker>();

/** Makes `broker` reachable under `brokerNodeId`; returns the function that removes it again. */
export function registerLocalBroker(brokerNodeId: string, broker: LocalBroker): () => void {
  brokers.set(brokerNodeId, broker);
  return () => {
    if (brokers.get(brokerNodeId) === broker) brokers.delete(brokerNodeId);
  };
}

export function localBroker(brokerNodeId: string): LocalBroker | undefined {
  return brokers.get(brokerNodeId);
}
