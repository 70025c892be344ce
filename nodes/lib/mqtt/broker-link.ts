/**
 * One way for a runtime node to publish and subscribe beside the device traffic (the MQTT API,
 * Home Assistant discovery): in process through the embedded broker (LocalBroker: no client id,
 * no login), or an MQTT 5 client of an external broker (Mosquitto), which also carries request
 * properties (response topic, correlation data) that the embedded aedes 0.46 (MQTT 3.1.1) cannot.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { brokerUrl, connectionOptions, type BrokerAddress } from './broker-connection';
import type { LocalBroker } from './local-broker';
import { topicMatches } from './topic-filter';

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  /** MQTT 5 request properties (external broker only) */
  responseTopic?: string;
  correlationData?: Buffer;
}

export interface PublishOptions {
  retain: boolean;
  /** MQTT 5 correlation data for an answer (dropped on the embedded broker, which speaks 3.1.1) */
  correlationData?: Buffer;
}

export interface BrokerLink {
  readonly kind: 'embedded' | 'external';
  /** Rejects while an external broker is away (nothing piles up): callers send their state again on reconnect. */
  publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void>;
  /** Resolves once subscribed. External: subscriptions come back by themselves after a reconnect. */
  subscribe(filter: string, handler: (m: InboundMessage) => void): Promise<void>;
  /** Ends the subscriptions (and the client); safe to call twice. */
  close(): Promise<void>;
}

export class EmbeddedLink implements BrokerLink {
  readonly kind = 'embedded';
  private readonly ends: Array<() => Promise<void>> = [];

  constructor(private readonly broker: LocalBroker) {}

  publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void> {
    return this.broker.publish(topic, Buffer.from(payload), { qos: 1, retain: opts.retain });
  }

  async subscribe(filter: string, handler: (m: InboundMessage) => void): Promise<void> {
    this.ends.push(await this.broker.subscribe(filter, (topic, payload) => handler({ topic, payload })));
  }

  async close(): Promise<void> {
    const ends = this.ends.splice(0);
    await Promise.all(ends.map((end) => end()));
  }
}

export interface ExternalLinkOptions extends BrokerAddress {
  clientId: string;
  onState(connected: boolean, error?: string): void;
}

export class ExternalLink implements BrokerLink {
  readonly kind = 'external';
  private readonly client: MqttClient;
  private readonly handlers: Array<[string, (m: InboundMessage) => void]> = [];

  constructor(opts: ExternalLinkOptions) {
    this.client = mqtt.connect(brokerUrl(opts), {
      ...connectionOptions(opts),
      clientId: opts.clientId,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
    });
    this.client.on('connect', () => opts.onState(true));
    this.client.on('close', () => opts.onState(false));
    this.client.on('error', (err) => opts.onState(false, err.message));
    this.client.on('message', (topic, payload, packet) => {
      const props = packet.properties;
      const m: InboundMessage = { topic, payload, responseTopic: props?.responseTopic, correlationData: props?.correlationData };
      for (const [filter, handler] of this.handlers) if (topicMatches(filter, topic)) handler(m);
    });
  }

  async publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void> {
    // MQTT.js would queue it while offline, without bound: state is sent again on reconnect instead.
    if (!this.client.connected) throw new Error('not connected to the broker');
    await this.client.publishAsync(topic, payload, {
      qos: 1,
      retain: opts.retain,
      ...(opts.correlationData && { properties: { correlationData: opts.correlationData } }),
    });
  }

  async subscribe(filter: string, handler: (m: InboundMessage) => void): Promise<void> {
    this.handlers.push([filter, handler]);
    await this.client.subscribeAsync(filter, { qos: 1 });
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
    await this.client.endAsync(true);
  }
}

export interface LinkChoice {
  /** the embedded broker node's id, when one runs in this flow (it registers once listening) */
  embeddedBrokerId?: string;
  /** else an external broker */
  external?: ExternalLinkOptions;
  /** stop waiting (the node closed) */
  closed: () => boolean;
}

const WAIT_STEP_MS = 200;

/**
 * The embedded broker when the flow has one (waited for until it registers: never bypassed over
 * TCP), else the external broker, else an error that says what to configure.
 */
export async function openLink(choice: LinkChoice, lookUp: (id: string) => LocalBroker | undefined): Promise<BrokerLink> {
  if (choice.embeddedBrokerId) {
    for (;;) {
      const broker = lookUp(choice.embeddedBrokerId);
      if (broker) return new EmbeddedLink(broker);
      if (choice.closed()) throw new Error('closed before the embedded broker started');
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
    }
  }
  if (choice.external?.host) return new ExternalLink(choice.external);
  throw new Error('no broker: choose the embedded broker node or set a broker host');
}
