/**
 * What the amqp-ingest tests share: one RabbitMQ node with the shipped settings and definitions
 * (statistics every 0.5 s, so queue counts catch up quickly), the runtime's login, a camera login
 * with camera_client's rights, cameras as real MQTT clients, consuming runtimes in their own
 * processes, and a wait for the queues to be empty. Started in the file's `before`, stopped
 * (cameras, runtimes, broker) in its `after`.
 */
import { after, before } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { ConsumerRuntime } from './amqp-consumer';
import { CAMERA } from './fixtures';
import { RabbitCluster, shippedRabbitSettings } from './rabbitmq';
import { waitFor } from './wait';

export const CLOUD = { username: 'picam-cloud', password: 'cloud-secret-for-tests' };
/** A camera login with camera_client's rights (what the shared certificate gets on the TLS listener). */
export const CAM = { username: 'camera-for-tests', password: 'camera-secret-for-tests' };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface IngestEnv {
  readonly rabbit: RabbitCluster;
  camera(clientId?: string): Promise<MqttClient>;
  publish(c: MqttClient, topic: string, body: object): Promise<unknown>;
  consumer(hold?: boolean, prefetch?: number): Promise<ConsumerRuntime>;
  /** both queues empty and nothing unacknowledged, twice a second apart (the counts trail) */
  drained(): Promise<unknown>;
  /** an amqp-ingest node for helper.load, wired to `store` */
  ingest(extra?: object): Record<string, unknown>;
}

export function useRabbitForIngest(): IngestEnv {
  let rabbit: RabbitCluster | undefined;
  const consumers: ConsumerRuntime[] = [];
  const cameras: MqttClient[] = [];
  before(async () => {
    rabbit = await RabbitCluster.start({ nodes: 1, settings: [...shippedRabbitSettings(), 'collect_statistics_interval = 500'] });
    await rabbit.loadDefinitions({ [CLOUD.username]: CLOUD.password });
    await rabbit.addUserLike(CAM.username, CAM.password, 'camera_client');
  });
  after(async () => {
    await Promise.all(cameras.map((c) => c.endAsync(true)));
    await Promise.all(consumers.map((c) => c.stop()));
    await rabbit?.stop();
  });
  const empty = async () => Object.values(await rabbit!.queues()).every((x) => x.ready === 0 && x.unacked === 0);
  return {
    get rabbit() {
      return rabbit!;
    },
    async camera(clientId = CAMERA) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${rabbit!.nodes[0]!.mqttPort}`, {
        ...CAM,
        clientId,
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
      c.on('error', () => undefined); // a refused publish closes the connection: the tests look at that
      cameras.push(c);
      return c;
    },
    publish: (c, topic, body) => c.publishAsync(topic, JSON.stringify(body), { qos: 1 }),
    async consumer(hold = false, prefetch?: number) {
      const c = new ConsumerRuntime({ urls: rabbit!.urls(), ...CLOUD, hold, prefetch });
      consumers.push(c);
      await c.ready;
      await waitFor('the consumer connected', async () => (/connected to/.test(c.log) ? true : undefined), 20_000);
      return c;
    },
    drained: () =>
      waitFor(
        'the queues empty and acknowledged',
        async () => ((await empty()) && (await sleep(1000), await empty()) ? true : undefined),
        30_000,
      ),
    ingest: (extra = {}) => ({ id: 'in', type: 'amqp-ingest', urls: rabbit!.urls(), prefetch: 50, wires: [['store']], ...extra }),
  };
}
