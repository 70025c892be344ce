/**
 * A stand-in for the store at the end of an ingest flow, for the AMQP ingest tests: a Node-RED
 * node whose input handler takes `done` (so it holds the message's receipt, as the store does
 * until its COMMIT) and either completes at once or holds every message until the test lets
 * it go. What it received is kept per device message (a batch's items one by one).
 */
import { EventEmitter } from 'node:events';

export interface Received {
  topic: string;
  body: string;
  clientId?: string;
  resent?: boolean;
}

export interface StandIn {
  readonly received: Received[];
  readonly events: EventEmitter;
  /** completes every held message (the "COMMIT") */
  release(): void;
  readonly held: number;
}

interface Item {
  topic?: unknown;
  payload?: unknown;
  clientId?: unknown;
  resent?: unknown;
}

function itemsOf(msg: { topic?: unknown; payload?: unknown }): Item[] {
  return msg.topic === 'device-batch' && Array.isArray(msg.payload) ? (msg.payload as Item[]) : [msg as Item];
}

/** Registers the node type `store-stand-in` (property `hold`: keep `done` until `release()`). */
export function storeStandIn(): { register: (RED: any) => void; standIn: StandIn } {
  const received: Received[] = [];
  const events = new EventEmitter();
  let held: Array<() => void> = [];
  const standIn: StandIn = {
    received,
    events,
    release() {
      const dones = held;
      held = [];
      for (const done of dones) done();
    },
    get held() {
      return held.length;
    },
  };
  function register(RED: any): void {
    function StoreStandIn(this: any, def: { hold?: boolean }) {
      RED.nodes.createNode(this, def);
      this.on('input', (msg: { topic?: unknown; payload?: unknown }, _send: unknown, done: () => void) => {
        for (const item of itemsOf(msg)) {
          const r: Received = {
            topic: String(item.topic),
            body: Buffer.isBuffer(item.payload) ? item.payload.toString() : JSON.stringify(item.payload),
            clientId: typeof item.clientId === 'string' ? item.clientId : undefined,
            resent: item.resent === true,
          };
          received.push(r);
          events.emit('item', r);
        }
        if (def.hold) held.push(done);
        else done();
      });
    }
    RED.nodes.registerType('store-stand-in', StoreStandIn);
  }
  return { register, standIn };
}
