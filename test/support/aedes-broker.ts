/**
 * A real aedes broker in the test process that can be stopped and started
 * again on the same port: an uplink outage. It records every PUBLISH a client
 * sent (the broker's view: what arrived, in what order, how often).
 */
import { createServer, type Server, type Socket } from 'node:net';
import aedes from 'aedes';
import { freePort } from './ports';

export interface Arrival {
  topic: string;
  payload: Buffer;
  retain: boolean;
  clientId: string;
}

export class OutageBroker {
  readonly arrivals: Arrival[] = [];
  private server?: Server;
  private broker?: ReturnType<typeof aedes>;
  private readonly sockets = new Set<Socket>();

  private constructor(readonly port: number) {}

  static async start(port?: number): Promise<OutageBroker> {
    const b = new OutageBroker(port ?? (await freePort()));
    await b.up();
    return b;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Arrivals on topics under `prefix`, in arrival order. */
  on(prefix: string): Arrival[] {
    return this.arrivals.filter((a) => a.topic.startsWith(prefix));
  }

  async up(): Promise<void> {
    const broker = aedes();
    broker.on('publish', (packet, client) => {
      if (client)
        this.arrivals.push({ topic: packet.topic, payload: Buffer.from(packet.payload), retain: packet.retain, clientId: client.id });
    });
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.broker = broker;
    this.server = server;
  }

  /** Cuts one client's connection without a DISCONNECT packet, so the broker publishes its Will. */
  dropClient(clientId: string): void {
    const clients = (this.broker as unknown as { clients: Record<string, { conn: { destroy(): void } } | undefined> } | undefined)?.clients;
    clients?.[clientId]?.conn.destroy();
  }

  /** The outage: the listener goes and every connection is cut, as when the cloud is unreachable. */
  async down(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve())),
    ]);
  }
}
