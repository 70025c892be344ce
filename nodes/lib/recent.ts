/**
 * A bounded memory of recently seen keys. Used to drop QoS1 redeliveries (same
 * packet twice) and to pair activity start/stop by event id.
 *
 * Two generations instead of per-key eviction: when the young map fills, it
 * becomes the old one and the previous old one is dropped whole. Evicting the
 * oldest key of one Map at a time looked O(1) but was not: V8 skips every
 * deleted slot on `keys().next()`, and that scan was 11 % of ingest CPU.
 * Age is kept per generation, not per key (no object per entry for the garbage
 * collector to copy): a key is remembered for at least maxAge/2, at most maxAge
 * (and, under heavy traffic, for at least `capacity` newer keys).
 */
interface Generation<K, V> {
  entries: Map<K, V>;
  startedMs: number;
}

export class RecentMap<K, V> {
  private young: Generation<K, V>;
  private old: Generation<K, V>;

  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {
    this.young = { entries: new Map(), startedMs: -Infinity };
    this.old = { entries: new Map(), startedMs: -Infinity };
  }

  get(key: K, nowMs: number): V | undefined {
    this.expire(nowMs);
    const v = this.young.entries.get(key);
    return v !== undefined ? v : this.old.entries.get(key);
  }

  has(key: K, nowMs: number): boolean {
    return this.get(key, nowMs) !== undefined;
  }

  set(key: K, value: V, nowMs: number): void {
    this.expire(nowMs);
    if (this.young.entries.size === 0) this.young.startedMs = nowMs;
    this.old.entries.delete(key);
    this.young.entries.set(key, value);
    if (this.young.entries.size >= this.capacity) this.rotate(nowMs);
  }

  delete(key: K): void {
    this.young.entries.delete(key);
    this.old.entries.delete(key);
  }

  get size(): number {
    return this.young.entries.size + this.old.entries.size;
  }

  private rotate(nowMs: number): void {
    this.old = this.young;
    this.young = { entries: new Map(), startedMs: nowMs };
  }

  /**
   * A generation spans at most maxAge/2 and is dropped whole once its first key
   * is maxAge old, so every key is remembered for at least maxAge/2.
   */
  private expire(nowMs: number): void {
    if (this.old.entries.size > 0 && nowMs - this.old.startedMs > this.maxAgeMs) this.old = { entries: new Map(), startedMs: nowMs };
    if (this.young.entries.size > 0 && nowMs - this.young.startedMs > this.maxAgeMs / 2) this.rotate(nowMs);
  }
}

/**
 * A 53-bit fingerprint of two strings (two 32-bit multiply-xor lanes, as in the
 * well-known cyrb53 construction). Keys of this size make a false "duplicate"
 * among 40,000 remembered messages about a 1-in-10^11 event per message, and
 * a number key costs the garbage collector far less than the 250-byte string.
 */
export function fingerprint(head: string, body: string): number {
  let a = 0xdeadbeef ^ head.length;
  let b = 0x41c6ce57 ^ body.length;
  // Two strings without concatenating them: no third string to allocate.
  for (const text of [head, body]) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 2654435761);
      b = Math.imul(b ^ c, 1597334677);
    }
  }
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  return 4294967296 * (2097151 & b) + (a >>> 0);
}
