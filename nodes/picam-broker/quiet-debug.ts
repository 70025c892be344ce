/**
 * aedes, loaded so that its MQTT parser and writer (mqtt-packet) do not pay for
 * logging nobody asked for. mqtt-packet calls the `debug` package about twelve
 * times per packet (`debug('parse: packet.length: %d, …', …)`); a disabled
 * `debug` still takes its arguments as a rest array and reads a getter before it
 * returns, which made 6 % of all bytes the runtime allocated in the ingest bench
 * and ~2 % of its CPU, for every packet of every device.
 *
 * While aedes loads, mqtt-packet's `require('debug')` gets a factory that hands
 * out the real logger for namespaces enabled at that moment (`DEBUG=mqtt-packet:*`
 * at start still logs everything) and a no-op for the others. What is lost: turning
 * mqtt-packet's logging on later, in a running process (`debug.enable()`), has no
 * effect on the broker's parser. Nothing else changes: the same modules, the same
 * parser, only its log calls are empty functions.
 *
 * If something else in the process loaded aedes first (node-red-contrib-aedes in a
 * runtime that has it installed, as the bench's stock baseline does, or a test's own
 * broker), the broker gets its own copy of aedes's modules and its mqtt-packet, and
 * the other user keeps the modules it had.
 */
import { dirname, sep } from 'node:path';
import type createAedes from 'aedes';

type Logger = ((...args: unknown[]) => void) & { enabled?: boolean };
type CreateDebug = (namespace: string) => Logger;

const QUIET_IN = `${sep}mqtt-packet${sep}`;

// Takes no arguments: V8 does not build an array for arguments a function never reads.
const noop: Logger = () => undefined;

export function quietDebug(createDebug: CreateDebug): CreateDebug {
  return (namespace) => {
    const logger = createDebug(namespace);
    return logger.enabled ? logger : noop;
  };
}

type Require = (this: { filename?: string }, id: string) => unknown;

/** `require('aedes')`, with mqtt-packet's `debug` quiet (see above). */
export function loadAedes(): typeof createAedes {
  const Module = require('node:module') as { prototype: { require: Require } };
  const original = Module.prototype.require;
  Module.prototype.require = function (this: { filename?: string }, id: string) {
    const exported = original.call(this, id);
    return id === 'debug' && this.filename?.includes(QUIET_IN) ? quietDebug(exported as CreateDebug) : exported;
  };
  // aedes's own modules and its mqtt-packet come out of the cache for this load; the packages
  // they share with the other user (streams above all: two copies of readable-stream's classes
  // break each other's instanceof checks) stay as they are.
  const folder = dirname(require.resolve('aedes')) + sep;
  const nested = `${folder}node_modules${sep}`;
  const reload = (path: string) => path.startsWith(folder) && (!path.startsWith(nested) || path.includes(QUIET_IN));
  const loaded = Object.entries(require.cache).filter(([path]) => reload(path));
  for (const [path] of loaded) delete require.cache[path];
  try {
    return require('aedes') as typeof createAedes;
  } finally {
    Module.prototype.require = original;
    for (const [path, module] of loaded) require.cache[path] = module;
  }
}
