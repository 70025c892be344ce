/**
 * Which side of its limit each device's sensor was last seen on (migration 26, issue 21), so
 * that runtimes sharing one database raise one `sensor-out-of-range` alert per crossing,
 * whichever of them handles the readings. The hysteresis itself (how far back inside a reading
 * must come) is the processor's (mqtt-processor/sensor-limits.ts); this keeps its state.
 *
 * Each row is last-writer-wins by the device's time: a reading handled late (by a slower
 * runtime, or redelivered) never undoes what a newer reading set.
 *
 * Shared database (PostgreSQL, several runtimes): no runtime's memory can be trusted, since
 * another may have seen the device's last readings.
 * - A reading out of range claims the crossing in one statement: of two runtimes racing for
 *   it, one wins. One round trip per reading out of range, none for the others.
 * - A reading back well inside is queued and written with the next record transaction, one
 *   statement for all readings queued meanwhile.
 *
 * One box (SQLite): this runtime is the only writer, so its memory of the table is the truth,
 * loaded once at open. Decisions are made in memory, as fast as before; a change of side is
 * written through with the next record transaction (one statement per transaction), so a
 * restart does not alert again for a limit already crossed.
 */
import type { Exclusive } from './command-queue';
import { sqlOf } from './dialect';
import type { JoinRecords } from './outbox';

export type LimitSide = 'low' | 'high';
export type StoredSide = LimitSide | 'in';

/** Where the processor's sensor-limit state is kept: in its own memory, or here. */
export interface LimitMemory {
  /**
   * A reading out on `side`: whether it is the crossing (it alerts). A reading seen again (the
   * same side and time, a redelivery) is the crossing again: its alert may not have reached the
   * outbox, whose key keeps it one alert if it did.
   */
  cross(deviceId: string, metric: string, side: LimitSide, timeMs: number): boolean | Promise<boolean>;
  /** A reading back well inside its range: the limit alerts at its next crossing. */
  rearm(deviceId: string, metric: string, timeMs: number): void | Promise<void>;
}

interface State {
  side: StoredSide;
  timeMs: number;
}

const COLUMNS = ['device_id', 'metric', 'side', 'time_ms'] as const;

/** Wins when the stored side is another, set by an older reading (or none is stored), or it is this very reading. */
const CROSS_SQL = `
  INSERT INTO sensor_limit_states (device_id, metric, side, time_ms) VALUES (?1, ?2, ?3, ?4)
  ON CONFLICT (device_id, metric) DO UPDATE SET side = excluded.side, time_ms = excluded.time_ms
  WHERE (sensor_limit_states.side <> excluded.side AND sensor_limit_states.time_ms < excluded.time_ms)
     OR (sensor_limit_states.side = excluded.side AND sensor_limit_states.time_ms = excluded.time_ms)
  RETURNING side`;

export class SensorLimitStates implements LimitMemory {
  /** one box: the table as this runtime wrote it (loaded at open), by device, then metric (no key built per reading) */
  private readonly known?: Map<string, Record<string, State | undefined>>;
  /** changes waiting for the next record transaction: key → the newest */
  private pending = new Map<string, State & { deviceId: string; metric: string }>();
  private queued?: Promise<void>;

  private constructor(
    private readonly exclusive: Exclusive,
    private readonly joinRecords: JoinRecords,
    /** several runtimes share the database (PostgreSQL) */
    readonly shared: boolean,
  ) {
    if (!shared) this.known = new Map();
  }

  static async open(exclusive: Exclusive, joinRecords: JoinRecords, shared: boolean): Promise<SensorLimitStates> {
    const states = new SensorLimitStates(exclusive, joinRecords, shared);
    if (states.known) {
      const rows = await exclusive((db) =>
        db.all<{ device_id: string; metric: string; side: StoredSide; time_ms: number }>(
          'SELECT device_id, metric, side, time_ms FROM sensor_limit_states',
        ),
      );
      for (const r of rows) states.stateOf(r.device_id)[r.metric] = { side: r.side, timeMs: r.time_ms };
    }
    return states;
  }

  cross(deviceId: string, metric: string, side: LimitSide, timeMs: number): boolean | Promise<boolean> {
    if (!this.known) return this.claim(deviceId, metric, side, timeMs);
    const device = this.stateOf(deviceId);
    const was = device[metric];
    if (was?.side === side) return was.timeMs === timeMs;
    if (was && was.timeMs > timeMs) return false; // a late reading: a newer one decided already
    device[metric] = { side, timeMs };
    // Memory is this box's truth: a write that fails leaves only the table behind (a restart
    // may alert once more), and the store reports the failed transaction with its records.
    void this.write(deviceId, metric, { side, timeMs }).catch(() => undefined);
    return true;
  }

  rearm(deviceId: string, metric: string, timeMs: number): void | Promise<void> {
    if (!this.known) return this.write(deviceId, metric, { side: 'in', timeMs });
    const device = this.stateOf(deviceId);
    const was = device[metric];
    if (was && (was.side === 'in' || was.timeMs > timeMs)) return;
    device[metric] = { side: 'in', timeMs };
    return this.write(deviceId, metric, { side: 'in', timeMs });
  }

  private stateOf(deviceId: string): Record<string, State | undefined> {
    let device = this.known!.get(deviceId);
    if (!device) this.known!.set(deviceId, (device = Object.create(null) as Record<string, State | undefined>));
    return device;
  }

  /** Shared database: the crossing claimed in one statement. */
  private claim(deviceId: string, metric: string, side: LimitSide, timeMs: number): Promise<boolean> {
    return this.exclusive(async (db) => (await db.get<{ side: string }>(CROSS_SQL, [deviceId, metric, side, timeMs])) !== undefined);
  }

  /** Queues a change for the next record transaction; resolves once it is written. */
  private write(deviceId: string, metric: string, state: State): Promise<void> {
    const key = keyOf(deviceId, metric);
    const had = this.pending.get(key);
    if (!had || had.timeMs <= state.timeMs) this.pending.set(key, { deviceId, metric, ...state });
    if (!this.queued) {
      const queued = this.writeQueued();
      this.queued = queued;
      // Refused before it ran (the store closing): the next change queues afresh.
      queued.catch(() => this.queued === queued && (this.queued = undefined));
    }
    return this.queued;
  }

  private writeQueued(): Promise<void> {
    let rows: Array<[string, string, StoredSide, number]> | undefined;
    return this.joinRecords(async (db) => {
      // Taken once: a joined task may run again (batch-writer.ts) and must write the same rows.
      if (!rows) {
        this.queued = undefined;
        // Sorted, so two runtimes' transactions lock shared rows in the same order (no deadlock);
        // one row per key, as PostgreSQL's ON CONFLICT must not touch a row twice in one statement.
        rows = [...this.pending.values()]
          .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.metric < b.metric ? -1 : 1))
          .map((r) => [r.deviceId, r.metric, r.side, r.timeMs]);
        this.pending = new Map();
      }
      const sql = sqlOf(db);
      await db.run(
        `INSERT INTO sensor_limit_states (${COLUMNS.join(', ')}) ${sql.rowsSource('sensor_limit_states', COLUMNS)}
         ON CONFLICT (device_id, metric) DO UPDATE SET side = excluded.side, time_ms = excluded.time_ms
         WHERE sensor_limit_states.side <> excluded.side AND sensor_limit_states.time_ms < excluded.time_ms`,
        [sql.rowsParam(COLUMNS, rows)],
      );
    });
  }
}

function keyOf(deviceId: string, metric: string): string {
  return `${deviceId}\u0000${metric}`;
}
