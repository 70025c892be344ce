/**
 * The embedded broker: aedes with our policy hooks (aedes's design: policy is a
 * hook with a safe default). Knows nothing of Node-RED; picam-broker.ts wires it.
 *
 *   authenticate      refuse a guessing address before its password is looked at,
 *                     the device login, reserved (runtime) client ids; on the cameras'
 *                     mutual-TLS listener the certificate is the login and the
 *                     client id must be a registered camera (camera-login.ts) and,
 *                     with per-camera certificates, the certificate's own camera
 *   authorizePublish  the per-device rule; device-tree messages into the flow,
 *                     called back only after commit (so PUBACK follows COMMIT)
 *   authorizeSubscribe  the per-device rule (a refused filter gets 0x80)
 *   integration clients (the integration login) get IntegrationRules instead: the MQTT
 *                     API and discovery topics, never the device tree
 *
 * Why authorizePublish and not a subscription on aedes's mqemitter: aedes 0.46
 * (lib/handlers/publish.js) writes a QoS 1 PUBACK *before* broker.publish runs,
 * so holding an mqemitter listener would hold the next packets but not this
 * message's acknowledgement. authorizePublish runs before the PUBACK is written.
 */
import type { Duplex } from 'node:stream';
import type { Aedes, AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
import type { FailureLimiter } from '../lib/failure-limiter';
import type { LocalBroker } from '../lib/mqtt/local-broker';
import { DeviceRules, filtersOverlap, IntegrationRules, Login, roleOf, topicFilter, type ClientRole, type Peer } from './access';
import { isRuntimeClientId as isRuntimeId } from '../lib/runtime-identity';
import { cameraRefusal, certificateRefusal, type CameraRegistry, type CertificateCheck } from './camera-login';
import type { DeviceMessage, IngestGate } from '../lib/ingest/ingest-gate';
import { ReadThrottle } from './read-throttle';
import { indexedMemoryPersistence } from './retained-store';
import { fingerprint, RecentMap } from '../lib/recent';
import { writeOncePerTurn } from './write-batch';
import { loadAedes } from './quiet-debug';

const aedes = loadAedes();

/** What the node shows and logs; counts live in the node. */
export interface BrokerEvents {
  /** a CONNECT refused: the address is blocked, the login is wrong, or the client id is reserved */
  refused(reason: 'blocked' | 'login' | 'client-id' | 'camera', peer: Peer, clientId: string, blockedNow?: boolean, why?: string): void;
  /** a publish or subscription outside the client's own topics (the publish is acknowledged and dropped) */
  denied(kind: 'publish' | 'subscribe', clientId: string, topic: string): void;
  /** a device message the flow failed to complete: QoS 1 and 2 are not acknowledged (the device sends them again) */
  failed(clientId: string, qos: number, topic: string, errors: string[]): void;
  /** clients came or went */
  clientsChanged(): void;
}

export interface BrokerOptions {
  login: Login;
  rules: DeviceRules;
  /** the integration login (Home Assistant, other programs) and what it may do; open: nobody has it */
  integration?: { login: Login; rules: IntegrationRules };
  /** device messages matching this filter go to the flow (`${PICAM_DEVICE_TOPIC}`) */
  ingestFilter: string;
  gate: IngestGate;
  limiter: FailureLimiter;
  events: BrokerEvents;
  /** who may connect with the shared camera certificate (the mutual-TLS listener) */
  cameras?: CameraRegistry;
  /** per-camera certificates: the certificate names the camera, its client id must match (camera-login.ts) */
  certificates?: CertificateCheck;
}

const SYS_PREFIX = '$SYS/';

/** A logged-in client: its role, and the per-device rule with its id already checked. */
interface ClientState {
  role: ClientRole;
  mayPublish: (topic: string) => boolean;
}

/**
 * What authorizePublish decided for a packet, read again when aedes routes it. A property on
 * the packet, not a WeakSet of packets: adding to a WeakSet for every device message took
 * 2–3 % of the runtime's CPU in the ingest bench (and more in the garbage collector, which
 * walks a weak collection's entries).
 */
const VERDICT = Symbol('picam-broker verdict');
type Marked = PublishPacket & { [VERDICT]?: 'dropped' | 'ingested' };

function authError(returnCode: 2 | 3 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export class PicamBroker implements LocalBroker {
  readonly aedes: Aedes;
  private readonly peers = new WeakMap<object, Peer>();
  private readonly clients = new WeakMap<Client, ClientState>();
  /** the ingest filter, split once */
  private readonly ingests: (topic: string) => boolean;
  /**
   * Whether a subscription granted since the broker started could match a device message the
   * flow takes. Until one is, aedes's routing of each such message (packet copies, two topic
   * matches, its series of steps: about a tenth of the runtime's CPU per message in the ingest
   * bench) reaches nobody, so it is skipped. Never reset: a persistent session keeps its
   * subscriptions (and an offline queue) after its client is gone, and one more routing is
   * cheaper than a missed delivery.
   */
  private deviceTopicsWatched = false;
  private closing?: Promise<void>;
  /**
   * Messages not stored (no PUBACK), by device, topic and payload: the device sends them again,
   * and the processor must not drop that copy as a duplicate of one it saw but never stored.
   */
  private readonly notStored = new RecentMap<number, true>(10_000, 10 * 60_000);
  /** devices' sockets are read only while the ingest gate has room */
  private readonly throttle: ReadThrottle;

  constructor(private readonly opts: BrokerOptions) {
    this.ingests = topicFilter(opts.ingestFilter);
    this.throttle = new ReadThrottle(() => opts.gate.hasRoom);
    opts.gate.onRoom(() => this.throttle.wake());
    this.aedes = aedes({
      // Retained messages by topic: a SUBSCRIBE does not test every one (retained-store.ts).
      persistence: indexedMemoryPersistence(),
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.authorizeSubscribe(client, sub, done),
    });
    // The one place a refused publish is dropped: aedes routes every publish
    // (client publishes, wills) through the instance's publish method. Publishes refused
    // by the per-device rule are acknowledged and never routed; device messages the flow
    // took (not retained) are routed to subscribers only while some may listen.
    const route = this.aedes.publish.bind(this.aedes) as (p: Marked, c: unknown, d: (e?: Error) => void) => void;
    (this.aedes as unknown as { publish: typeof route }).publish = (packet, client, done) => {
      if (typeof client !== 'function') {
        const verdict = packet[VERDICT];
        if (verdict === 'dropped' || (verdict === 'ingested' && !this.deviceTopicsWatched)) return done();
      }
      route(packet, client, done);
    };
    this.aedes.on('client', () => opts.events.clientsChanged());
    this.aedes.on('clientDisconnect', () => opts.events.clientsChanged());
  }

  /** Serves one connection from a listener. */
  handle(conn: Duplex, peer: Peer): void {
    this.peers.set(conn, peer);
    // Only authenticated devices wait for room: a CONNECT is always read (aedes queues at most
    // 42 packets before its CONNACK), and so is the runtime's own client.
    const client = conn as Duplex & { client?: Client };
    this.throttle.throttle(conn, () => !!client.client && this.clients.get(client.client)?.role === 'device');
    writeOncePerTurn(conn);
    this.aedes.handle(conn);
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /** Device connections not read for now: the flow has no room for their messages. */
  get parkedClients(): number {
    return this.throttle.parkedCount;
  }

  publish(topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void> {
    const packet: PublishPacket = { cmd: 'publish', topic, payload, qos: opts.qos, retain: opts.retain, dup: false };
    return new Promise((resolve, reject) => this.aedes.publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  isConnected(clientId: string): boolean {
    const client = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
    return !!client && client.connected && !client.closed;
  }

  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>> {
    const deliver = (packet: { topic: string; payload: Buffer | string }, cb: () => void) => {
      try {
        handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
      } finally {
        cb(); // a failing handler must not stall aedes's routing for everyone else
      }
    };
    return new Promise((resolve) =>
      this.aedes.subscribe(filter, deliver as never, () =>
        resolve(() => new Promise<void>((done) => this.aedes.unsubscribe(filter, deliver as never, () => done()))),
      ),
    );
  }

  /**
   * Per-camera certificates: ends the connection of every camera whose certificate is no longer
   * current (the gateway revoked it when the camera was removed), so a removed camera does not
   * stay connected until it happens to reconnect. Returns the client ids it ended.
   */
  async dropRevoked(): Promise<string[]> {
    const check = this.opts.certificates;
    if (!check) return [];
    const dropped: string[] = [];
    const clients = Object.values((this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients);
    for (const client of clients) {
      const cert = client && this.peers.get(client.conn)?.certificate;
      if (!client || !cert || (await check(cert.serial, cert.cn)) === 'current') continue;
      dropped.push(client.id);
      client.close();
    }
    return dropped;
  }

  /** Ends every client connection and the broker; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.opts.gate.close();
      this.throttle.clear();
      this.aedes.close(() => resolve());
    });
    return this.closing;
  }

  private peerOf(client: Client): Peer {
    return this.peers.get(client.conn) ?? { transport: 'tcp', address: '' };
  }

  private authenticate(
    client: Client,
    username: Readonly<string> | undefined,
    password: Readonly<Buffer> | undefined,
    done: (err: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const { limiter, login, events } = this.opts;
    const peer = this.peerOf(client);
    // Keyed per listener too: the shipped proxy's WebSocket traffic all comes from loopback,
    // and a guesser behind it must not lock out this runtime's own TCP client.
    const key = `${peer.transport}:${peer.address}`;
    if (limiter.retryAfter(key) > 0) {
      events.refused('blocked', peer, client.id);
      return done(authError(5, 'too many failed logins from this address'), false);
    }
    if (peer.transport === 'tls') return this.authenticateCamera(client, peer, key, done);
    const integration = this.opts.integration;
    if (integration && !integration.login.open && !isRuntimeId(client.id) && integration.login.accepts(username, password)) {
      this.remember(client, 'integration');
      return done(null, true);
    }
    if (!login.accepts(username, password)) {
      events.refused('login', peer, client.id, limiter.fail(key));
      return done(authError(4, 'bad user name or password'), false);
    }
    const role = roleOf(client.id, peer);
    if (typeof role !== 'string') {
      events.refused('client-id', peer, client.id);
      return done(authError(2, role.refused), false);
    }
    this.remember(client, role);
    done(null, true);
  }

  /**
   * The certificate was checked by TLS; the client id must name a registered camera and, with
   * per-camera certificates, be the camera the certificate was issued to, not revoked.
   */
  private authenticateCamera(
    client: Client,
    peer: Peer,
    key: string,
    done: (err: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const { limiter, events, certificates } = this.opts;
    const refused = async (): Promise<{ code: 2 | 5; reason: string } | undefined> => {
      const byCertificate = certificates && (await certificateRefusal(client.id, peer.certificate, certificates));
      if (byCertificate) return byCertificate;
      const reason = await cameraRefusal(client.id, this.opts.cameras);
      return reason ? { code: 5, reason } : undefined;
    };
    refused().then(
      (refusal) => {
        if (refusal) {
          // Ids that are no registered camera are what guessing looks like: counted.
          events.refused('camera', peer, client.id, limiter.fail(key), refusal.reason);
          return done(authError(refusal.code, refusal.reason), false);
        }
        this.remember(client, 'device');
        done(null, true);
      },
      // The registry or the certificate index is unavailable: the camera retries; not its failure.
      (err: Error) => {
        events.refused('camera', peer, client.id, false, `the camera registry failed: ${err.message}`);
        done(authError(3, `server unavailable: ${err.message}`), false);
      },
    );
  }

  private remember(client: Client, role: ClientRole): void {
    this.clients.set(client, { role, mayPublish: this.opts.rules.publishRule(client.id) });
  }

  private authorizePublish(client: Client | null, packet: Marked, done: (err?: Error | null) => void): void {
    if (packet.topic.startsWith(SYS_PREFIX)) return done(new Error('$SYS topics are reserved')); // aedes's own default
    if (!client) return done(null);
    const state = this.clients.get(client);
    if (state?.role === 'runtime') return done(null); // the runtime's own traffic: not ingested
    if (this.integrationMay('publish', client, packet.topic)) return done(null); // requests: the API node reads them, not ingest
    if (state?.role === 'integration' || !(state ? state.mayPublish(packet.topic) : this.opts.rules.mayPublish(client.id, packet.topic))) {
      this.opts.events.denied('publish', client.id, packet.topic);
      // MQTT-3.3.5-2: acknowledge per QoS and drop, or close the connection. Closing makes
      // a device resend the same message for ever; QoS 2 is closed (its PUBREL would route it).
      if (packet.qos === 2) return done(new Error(`not allowed to publish to ${packet.topic}`));
      packet[VERDICT] = 'dropped';
      return done(null);
    }
    if (packet.retain && !this.opts.rules.mayRetain(packet.topic, packet.payload.length)) packet.retain = false;
    if (!this.ingests(packet.topic)) return done(null);
    // A retained message is stored by the routing, whoever listens now.
    if (!packet.retain) packet[VERDICT] = 'ingested';
    const msg: DeviceMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      qos: packet.qos,
      retain: packet.retain,
      clientId: client.id,
    };
    // Hashing the payload costs: only while some message waits to come again.
    const keyOf = () => fingerprint(`${client.id}\u0000${packet.topic}`, msg.payload.toString('latin1'));
    if (this.notStored.size > 0) {
      const key = keyOf();
      if (this.notStored.has(key, Date.now())) {
        msg.resent = true;
        this.notStored.delete(key);
      }
    }
    this.opts.gate.admit(msg, ({ errors }) => {
      if (errors.length === 0) return done(null);
      this.opts.events.failed(client.id, packet.qos, packet.topic, errors);
      if (packet.qos === 0) return done(null); // nothing to withhold
      this.notStored.set(keyOf(), true, Date.now());
      // Not stored: no PUBACK. aedes closes the connection and the device sends it again.
      done(new Error(`not stored: ${errors.join('; ')}`));
    });
  }

  /**
   * The integration rule for this client: integration clients, and in a demo whose broker has
   * no login at all (loopback only) every client, so Home Assistant on the same machine works.
   */
  private integrationMay(kind: 'publish' | 'subscribe', client: Client, topic: string): boolean {
    const integration = this.opts.integration;
    if (!integration) return false;
    const open = this.opts.login.open && integration.login.open;
    if (!open && this.clients.get(client)?.role !== 'integration') return false;
    return kind === 'publish' ? integration.rules.mayPublish(topic) : integration.rules.maySubscribe(topic);
  }

  private authorizeSubscribe(
    client: Client,
    sub: Subscription,
    done: (err: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const role = this.clients.get(client)?.role;
    if (
      role === 'runtime' ||
      this.integrationMay('subscribe', client, sub.topic) ||
      (role === 'device' && this.opts.rules.maySubscribe(client.id, sub.topic))
    ) {
      if (filtersOverlap(sub.topic, this.opts.ingestFilter)) this.deviceTopicsWatched = true;
      return done(null, sub);
    }
    this.opts.events.denied('subscribe', client.id, sub.topic);
    done(null, null); // SUBACK 0x80 for this filter (MQTT-3.9.3)
  }
}
