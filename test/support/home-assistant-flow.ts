/**
 * The cloud flow's ingest and command path with the MQTT API and Home Assistant discovery on,
 * in a real Node-RED runtime with the embedded broker (aedes): devices, Home Assistant and
 * API clients are real MQTT.js clients. Used by test/nodes/ha-discovery and test/nodes/mqtt-api.
 */
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import senderNode from '../../nodes/command-sender/command-sender';
import haDiscoveryNode from '../../nodes/ha-discovery/ha-discovery';
import { localBroker } from '../../nodes/lib/mqtt/local-broker';
import mqttApiNode from '../../nodes/mqtt-api/mqtt-api';
import processorNode from '../../nodes/mqtt-processor/mqtt-processor';
import brokerNode from '../../nodes/picam-broker/picam-broker';
import databaseNode from '../../nodes/picam-database/picam-database';
import eventsNode from '../../nodes/sqlite-events/sqlite-events';
import { helper } from './node-helper';
import { freePort } from './ports';
import { waitFor } from './wait';

export const DEVICE_LOGIN = { username: 'devices', password: 'ha-test-device-secret' };
export const HA_LOGIN = { username: 'homeassistant', password: 'ha-test-integration-secret' };

let fileNo = 0;

/** Loads the flow; resolves with the broker's port once it listens and both nodes are linked to it. */
export async function loadHomeAssistantFlow(dir: string): Promise<number> {
  const port = await freePort();
  helper.settings({ userDir: dir });
  const flow = [
    { id: 'db', type: 'picam-database', file: join(dir, `ha-${++fileNo}.db`), maxBatch: 100, maxDelayMs: 5, synchronous: 'NORMAL' },
    { id: 'b', type: 'picam-broker', bind: '127.0.0.1', port, wsPort: '', prefix: 'prod', topic: 'prod/device/#', wires: [['p1']] },
    {
      id: 'p1',
      type: 'mqtt-processor',
      prefix: 'prod',
      deviceTypes: 'hive-cam,picam,ipcam',
      database: 'db',
      wires: [['store'], [], ['cs'], ['api']],
    },
    { id: 'store', type: 'sqlite-events', database: 'db', mode: 'write', confirmations: 'batch', wires: [['api', 'ha'], []] },
    { id: 'cs', type: 'command-sender', database: 'db', broker: 'b', host: '', wires: [['api'], []] },
    { id: 'api', type: 'mqtt-api', enabled: 'on', broker: 'b', database: 'db', wires: [['p1'], ['snapshots']] },
    { id: 'ha', type: 'ha-discovery', enabled: 'on', broker: 'b', database: 'db', wires: [] },
    { id: 'snapshots', type: 'helper' },
  ];
  await helper.load([databaseNode, brokerNode, processorNode, eventsNode, senderNode, mqttApiNode, haDiscoveryNode] as never, flow, {
    b: { ...DEVICE_LOGIN, apiUsername: HA_LOGIN.username, apiPassword: HA_LOGIN.password },
  });
  await waitFor('the broker to listen', async () => localBroker('b'), 10_000);
  return port;
}

/** An MQTT client that keeps every message it gets. */
export class Client {
  readonly received: Array<{ topic: string; payload: Buffer; retain: boolean; correlationData?: Buffer }> = [];
  private constructor(readonly mqtt: MqttClient) {
    mqtt.on('message', (topic, payload, packet) =>
      this.received.push({ topic, payload, retain: packet.retain, correlationData: packet.properties?.correlationData }),
    );
  }

  static async connect(port: number, opts: IClientOptions): Promise<Client> {
    return new Client(await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...opts }));
  }

  /** The first message on `topic` (after `from`) that `accept` takes. */
  next(topic: string, accept: (payload: Buffer) => boolean = () => true, from = 0) {
    return waitFor(`a message on ${topic}`, async () => this.received.slice(from).find((m) => m.topic === topic && accept(m.payload)));
  }

  json(topic: string, accept: (v: any) => boolean = () => true, from = 0) {
    return this.next(topic, (p) => p.length > 0 && accept(JSON.parse(p.toString())), from).then((m) => JSON.parse(m.payload.toString()));
  }

  end() {
    return this.mqtt.endAsync(true);
  }
}
