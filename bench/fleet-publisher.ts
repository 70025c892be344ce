/**
 * A slice of the fleet case's devices (bench/fleet.ts) in one process: each a
 * real MQTT.js connection behaving like a Pi's uplink (nodes/mqtt-outbox/uplink.ts):
 * clean session, a retained Last Will on its connection topic, a retained online
 * message on connect, a QoS 1 subscription to its own commands
 * (`prod/honeycomb/{id}/#`), an environment reading every 2 s and a heartbeat
 * every 30 s, all QoS 1. Every payload carries its send time in `timestamp`, which
 * the runtime turns into publish→commit latency. Devices start spread over the
 * reading period, as a fleet's clocks are.
 *
 * Args: JSON {url, first, count, username?, password?}
 * IPC: {cmd:'start'} begin publishing · {cmd:'published'} replies {published} · {cmd:'drop'} destroy every socket (no
 * DISCONNECT: the broker publishes the wills) · {cmd:'reconnect'} all at once;
 * replies {reconnected: ms} once every device is connected, its subscription
 * granted and its online message acknowledged (i.e. committed) · {cmd:'stop'}.
 */
import mqtt, { type MqttClient } from 'mqtt';

interface Args {
  url: string;
  first: number;
  count: number;
  username?: string;
  password?: string;
}

const READING_MS = 2000;
const HEARTBEAT_MS = 30_000;
const args = JSON.parse(process.argv[2]!) as Args;
/** readings and heartbeats published so far (what the devices offered) */
let published = 0;
const idOf = (n: number) => `flt${String(n).padStart(5, '0')}`;

class Device {
  client?: MqttClient;
  private timers: NodeJS.Timeout[] = [];
  /** set for a reconnect: resolves when its online message was committed and its subscription granted */
  private back?: () => void;

  constructor(readonly id: string) {}

  get connectionTopic() {
    return `prod/device/connection/picam/${this.id}`;
  }

  online(): string {
    return JSON.stringify({ status: 'connected', timestamp: Date.now(), device: { type: 'picam', id: this.id }, ipAddress: '10.0.0.2' });
  }

  async connect(): Promise<void> {
    const will = { topic: this.connectionTopic, payload: Buffer.from('{"status":"disconnected"}'), qos: 1 as const, retain: true };
    const client = await mqtt.connectAsync(args.url, {
      clientId: this.id,
      clean: true,
      resubscribe: false,
      reconnectPeriod: 0,
      keepalive: 60,
      will,
      username: args.username,
      password: args.password,
    });
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('error', () => undefined); // a dropped socket; the bench reconnects on command
    // A reconnect the broker did not answer in time is tried again a second later, as a Pi's uplink does.
    client.on('close', () => this.back && setTimeout(() => this.back && client.reconnect(), 1000));
    this.onConnect();
  }

  /** Online message and subscription, as the Pi's uplink does on every connect; both answered: back. */
  private onConnect(): void {
    const client = this.client!;
    let pending = 2;
    const answered = (err?: Error | null) => {
      if (!err && --pending === 0 && this.back) {
        this.back();
        this.back = undefined;
      }
    };
    // Its PUBACK comes after the runtime committed it (the broker acknowledges after commit).
    client.publish(this.connectionTopic, this.online(), { qos: 1, retain: true }, answered);
    client.subscribe(`prod/honeycomb/${this.id}/#`, { qos: 1 }, answered);
  }

  start(offsetMs: number): void {
    this.timers.push(
      setTimeout(() => {
        this.reading();
        this.timers.push(setInterval(() => this.reading(), READING_MS));
      }, offsetMs),
      setTimeout(
        () => {
          this.heartbeat();
          this.timers.push(setInterval(() => this.heartbeat(), HEARTBEAT_MS));
        },
        (offsetMs * HEARTBEAT_MS) / READING_MS,
      ),
    );
  }

  private reading(): void {
    const client = this.client;
    if (!client?.connected) return; // a Pi's outbox would keep it; here the storm's gap is not measured
    const payload = JSON.stringify({ temperature: 21.5, humidity: 45, pressure: 1013, timestamp: Date.now() });
    client.publish(`prod/device/message/picam/${this.id}/sensors/environment`, payload, { qos: 1 });
    published++;
  }

  private heartbeat(): void {
    if (!this.client?.connected) return;
    const payload = JSON.stringify({ timestamp: Date.now(), uptime: Math.round(process.uptime()), streamState: 'streaming' });
    this.client.publish(`prod/device/status/picam/${this.id}`, payload, { qos: 1 });
    published++;
  }

  drop(): void {
    this.client?.stream.destroy();
  }

  get isBack(): boolean {
    return !this.back;
  }

  /** Resolves when connected again, subscribed, and its online message committed. */
  reconnect(): Promise<void> {
    const done = new Promise<void>((resolve) => (this.back = resolve));
    this.client!.reconnect();
    return done;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.client?.endAsync(true);
  }
}

async function main() {
  const devices = Array.from({ length: args.count }, (_, i) => new Device(idOf(args.first + i)));
  // In slices of 100, as a fleet powering up over a minute would, not one burst.
  for (let i = 0; i < devices.length; i += 100) await Promise.all(devices.slice(i, i + 100).map((d) => d.connect()));
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'start') devices.forEach((d, i) => d.start((i * READING_MS) / devices.length));
    else if (m.cmd === 'published') process.send!({ published });
    else if (m.cmd === 'drop') {
      for (const d of devices) d.drop();
      process.send!({ dropped: true });
    } else if (m.cmd === 'reconnect') {
      const t0 = Date.now();
      // How far the storm got, each second: what the bench reports if it never completes.
      const progress = setInterval(() => {
        const connected = devices.filter((d) => d.client?.connected).length;
        process.send!({ storm: { connected, back: devices.filter((d) => d.isBack).length } });
      }, 1000);
      void Promise.all(devices.map((d) => d.reconnect())).then(() => {
        clearInterval(progress);
        process.send!({ reconnected: Date.now() - t0 });
      });
    } else if (m.cmd === 'stop') {
      void Promise.all(devices.map((d) => d.stop())).then(() => process.exit(0));
    }
  });
  process.send!({ ready: true });
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
