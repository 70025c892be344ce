/**
 * The sender's own MQTT.js client for an external broker (Mosquitto): its own
 * client id (unique per runtime, a prefix devices may not use), QoS 1, and a
 * message counts as published only when the broker's PUBACK arrived.
 *
 * It never publishes while disconnected, and a message in flight when the
 * connection drops is taken back from MQTT.js (which would otherwise resend it
 * by itself on reconnect, even after the command expired): the row stays
 * queued and the sender decides again. So a command goes out at least once;
 * twice only if the broker received it and the PUBACK was lost with the connection.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { brokerUrl, connectionOptions, type BrokerAddress } from '../lib/mqtt/broker-connection';
import { duration } from './ttl';
import { PermanentError, type Published, type Transport } from './transport';

export interface ExternalBrokerOptions extends BrokerAddress {
  clientId: string;
  protocolVersion: 4 | 5;
  onUp: () => void;
  log: (text: string) => void;
}

/** MQTT 5 PUBACK reasons that will not change on a retry: not authorized, topic invalid, too large, bad payload format. */
const PERMANENT_REASONS = new Set([0x87, 0x90, 0x95, 0x99]);

export class ExternalTransport implements Transport {
  readonly kind = 'external';
  private readonly client: MqttClient;
  /** since when the broker is out of reach (undefined while connected) */
  private downSinceMs?: number = Date.now();
  private lastError?: string;

  constructor(private readonly opts: ExternalBrokerOptions) {
    this.client = mqtt.connect(brokerUrl(opts), {
      ...connectionOptions(opts),
      clientId: opts.clientId,
      clean: true,
      protocolVersion: opts.protocolVersion,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
    });
    this.client.on('connect', () => {
      opts.log(`connected to ${opts.host}:${opts.port} as ${opts.clientId}`);
      this.downSinceMs = undefined;
      this.lastError = undefined;
      opts.onUp();
    });
    this.client.on('close', () => {
      this.downSinceMs ??= Date.now();
      this.takeBackInFlight();
    });
    this.client.on('error', (err) => {
      if (err.message !== this.lastError) opts.log(`broker ${opts.host}:${opts.port}: ${err.message}`);
      this.lastError = err.message;
    });
  }

  get up(): boolean {
    return this.client.connected;
  }

  describe(nowMs: number): string {
    if (this.up) return 'connected';
    const since = this.downSinceMs !== undefined ? ` for ${duration(nowMs - this.downSinceMs)}` : '';
    return `broker ${this.opts.host}:${this.opts.port} unreachable${since}${this.lastError ? ` (${this.lastError})` : ''}`;
  }

  publish(topic: string, payload: Buffer): Promise<Published> {
    return new Promise((resolve, reject) => {
      if (!this.up) {
        reject(new Error(this.describe(Date.now())));
        return;
      }
      this.client.publish(topic, payload, { qos: 1, retain: false }, (err) => {
        if (!err) resolve({});
        else if (PERMANENT_REASONS.has((err as { code?: number }).code ?? 0)) reject(new PermanentError(`broker refused: ${err.message}`));
        else reject(err);
      });
    });
  }

  async close(): Promise<void> {
    this.takeBackInFlight();
    await this.client.endAsync(true);
  }

  /** Fails every publish still waiting for its PUBACK (the rows stay queued). */
  private takeBackInFlight(): void {
    for (const id of Object.keys(this.client.outgoing)) this.client.removeOutgoingMessage(Number(id));
  }
}
