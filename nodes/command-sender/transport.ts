/**
 * How the sender reaches the broker. "Delivered" means the same on both: the
 * broker has taken responsibility for the message (the embedded broker routed
 * it; an external broker answered PUBACK). Devices connected and subscribed get
 * it at once; devices offline with a persistent session get it from the broker
 * when they return; devices without one do not (a VBC01 gets its stored mode
 * again when it reconnects).
 */
import { splitHostedId } from '../lib/hosted-devices';
import { localBroker, type LocalBroker } from '../lib/mqtt/local-broker';

export interface Published {
  /** what else is known, kept with the row (e.g. the device was not connected) */
  note?: string;
}

export interface Transport {
  readonly kind: 'embedded' | 'external';
  /** can publish now */
  readonly up: boolean;
  /** the broker's state for status text and expiry reasons: "connected", "unreachable for 3 min (ECONNREFUSED)" */
  describe(nowMs: number): string;
  publish(topic: string, payload: Buffer, deviceId: string): Promise<Published>;
  close(): Promise<void>;
}

/** A broker error a retry would get again (MQTT 5 PUBACK reason codes): the command fails at once. */
export class PermanentError extends Error {}

/** In-process publishing through the embedded broker: no MQTT client, no client id to take over. */
export class EmbeddedTransport implements Transport {
  readonly kind = 'embedded';
  readonly up = true;

  constructor(readonly broker: LocalBroker) {}

  describe(): string {
    return 'embedded';
  }

  async publish(topic: string, payload: Buffer, deviceId: string): Promise<Published> {
    await this.broker.publish(topic, payload, { qos: 1, retain: false });
    // Devices use their id as MQTT client id (seed 004), a Pi's IP camera its Pi's (`{pi}.{camera}`):
    // say when nobody was there to take it now.
    return this.broker.isConnected(splitHostedId(deviceId)?.hostId ?? deviceId)
      ? {}
      : { note: 'the device was not connected: it gets the command only from a persistent session' };
  }

  async close(): Promise<void> {}
}

/** No broker to publish to (yet): commands wait, and expire saying why. */
export class NoBroker implements Transport {
  readonly kind = 'embedded';
  readonly up = false;

  constructor(private readonly why: string) {}

  describe(): string {
    return this.why;
  }

  publish(): Promise<Published> {
    return Promise.reject(new Error(this.why));
  }

  async close(): Promise<void> {}
}

/** The embedded broker registered under `brokerNodeId`, if it is running in this runtime. */
export function embeddedTransport(brokerNodeId: string | undefined): EmbeddedTransport | undefined {
  const broker = brokerNodeId ? localBroker(brokerNodeId) : undefined;
  return broker ? new EmbeddedTransport(broker) : undefined;
}
