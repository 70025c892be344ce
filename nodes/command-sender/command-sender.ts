/**
 * command-sender: the durable way commands reach devices (mqtt-processor
 * output 3 → here). Output 1 answers each command once it is committed to the
 * queue (202 `queued`, or 503 when the store cannot commit it): wire it to the
 * API's `http response`. Output 2 reports each command's final state.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { EMBEDDED_BROKER_TYPE, localBroker } from '../lib/mqtt/local-broker';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { runtimeClientId } from '../lib/runtime-identity';
import { compact, StatusReporter, type StatusLevel } from '../lib/status';
import type { Reply } from '../lib/types';
import type { QueuedCommand } from '../lib/store/command-queue';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import { parseCommand } from './command-input';
import { commandPublisherOf } from '../lib/amqp/command-publisher';
import { AmqpTransport } from './amqp-transport';
import { ExternalTransport } from './external-client';
import { CommandSender, type Outcome } from './sender';
import { EmbeddedTransport, NoBroker, type Transport } from './transport';
import { parseTtls } from './ttl';
import { parseBoolean } from '../lib/settings';
import { API_PATHS, apiUrl } from '../lib/contract/api-routes';

interface CommandSenderDef extends NodeDef {
  database: string;
  /** the embedded broker node (picam-broker); used whenever it runs in this runtime */
  broker?: string;
  /** the amqp-ingest node (cluster role): commands go out through its RabbitMQ connection whenever it runs */
  amqp?: string;
  host?: string;
  port?: string | number;
  usetls?: boolean | string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  protocolVersion?: string | number;
  modeTtlSeconds?: string | number;
  rebootTtlSeconds?: string | number;
  settingsTtlSeconds?: string | number;
}

interface Credentials {
  user?: string;
  password?: string;
}

/** The embedded broker node that registers itself in nodes/lib/mqtt/local-broker.ts. */

