/** Shared plumbing for the node tests: a Node-RED runtime, message collectors, spies. */
import { after, afterEach, before } from 'node:test';
import helper, { type TestNode } from 'node-red-node-test-helper';

helper.init(require.resolve('node-red'));

export { helper };

/** Starts the runtime once per file and unloads the flow after every test. */
export function useNodeRed(): void {
  before(() => helper.startServer());
  afterEach(() => helper.unload());
  after(() => helper.stopServer());
}

export const node = (id: string): TestNode => {
  const n = helper.getNode(id);
  if (!n) throw new Error(`node ${id} is not in the flow`);
  return n;
};

/** A spied Node method call, as emitted by the helper (`call:error`, `call:warn`, `call:status`). */
export interface Call {
  args: unknown[];
}

/** Everything that reaches a `helper` node, with waits that fail with a readable message. */
export class Collector {
  readonly msgs: Array<Record<string, any>> = [];
  private waiters: Array<() => void> = [];

  constructor(readonly id: string) {
    node(id).on('input', (msg: Record<string, any>) => {
      this.msgs.push(msg);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves with the first `count` messages, or rejects after `timeoutMs`. */
  wait(count = 1, timeoutMs = 2000): Promise<Array<Record<string, any>>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.id}: ${this.msgs.length} of ${count} messages after ${timeoutMs} ms`)),
        timeoutMs,
      );
      const check = () => {
        if (this.msgs.length >= count) {
          clearTimeout(timer);
          resolve(this.msgs.slice(0, count));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  async first(timeoutMs = 2000): Promise<Record<string, any>> {
    return (await this.wait(1, timeoutMs))[0]!;
  }
}

/** Records every call of a spied node method (`error`, `warn`, `status`, `log`). */
export function spy(id: string, method: 'error' | 'warn' | 'status' | 'log'): Call[] {
  const calls: Call[] = [];
  node(id).on(`call:${method}`, (call: Call) => calls.push(call));
  return calls;
}

/** The text of a spied error or warn call: an Error's message or the string itself. */
export const text = (call: Call): string => {
  const a = call.args[0];
  return a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a);
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `check` returns something truthy. */
export async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 2000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export { rows } from './records';

/**
 * Tracks the interval timers created until `dispose()`, which clears those still
 * running and restores the globals, so a leaked timer cannot keep the test process alive.
 */
export function trackIntervals() {
  const live = new Map<NodeJS.Timeout, number>();
  const set = global.setInterval;
  const clear = global.clearInterval;
  global.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = set(fn, ms, ...args);
    live.set(t, ms ?? 0);
    return t;
  }) as unknown as typeof setInterval;
  global.clearInterval = ((t: NodeJS.Timeout | undefined) => {
    if (t) live.delete(t);
    clear(t);
  }) as typeof clearInterval;
  return {
    /** the periods of the intervals still running */
    running: () => [...live.values()],
    dispose() {
      for (const t of live.keys()) clear(t);
      live.clear();
      global.setInterval = set;
      global.clearInterval = clear;
    },
  };
}

/**
 * What the runtime logged since the flow loaded (the helper's spy on Node-RED's log), each entry
 * as JSON text: also what a node reported while it was being made, before `spy` could attach.
 */
export function runtimeLog(): string[] {
  const log = (helper as unknown as { log(): { args: unknown[][] } }).log();
  return log.args.map((a) => JSON.stringify(a[0]));
}
