/**
 * A bounded, insertion-ordered memory of recently seen keys. Used to drop QoS1
 * redeliveries (same packet twice) and to pair activity start/stop by event id.
 */
export class RecentMap<V> {
  private readonly entries = new Map<string, { value: V; atMs: number }>();

  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {}

  get(key: string, nowMs: number): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (nowMs - e.atMs > this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: string, nowMs: number): boolean {
    return this.get(key, nowMs) !== undefined;
  }

  set(key: string, value: V, nowMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, atMs: nowMs });
    if (this.entries.size > this.capacity) {
      // Map iterates in insertion order: the first key is the oldest.
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
