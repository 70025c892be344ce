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
 * another may have seen the device's last readings. A reading past a limit claims the crossing,
 * a reading back well inside rearms it; both are queued and written with the runtime's next
 * record transaction, all of them in ONE conditional upsert whose RETURNING names the crossings
 * this runtime won: of two runtimes racing, one wins (the other's upsert waits for the row and
 * then finds it taken). No round trip or commit of their own per reading. Measured with every
 * reading of 1,000 Pis past its limit, a claim per reading of its own (a statement and a commit
 * on the writer between batches) held ingest to about 1,000 readings/s.
 *
 * One box (SQLite): this runtime is the only writer, so its memory of the table is the truth,
 * loaded once at open. Decisions are made in memory, as fast as before; a change of side is
 * written through the same way, so a restart does not alert again for a limit already crossed.
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

/** A change waiting for the next record transaction, and who waits for its outcome. */
interface Change extends State {
  deviceId: string;
  metric: string;
  waiters: Array<{ resolve: (won: boolean) => void; reject: (err: unknown) => void }>;
}

const COLUMNS = ['device_id', 'metric', 'side', 'time_ms'] as const;

/**
 * A row changes when the stored side is another one set by an older reading (or none is
 * stored), and a crossing also when the row is this very reading (a redelivery). RETURNING: the
 * rows changed, so the crossings won.
 */
const upsertSql = (source: string) => `
  INSERT INTO sensor_limit_states (${COLUMNS.join(', ')}) ${source}
  ON CONFLICT (device_id, metric) DO UPDATE SET side = excluded.side, time_ms = excluded.time_ms
  WHERE (sensor_limit_states.side <> excluded.side AND sensor_limit_states.time_ms < excluded.time_ms)
     OR (excluded.side <> 'in' AND sensor_limit_states.side = excluded.side AND sensor_limit_states.time_ms = excluded.time_ms)
  RETURNING device_id, metric`;

export class SensorLimitStates implements LimitMemory {
  /** one box: the table as this runtime wrote it (loaded at open), by device, then metric (no key built per reading) */
  private readonly known?: Map<string, Record<string, State | undefined>>;
  /** changes waiting for the next record transaction, in arrival order per device and metric */
  private pending = new Map<string, Change[]>();
  /** a write queued with the record transactions, not yet committed */
  private writing = false;

  private constructor(
    private readonly joinRecords: JoinRecords,
    /** several runtimes share the database (PostgreSQL) */
    readonly shared: boolean,
  ) {
    if (!shared) this.known = new Map();
  }

  static async open(exclusive: Exclusive, joinRecords: JoinRecords, shared: boolean): Promise<SensorLimitStates> {
    const states = new SensorLimitStates(joinRecords, shared);
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
    if (!this.known) return this.queue(deviceId, metric, side, timeMs);
    const device = this.stateOf(deviceId);
    const was = device[metric];
    if (was?.side === side) return was.timeMs === timeMs;
    if (was && was.timeMs > timeMs) return false; // a late reading: a newer one decided already
    device[metric] = { side, timeMs };
    // Memory is this box's truth: a write that fails leaves only the table behind (a restart
    // may alert once more), and the store reports the failed transaction with its records.
    void this.queue(deviceId, metric, side, timeMs).catch(() => undefined);
    return true;
  }

  rearm(deviceId: string, metric: string, timeMs: number): void | Promise<void> {
    if (this.known) {
      const device = this.stateOf(deviceId);
      const was = device[metric];
      if (was && (was.side === 'in' || was.timeMs > timeMs)) return;
      device[metric] = { side: 'in', timeMs };
    }
    return this.queue(deviceId, metric, 'in', timeMs).then(() => undefined);
  }

  private stateOf(deviceId: string): Record<string, State | undefined> {
    let device = this.known!.get(deviceId);
    if (!device) this.known!.set(deviceId, (device = Object.create(null) as Record<string, State | undefined>));
    return device;
  }

  /** Queues a change for the next record transaction; resolves with whether it changed the row. */
  private queue(deviceId: string, metric: string, side: StoredSide, timeMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const key = `${deviceId}\u0000${metric}`;
      const changes = this.pending.get(key);
      const last = changes?.at(-1);
      if (last && last.side === 'in' && side === 'in') {
        // Readings back inside one after another are one change, at the newest time.
        last.timeMs = Math.max(last.timeMs, timeMs);
        last.waiters.push({ resolve, reject });
      } else {
        const change: Change = { deviceId, metric, side, timeMs, waiters: [{ resolve, reject }] };
        if (changes) changes.push(change);
        else this.pending.set(key, [change]);
      }
      this.writeSoon();
    });
  }

  /**
   * Joins the next record transaction with the first pending change of each device and metric
   * (one statement touches a row once); later ones go with the transaction after.
   */
  private writeSoon(): void {
    if (this.writing || this.pending.size === 0) return;
    this.writing = true;
    let taken: Change[] | undefined;
    void this.joinRecords(async (db) => {
      // Taken once: a joined task may run again (batch-writer.ts) and must write the same rows.
      taken ??= this.takeFirsts();
      const sql = sqlOf(db);
      const rows = taken.map((c): [string, string, StoredSide, number] => [c.deviceId, c.metric, c.side, c.timeMs]);
      return db.all<{ device_id: string; metric: string }>(upsertSql(sql.rowsSource('sensor_limit_states', COLUMNS)), [
        sql.rowsParam(COLUMNS, rows),
      ]);
    })
      .then(
        (changed) => {
          const won = new Set(changed.map((r) => `${r.device_id}\u0000${r.metric}`));
          for (const c of taken ?? []) for (const w of c.waiters) w.resolve(won.has(`${c.deviceId}\u0000${c.metric}`));
        },
        (err: unknown) => {
          // Refused before it ran (the store closing) takes everything pending with it.
          for (const c of taken ?? this.takeAll()) for (const w of c.waiters) w.reject(err);
        },
      )
      .finally(() => {
        this.writing = false;
        this.writeSoon();
      });
  }

  /** The first pending change of each key, sorted so two runtimes lock shared rows in one order (no deadlock). */
  private takeFirsts(): Change[] {
    const firsts: Change[] = [];
    for (const [key, changes] of this.pending) {
      firsts.push(changes.shift()!);
      if (changes.length === 0) this.pending.delete(key);
    }
    return firsts.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.metric < b.metric ? -1 : 1));
  }

  private takeAll(): Change[] {
    const all = [...this.pending.values()].flat();
    this.pending = new Map();
    return all;
  }
}
