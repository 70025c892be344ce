/**
 * aedes's in-memory persistence with retained messages kept in a topic tree.
 *
 * aedes-persistence 8 keeps retained messages in one array: every retained
 * publish (each Pi's online message on connect, its Last Will on a drop) copies
 * the array without the old one, and every SUBSCRIBE copies it and tests each
 * message against the new filters. With 5,000 Pis online that is 5,000 tests per
 * SUBSCRIBE and per retained publish, and a reconnect storm of all of them made
 * 2 × 25 million: the CPU profile of the fleet bench (bench/fleet.ts) had it as
 * the largest share of the ~11 s a core spent at 100 %.
 *
 * Here a retained message is stored at its topic's node and a filter walks the
 * tree: a literal level is one map lookup, `+` visits the level's children, `#`
 * the subtree. A device's subscription (`prod/honeycomb/{id}/#`) reaches its own
 * few messages, whatever the number of devices. Everything else (subscriptions,
 * QoS queues, wills) is aedes-persistence's own.
 */
import { Readable } from 'node:stream';
import type { PublishPacket } from 'aedes';
import type { AedesMemoryPersistence } from 'aedes-persistence';

// aedes-persistence's module is its constructor; its types declare only the class.
const memoryPersistence = require('aedes-persistence') as () => AedesMemoryPersistence;

/** One topic level: the message retained at exactly this topic, and the levels below. */
interface Level {
  packet?: PublishPacket;
  children: Map<string, Level>;
}

const newLevel = (): Level => ({ children: new Map() });

export class RetainedTree {
  private readonly root = newLevel();
  private count = 0;
  /** levels visited by `match` since this tree was made (what the tests count, not time) */
  visited = 0;

  get size(): number {
    return this.count;
  }

  /** Keeps `packet` as its topic's retained message; an empty payload removes it (MQTT-3.3.1-10). */
  store(packet: PublishPacket): void {
    const levels = packet.topic.split('/');
    if (packet.payload.length === 0) return this.remove(levels);
    let at = this.root;
    for (const name of levels) {
      let next = at.children.get(name);
      if (!next) at.children.set(name, (next = newLevel()));
      at = next;
    }
    if (!at.packet) this.count++;
    at.packet = packet;
  }

  /** The retained messages matching any of `filters`, each once. */
  match(filters: readonly string[]): PublishPacket[] {
    const found = new Set<PublishPacket>();
    for (const filter of filters) this.collect(this.root, filter.split('/'), 0, found);
    return [...found];
  }

  private remove(levels: string[]): void {
    const path: Level[] = [this.root];
    for (const name of levels) {
      const next = path[path.length - 1]!.children.get(name);
      if (!next) return;
      path.push(next);
    }
    const last = path[path.length - 1]!;
    if (!last.packet) return;
    last.packet = undefined;
    this.count--;
    // Levels left holding nothing are pruned, so a fleet's churn of ids does not grow the tree.
    for (let i = levels.length; i > 0; i--) {
      const level = path[i]!;
      if (level.packet || level.children.size > 0) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
  }

  private collect(at: Level, filter: string[], depth: number, into: Set<PublishPacket>): void {
    this.visited++;
    if (depth === filter.length) {
      if (at.packet) into.add(at.packet);
      return;
    }
    const name = filter[depth]!;
    if (name === '#') {
      // `a/#` matches `a` too (MQTT-4.7.1-2).
      this.subtree(at, depth === 0, into);
      return;
    }
    if (name === '+') {
      for (const [child, level] of at.children) {
        // [MQTT-4.7.2-1]: a filter starting with a wildcard does not match $-topics.
        if (depth === 0 && child.startsWith('$')) continue;
        this.collect(level, filter, depth + 1, into);
      }
      return;
    }
    const next = at.children.get(name);
    if (next) this.collect(next, filter, depth + 1, into);
  }

  private subtree(at: Level, top: boolean, into: Set<PublishPacket>): void {
    this.visited++;
    if (at.packet) into.add(at.packet);
    for (const [child, level] of at.children) if (!(top && child.startsWith('$'))) this.subtree(level, false, into);
  }
}

/** What aedes calls on its persistence for retained messages (the rest is aedes-persistence's). */
export interface RetainedPersistence {
  storeRetained(packet: PublishPacket, cb: (err: Error | null) => void): void;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

/** aedes-persistence's memory persistence, retained messages in a RetainedTree; pass as aedes's `persistence`. */
export function indexedMemoryPersistence(tree = new RetainedTree()): RetainedPersistence & { retained: RetainedTree } {
  const persistence = memoryPersistence() as unknown as RetainedPersistence & { retained: RetainedTree; _retained: unknown };
  // The array is not used any more; its methods below are the only ones that read it.
  persistence._retained = null;
  persistence.retained = tree;
  persistence.storeRetained = (packet, cb) => {
    // A copy, as aedes-persistence keeps one: aedes reuses the packet object it was given.
    tree.store({ ...packet });
    cb(null);
  };
  persistence.createRetainedStream = (pattern) => Readable.from(tree.match([pattern]));
  persistence.createRetainedStreamCombi = (patterns) => Readable.from(tree.match(patterns));
  return persistence;
}
