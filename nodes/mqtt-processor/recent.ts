/**
 * A bounded memory of recently seen keys. Used to drop QoS1 redeliveries (same
 * packet twice) and to pair activity start/stop by event id.
 *
 * Two generations instead of LRU eviction: when the young map fills, it becomes
 * the old one and the previous old one is dropped whole. Evicting the oldest key
 * of a single Map one at a time looked O(1) but was not: V8 skips every deleted
 * slot on `keys().next()`, and that scan was 11 % of ingest CPU.
 */
export class RecentMap<V> {
  private young = new Map<string, { value: V; atMs: number }>();
  private old = new Map<string, { value: V; atMs: number }>();

  /** Remembers at least `capacity` and at most 2 × `capacity` keys. */
  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {}

  get(key: string, nowMs: number): V | undefined {
    const e = this.young.get(key) ?? this.old.get(key);
    if (!e) return undefined;
    if (nowMs - e.atMs > this.maxAgeMs) {
      this.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: string, nowMs: number): boolean {
    return this.get(key, nowMs) !== undefined;
  }

  set(key: string, value: V, nowMs: number): void {
    this.old.delete(key);
    this.young.set(key, { value, atMs: nowMs });
    if (this.young.size >= this.capacity) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  delete(key: string): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}
