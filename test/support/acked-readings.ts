/**
 * A Pi's readings for "nothing acknowledged is lost" tests: each has its own
 * device time (`base + n`, sensor readings being keyed by device and time), is
 * published with QoS 1, and counts as acknowledged when its PUBACK arrives.
 */
import type { MqttClient } from 'mqtt';
import { environment, topics } from './fixtures';

export class AckedReadings {
  /** device times of the readings the broker acknowledged */
  readonly acked = new Set<number>();
  private next = 0;

  constructor(
    private readonly client: () => MqttClient,
    readonly base = Date.now() - 60_000,
  ) {}

  /** Publishes `count` readings; resolves when all are acknowledged. */
  async publish(count: number): Promise<void> {
    const batch: Array<Promise<unknown>> = [];
    for (let i = 0; i < count; i++) {
      const t = this.base + this.next++;
      batch.push(
        this.client()
          .publishAsync(topics.environment(), JSON.stringify(environment(t)), { qos: 1 })
          .then(() => this.acked.add(t)),
      );
    }
    await Promise.all(batch);
  }

  /** The acknowledged readings whose device time is not among `stored`. */
  lost(stored: ReadonlySet<number>): number[] {
    return [...this.acked].filter((t) => !stored.has(t));
  }

  /**
   * Waits until every acknowledged reading is among the stored times (or `timeoutMs` is up) and
   * returns those still missing. Comparing counts is not enough: readings sent before the
   * subscription existed are stored but not counted, and would end the wait early.
   */
  async missingAfter(storedTimes: () => Promise<ReadonlySet<number>>, timeoutMs: number): Promise<number[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const lost = this.lost(await storedTimes());
      if (lost.length === 0 || Date.now() > end) return lost;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
