/**
 * picam-broker: the embedded MQTT broker (aedes) wired into Node-RED. Device
 * messages leave on the output tagged with a receipt and are acknowledged to
 * the device only once every node downstream completed (nodes/lib/ingest/ingest-gate.ts); the
 * runtime reaches devices through the LocalBroker registry, without a client.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import { trustedProxiesFromSettings } from '../lib/client-address';
import { FailureLimiter } from '../lib/failure-limiter';
import { messageHooks, ReceiptBook } from '../lib/ingest/receipts';
import { exposeHealth, Failure } from '../lib/health';
import { exposeCounters } from '../lib/metrics';
import { registerLocalBroker } from '../lib/mqtt/local-broker';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { compact, StatusReporter, ThrottledWarn, type StatusLevel } from '../lib/status';
import { DeviceRules, IntegrationRules, isLoopbackBind, Login } from './access';
import { DEFAULT_API_PREFIX, DEFAULT_DISCOVERY_PREFIX } from '../lib/contract/mqtt-api';
import { PicamBroker, type BrokerEvents } from './broker';
import { IngestGate } from '../lib/ingest/ingest-gate';
import { Listeners } from './listeners';
import { cameraTls, type CameraTlsSettings } from './camera-tls';

interface PicamBrokerDef extends NodeDef {
  bind: string;
  port: string | number;
  wsPort: string | number;
  prefix: string;
  topic: string;
  maxInFlight: string | number;
  /** device messages per output message; missing or 1: one message each (the shape `mqtt in` sends) */
  maxBatch?: string | number;
  /** the cameras' mutual-TLS port; empty: no such listener */
  tlsPort: string | number;
  /** ca.crt, broker.crt, broker.key (picam-guardian certs); relative to the user directory */
  certDir: string;
  /** `shared` (default) or `per-camera`: whether the certificate or the client id says which camera it is */
  certMode?: string;
  /** camera ids that may connect with the shared certificate, besides those the gateway registered */
  cameras: string;
  /** the picam-database whose gateway registry lists enrolled cameras (optional) */
  database: string;
  /** the MQTT API's and Home Assistant discovery's topic prefixes, for the integration login's rule */
  apiPrefix?: string;
  discoveryPrefix?: string;
}

interface Credentials {
  username?: string;
  password?: string;
  /** the integration login (Home Assistant, other programs): MQTT API and discovery topics only */
  apiUsername?: string;
  apiPassword?: string;
}

const DEFAULT_MAX_IN_FLIGHT = 4000;
/** Flows saved before batches existed keep sending one message each: a maker's own wiring may expect that shape. */
const DEFAULT_MAX_BATCH = 1;