type Send = (msg: Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

export default function register(RED: NodeAPI): void {
  function CommandSenderNode(this: Node & { credentials?: Credentials }, def: CommandSenderDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const db = def.database ? (RED.nodes.getNode(def.database) as PicamDatabaseNode | null) : null;
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    let closed = false;

    let embedded: EmbeddedTransport | undefined;
    let external: ExternalTransport | undefined;
    let amqp: AmqpTransport | undefined;
    const noBroker = new NoBroker('no broker configured');
    const brokerStarting = new NoBroker(`the embedded broker (${def.broker}) is not running`);
    const amqpStarting = new NoBroker(`amqp-ingest (${def.amqp}) is not running`);
    // Embedded whenever the broker node runs here (it registers itself, perhaps after we start);
    // a picam-broker node in the flow that has not registered yet is waited for, never bypassed
    // over TCP. Else the external broker.
    const transport = (): Transport => {
      if (closed) return noBroker;
      // The cluster role: amqp-ingest runs here (enabled), so RabbitMQ is the broker.
      if (def.amqp && RED.nodes.getNode(def.amqp)) {
        const publisher = commandPublisherOf(def.amqp);
        // Not registered yet (it starts after us): waited for, never bypassed over MQTT.
        return publisher ? (amqp ??= new AmqpTransport(def.amqp, publisher)) : amqpStarting;
      }
      const broker = def.broker ? localBroker(def.broker) : undefined;
      if (broker) {
        if (external) void external.close();
        external = undefined;
        if (embedded?.broker !== broker) embedded = new EmbeddedTransport(broker);
        return embedded;
      }
      if (def.broker && RED.nodes.getNode(def.broker)?.type === EMBEDDED_BROKER_TYPE) return brokerStarting;
      if (!def.host) return noBroker;
      external ??= new ExternalTransport({
        host: def.host,
        port: numberSetting(def.port, 1883),
        tls: parseBoolean('usetls', def.usetls, false),
        caFile: def.caFile || undefined,
        certFile: def.certFile || undefined,
        keyFile: def.keyFile || undefined,
        username: node.credentials?.user,
        password: node.credentials?.password,
        clientId: runtimeClientId(userDir, 'commands'),
        protocolVersion: numberSetting(def.protocolVersion, 4) === 5 ? 5 : 4,
        onUp: () => {
          sender?.kick();
          showStatus();
        },
        log: (text) => node.log(text),
      });
      return external;
    };

    let sender: CommandSender | undefined;
    const render = (): [StatusLevel, string] => {
      const c = sender!.counts;
      const text = `${compact(c.queued)} queued, ${compact(c.sent)} sent${c.expired ? `, ${compact(c.expired)} expired` : ''}${
        c.failed ? `, ${compact(c.failed)} failed` : ''
      } · ${sender!.brokerState()}`;
      return [sender!.brokerUp ? 'ok' : c.queued ? 'warn' : 'busy', text.slice(0, 120)];
    };
    const showStatus = () => sender && status.soon(render);

    const report = (row: QueuedCommand, outcome: Outcome) => {
      if (outcome !== 'sent') node.warn(`command ${row.commandId} (${row.action} for ${row.deviceId}) ${outcome}: ${row.reason}`);
      node.send([null, { topic: `command/${outcome}`, payload: describe(row) }]);
    };

    const answer = (msg: NodeMessageInFlow, statusCode: number, body: Reply) =>
      Object.assign(msg, { statusCode, payload: body }) as NodeMessage;

    const handle = (msg: NodeMessageInFlow, send: Send, done: Done) => {
      const parsed = parseCommand(msg as NodeMessageInFlow & { deviceId?: unknown; action?: unknown });
      if (!parsed.ok) {
        send([answer(msg, 400, { status: 'error', error: parsed.error }), null]);
        done(new Error(`command-sender: ${parsed.error}`));
        return;
      }
      if (!sender) {
        unavailable(msg, send, done, new Error('the command queue is not open'));
        return;
      }
      sender.accept(parsed.command).then(
        (row) => {
          send([answer(msg, 202, { status: 'ok', data: accepted(row) }), null]);
          done();
        },
        (err: Error) => unavailable(msg, send, done, err),
      );
    };

    // An HTTP client must hear that nothing was queued: 503, never 202.
    const unavailable = (msg: NodeMessageInFlow, send: Send, done: Done, err: Error) => {
      status.now('error', `cannot queue commands: ${err.message}`.slice(0, 120));
      send([answer(msg, 503, { status: 'error', error: `command not queued: ${err.message}` }), null]);
      done(new Error(`command-sender: command not queued: ${err.message}`));
    };

    // Commands that arrive while the database opens wait here, not lost.
    let waiting: Array<[NodeMessageInFlow, Send, Done]> | undefined = [];
    const release = () => {
      const queued = waiting ?? [];
      waiting = undefined;
      for (const [msg, send, done] of queued) handle(msg, send, done);
    };

    if (!db) {
      status.now('error', 'no database configured');
      waiting = undefined;
    } else {
      status.now('busy', 'opening the command queue');
      const failed = (err: Error) => {
        status.now('error', `database failed: ${err.message}`.slice(0, 120));
        const queued = waiting ?? [];
        waiting = undefined;
        for (const [msg, send, done] of queued) unavailable(msg, send, done, err);
      };
      db.acquire(node)
        .then((store) => {
          if (closed) return;
          // A store that cannot give a command queue throws here: said on the status and answered 503, not a crash.
          sender = new CommandSender({
            queue: store.commandQueue(node.id),
            transport,
            ttls: parseTtls(def),
            events: { finished: report, changed: showStatus, warn: (t) => node.warn(t) },
          });
          // Rows queued before a restart go out now; the broker is looked up at each attempt.
          sender.start();
          release();
        })
        .catch((err: Error) => {
          node.error(`command-sender: ${err.message}`);
          failed(err);
        });
    }

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (waiting) waiting.push([msg, send, done]);
      else handle(msg, send, done);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      status.clear();
      for (const [msg, send, d] of waiting ?? []) unavailable(msg, send, d, new Error('command-sender closed while opening'));
      waiting = undefined;
      const stopping = async () => {
        await sender?.close();
        await external?.close();
        if (db) await db.release(node);
      };
      stopping().then(done, (err: Error) => {
        node.error(`closing: ${err.message}`);
        done();
      });
    });
  }
  RED.nodes.registerType('command-sender', CommandSenderNode as unknown as NodeConstructor, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}

/** What the API says about a command it accepted. */
function accepted(row: QueuedCommand) {
  return {
    requestId: row.commandId,
    state: row.state,
    deviceId: row.deviceId,
    action: row.action,
    topic: row.topic,
    payload: parsePayload(row.payload),
    expiresAt: new Date(row.expiresMs).toISOString(),
    statusUrl: apiUrl(API_PATHS.command, { id: row.commandId }),
  };
}

function describe(row: QueuedCommand) {
  return {
    id: row.commandId,
    deviceId: row.deviceId,
    action: row.action,
    topic: row.topic,
    state: row.state,
    reason: row.reason,
    attempts: row.attempts,
    createdMs: row.createdMs,
    expiresMs: row.expiresMs,
    sentMs: row.sentMs,
  };
}

/** Commands are JSON as mqtt-processor builds them; another flow's plain text stays text. */
function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
