/**
 * What the store's writer last committed of each device's liveness in camera_registry (its
 * `last_seen` second and `heard_ms`), so that a batch can leave out a registry row that would
 * only say "heard again, within the same second".
 *
 * Every stored message of a device used to rewrite its registry row: a device sending 20
 * messages a second rewrote it 20 times, and that upsert was a third of the writer's time
 * (docs/benchmarks.md). A row carrying anything else (a connection change, battery, signal,
 * address, mode, name, an alert) is always written; a pure touch is left out only while the
 * stored row already has the same `last_seen` second and a `heard_ms` less than `staleMs` old.
 * So `last_seen` stays exact and `heard_ms` (the missed-heartbeat sweep's clock, which counts
 * in tens of seconds) is at most `staleMs` behind.
 *
 * The memory is this writer's: another runtime's writes only make the stored row newer (both
 * columns keep the greatest value). A row deleted behind the writer's back (an IP camera
 * removed) comes back with the device's next write, at most `staleMs` later; the writer also
 * forgets everything after each task that may delete (BatchWriter.exclusive).
 */

/** A device's liveness as a registry row of the batch carries it. */
export interface RegistryTouch {
  deviceId: string;
  deviceType: string;
  /** `last_seen`, Unix seconds; null: the row says nothing of it */
  lastSeenSec: number | null;
  /** `heard_ms`; null: the row says nothing of it */
  heardMs: number | null;
}

interface Remembered {
  deviceType: string;
  lastSeenSec: number;
  heardMs: number;
}

export class RegistryTouches {
  private readonly committed = new Map<string, Remembered>();
  /** rows of the transaction being written; remembered once it commits */
  private pending: RegistryTouch[] = [];

  constructor(
    private readonly staleMs = 1000,
    /** devices remembered at most: past it the memory starts again (only costs writes) */
    private readonly maxDevices = 50_000,
  ) {}

  /** Whether a row saying only `touch` would change nothing the stored row lacks (within staleMs). */
  covers(touch: RegistryTouch): boolean {
    const known = this.committed.get(touch.deviceId);
    return (
      known !== undefined &&
      known.deviceType === touch.deviceType &&
      touch.lastSeenSec !== null &&
      touch.lastSeenSec <= known.lastSeenSec &&
      touch.heardMs !== null &&
      touch.heardMs - known.heardMs < this.staleMs
    );
  }

  /** A row of the transaction being built. */
  writing(touch: RegistryTouch): void {
    this.pending.push(touch);
  }

  /** The transaction committed: its rows are what the store holds (at least). */
  commit(): void {
    for (const t of this.pending) {
      const known = this.committed.get(t.deviceId);
      // Both columns keep the greatest value in the store; a row without one leaves it as it was.
      const lastSeenSec = Math.max(t.lastSeenSec ?? -Infinity, known?.lastSeenSec ?? -Infinity);
      const heardMs = Math.max(t.heardMs ?? -Infinity, known?.heardMs ?? -Infinity);
      if (Number.isFinite(lastSeenSec) && Number.isFinite(heardMs)) this.committed.set(t.deviceId, { deviceType: t.deviceType, lastSeenSec, heardMs });
      else this.committed.delete(t.deviceId);
    }
    this.pending = [];
    if (this.committed.size > this.maxDevices) this.committed.clear();
  }

  /** The transaction did not commit. */
  rollback(): void {
    this.pending = [];
  }

  /** Rows may have changed behind this memory: write every device's next row. */
  forget(): void {
    this.committed.clear();
    this.pending = [];
  }
}
