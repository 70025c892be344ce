/**
 * sensehat-out: draws node-red-node-pi-sense-hat's LED commands on the Sense
 * HAT's 8×8 matrix through `sense-hat-led` (no Python helper), or on a
 * simulated matrix where there is no board. Messages are shown one after the
 * other; output 1 (optional) gives the matrix state after each, for a dashboard.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { StatusReporter } from '../lib/status';
import { parseLedCommands, type TextOptions } from './led-commands';
import { applyOperation, chooseLedDriver, LED_CHOICES, MemoryLedDriver, resetOperations, type LedChoice } from './led-driver';
import { LedQueue } from './led-queue';

interface SensehatOutDef extends NodeDef {
  driver: LedChoice;
  queueSize: string | number;
  sysfsRoot: string;
  devRoot: string;
  /** 1: the state output is there; 0: no output */
  outputs?: string | number;
}

type Send = (msg: NodeMessage) => void;
type Done = (err?: Error) => void;

const DEFAULT_QUEUE_SIZE = 10;

/** How long close waits for the operation under way (a simulated scroll stops at once; the board's cannot be stopped). */
const CLOSE_WAIT_MS = 2000;

export default function register(RED: NodeAPI): void {
  function SensehatOut(this: Node, def: SensehatOutDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node);
    const choice: LedChoice = LED_CHOICES.includes(def.driver) ? def.driver : 'auto';
    const chosen = chooseLedDriver(choice, { sysfsRoot: def.sysfsRoot || '/sys', devRoot: def.devRoot || '/dev' });

    const driver = chosen.driver;
    if (!driver) {
      // Deploys, says why on its status, and fails each message with the same reason (a catch node sees it).
      // The status is repeated per message: status nodes do not hear what a node says while the flow starts.
      const fail = () => status.now('error', chosen.label.slice(0, 120));
      fail();
      node.error(chosen.label);
      node.on('input', (_msg: NodeMessageInFlow, _send: Send, done: Done) => {
        fail();
        done(new Error(chosen.label));
      });
      return;
    }
    node.log(chosen.label);

    // The state output comes from memory: the simulation itself, or a mirror of what the board was told.
    const mirror = driver instanceof MemoryLedDriver ? driver : new MemoryLedDriver({ timeScale: 0 });
    const emitState = Number(def.outputs ?? 1) > 0;
    const limit = Math.max(0, Math.floor(numberSetting(def.queueSize, DEFAULT_QUEUE_SIZE)));
    let shown = 0;
    let closed = false;
    /** the matrix's last failure (cleared by the next message it shows) */
    let failure: string | undefined;

    const queue = new LedQueue(async (operations) => {
      for (const op of operations) {
        await applyOperation(driver, op);
        if (mirror !== driver) await applyOperation(mirror, op);
      }
    }, limit);

    const showStatus = () =>
      status.soon(() =>
        failure
          ? ['error', `${chosen.label}: ${failure}`.slice(0, 120)]
          : [chosen.level, `${chosen.label} · ${shown} shown${queue.length ? ` · ${queue.length} waiting` : ''}`],
      );

    status.now(chosen.level, chosen.label);
    queue.push({
      operations: resetOperations(),
      settle: (err) => {
        if (err && !closed) {
          failure = err.message;
          node.error(`could not reset the LED matrix: ${err.message}`);
          showStatus();
        }
      },
    });

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      const parsed = parseLedCommands(msg.payload, msg as TextOptions);
      if (!parsed.ok) {
        done(new Error(parsed.error));
        return;
      }
      const accepted = queue.push({
        operations: parsed.operations,
        settle: (err) => {
          if (closed) return done(); // dropped or cut short by a redeploy: nothing to report
          if (err) {
            failure = err.message;
            showStatus();
            return done(err);
          }
          failure = undefined;
          shown++;
          try {
            if (emitState) send({ ...msg, payload: mirror.state() });
            done();
          } catch (sendErr) {
            done(sendErr as Error);
          }
          showStatus();
        },
      });
      if (accepted) showStatus();
      else done(new Error(`LED queue full: ${limit} waiting behind the message being shown (queue size ${limit}); message dropped`));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      const dropped = queue.drop(new Error('sensehat-out closed'));
      if (dropped) node.log(`dropped ${dropped} LED message${dropped === 1 ? '' : 's'} that were waiting`);
      status.clear();
      const release = async () => {
        await driver.close();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([queue.idle(), new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
        clearTimeout(timer);
        if (mirror !== driver) await mirror.close();
      };
      release().then(done, (err: Error) => {
        node.error(`closing the LED matrix: ${err.message}`);
        done();
      });
    });
  }
  RED.nodes.registerType('sensehat-out', SensehatOut as unknown as NodeConstructor);
}