export default function register(RED: NodeAPI): void {
  function PicamBrokerNode(this: Node & { credentials?: Credentials }, def: PicamBrokerDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const host = def.bind || '127.0.0.1';
    const prefix = (def.prefix || 'prod').replace(/\/+$/, '');
    const login = new Login(node.credentials?.username ?? '', node.credentials?.password ?? '');
    const counts = { refused: 0, denied: 0, failed: 0 };
    const warn = {
      refused: new ThrottledWarn((t) => node.warn(t)),
      denied: new ThrottledWarn((t) => node.warn(t)),
      failed: new ThrottledWarn((t) => node.warn(t)),
    };

    // A broker that does not listen (a port another broker has, no login for a public address)
    // is the runtime's problem: /healthz answers 503 with why (lib/health.ts).
    const notListening = new Failure();
    const hideHealth = exposeHealth({ id: node.id, name: 'broker', read: () => notListening.state ?? { ok: true } });

    // Secure by default: a broker anyone may log in to listens on this machine only.
    if (login.open && !isLoopbackBind(host)) {
      const why = `no login is set, so the broker listens only on 127.0.0.1 (bind is "${host}"): set a username and password`;
      node.error(why);
      status.now('error', 'no login: not listening');
      notListening.set(why);
      node.on('close', (_removed: boolean, done: () => void) => {
        hideHealth();
        done();
      });
      return;
    }

    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const tlsSettings: CameraTlsSettings = {
      port: def.tlsPort,
      certDir: def.certDir,
      certMode: def.certMode,
      userDir,
      cameras: def.cameras,
      database: def.database ? (RED.nodes.getNode(def.database) as PicamDatabaseNode | null) : null,
      user: node,
    };
    const camerasTls = cameraTls(tlsSettings, (t) => node.warn(t));

    const book = new ReceiptBook(messageHooks(RED));
    const maxInFlight = numberSetting(def.maxInFlight, DEFAULT_MAX_IN_FLIGHT);
    // A batch larger than the in-flight cap could never be sent whole.
    const maxBatch = Math.max(1, Math.min(numberSetting(def.maxBatch, DEFAULT_MAX_BATCH), maxInFlight));
    // One batch waiting beyond the flow is enough to refill it (ingest-gate.ts).
    const gate = new IngestGate(book, (msg) => node.send(msg), maxInFlight, maxBatch, maxBatch);
    let listeners: Listeners | undefined;
    let where = '';

    const show = () => status.soon(render);
    const render = (): [StatusLevel, string] => {
      const parts = [where, `${broker.connectedClients} clients`];
      if (gate.inFlight + gate.held > 0) parts.push(`${compact(gate.inFlight + gate.held)} in flight`);
      if (broker.parkedClients > 0) parts.push(`holding ${compact(broker.parkedClients)} devices back`);
      if (counts.refused) parts.push(`${compact(counts.refused)} refused logins`);
      if (counts.denied) parts.push(`${compact(counts.denied)} denied`);
      if (counts.failed) parts.push(`${compact(counts.failed)} not stored`);
      return [counts.refused || counts.denied || counts.failed ? 'warn' : 'ok', parts.join(' · ')];
    };

    // Client ids and topics come from the network: quoted and cut short, so they cannot forge log lines.
    const quote = (s: string) => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);
    const events: BrokerEvents = {
      refused(reason, peer, clientId, blockedNow, why) {
        counts.refused++;
        const who = `client ${quote(clientId)} from ${peer.address} (${peer.transport})`;
        if (reason === 'client-id') warn.refused.warnNow(`refused ${who}: its client id is reserved for PiCam Guardian runtimes`);
        else if (reason === 'camera') warn.refused.warnNow(`refused camera ${who}: ${why ?? 'not a registered camera'}`);
        else if (reason === 'blocked') warn.refused.warnNow(`refused ${who}: too many failed logins from that address`);
        else
          warn.refused.warnNow(
            `refused ${who}: wrong username or password${blockedNow ? '; that address is now blocked for a while' : ''}`,
          );
        show();
      },
      denied(kind, clientId, topic) {
        counts.denied++;
        const what =
          kind === 'publish'
            ? `a publish to ${quote(topic)} (acknowledged and dropped)`
            : `a subscription to ${quote(topic)} (SUBACK 0x80)`;
        warn.denied.warnNow(`denied client ${quote(clientId)} ${what}: a device may use only its own topics`);
        show();
      },
      failed(clientId, qos, topic, errors) {
        counts.failed++;
        const ack = qos > 0 ? 'not acknowledged, the device will send it again' : 'QoS 0, lost';
        warn.failed.warnNow(`a message from ${quote(clientId)} on ${quote(topic)} was not stored (${ack}): ${errors.join('; ')}`);
        show();
      },
      clientsChanged: show,
    };

    const broker = new PicamBroker({
      login,
      rules: new DeviceRules(prefix),
      integration: {
        login: new Login(node.credentials?.apiUsername ?? '', node.credentials?.apiPassword ?? ''),
        rules: new IntegrationRules(def.apiPrefix || DEFAULT_API_PREFIX, def.discoveryPrefix || DEFAULT_DISCOVERY_PREFIX),
      },
      ingestFilter: def.topic || `${prefix}/device/#`,
      gate,
      limiter: new FailureLimiter(),
      events,
      cameras: camerasTls?.registry,
      certificates: camerasTls?.certificates,
    });
    // Per-camera certificates: a camera the gateway removed is disconnected at once, not at its next connection.
    const stopWatching =
      camerasTls?.watchRevocations(() => {
        void broker.dropRevoked().then(
          (ids) => ids.length && node.warn(`disconnected ${ids.map(quote).join(', ')}: certificate revoked (camera removed)`),
          (err: Error) => node.warn(`cannot check connected cameras against the revocations: ${err.message}`),
        );
      }) ?? (() => undefined);
    // Hold-ups show on the status as they happen, not only when a client comes or goes.
    const ticker = setInterval(() => gate.inFlight + gate.held > 0 && show(), 1000);
    const hideCounters = exposeCounters({
      type: 'picam-broker',
      id: node.id,
      read: () => ({ clients: broker.connectedClients, inFlight: gate.inFlight, held: gate.held, parked: broker.parkedClients, ...counts }),
    });
    let unregister = () => undefined as void;

    status.now('busy', 'starting');
    const wsPort = def.wsPort === '' || def.wsPort === undefined ? undefined : numberSetting(def.wsPort, 9001);
    const started = Listeners.start({
      host,
      port: numberSetting(def.port, 1883),
      wsPort,
      tls: camerasTls && {
        ...camerasTls.files,
        port: camerasTls.port,
        onHandshakeError: (address, err) =>
          warn.refused.warnNow(`TLS handshake from ${address} failed (no or foreign client certificate?): ${err.message}`),
      },
      trustedProxies: trustedProxiesFromSettings(RED.settings, (m) => node.warn(m)),
      onConnection: (conn, peer) => broker.handle(conn, peer),
      onOversized: (peer, why) => {
        counts.refused++;
        warn.refused.warnNow(`closed the connection of ${peer.address} (${peer.transport}): it sent ${why}`);
        show();
      },
      onError: (err) => node.error(`listener failed: ${err.message}`),
    }).then(
      (l) => {
        listeners = l;
        const a = l.addresses();
        where = `${a.tcp?.address}:${a.tcp?.port}${a.ws ? `, ws ${a.ws.port}` : ''}${a.tls ? `, cameras tls ${a.tls.port}` : ''}`;
        unregister = registerLocalBroker(node.id, broker);
        status.now('ok', `${where} · 0 clients`);
      },
      (err: Error) => {
        node.error(err.message);
        status.now('error', err.message);
        notListening.set(err.message);
      },
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      hideHealth();
      clearInterval(ticker);
      stopWatching();
      unregister();
      hideCounters();
      // The broker first: messages in flight are never acknowledged (devices resend them),
      // and wills of the clients it ends are not stored as if the devices had gone offline.
      void started
        .then(() => broker.close())
        .then(() => listeners?.close())
        .then(() => camerasTls?.close())
        .then(
          () => {
            status.clear();
            done();
          },
          (err: Error) => {
            node.error(`close: ${err.message}`);
            done();
          },
        );
    });
  }

  RED.nodes.registerType('picam-broker', PicamBrokerNode as NodeConstructor, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
      apiUsername: { type: 'text' },
      apiPassword: { type: 'password' },
    },
  });
}
