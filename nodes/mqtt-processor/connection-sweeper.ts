/**
 * The leader's sweep of the shared connection state (issue 21, the cluster role): every
 * `everyMs` it asks the store which online/offline announcements are due and claims them
 * (nodes/lib/store/connection-sweep.ts), then hands what it claimed to `announce`. It replaces
 * connection-alerts.ts' timers where runtimes share the store. The node runs it `whileLeader`.
 */
import type { SweepLimits, SweptDevice } from '../lib/store/connection-sweep';

export interface ConnectionSweeperOptions {
  /** claims what is due in the store (EventStore.sweepConnections) */
  sweep(limits: SweepLimits): Promise<SweptDevice[]>;
  /** what a sweep claimed: to be sent on, even when the sweeper stopped meanwhile (it is claimed) */
  announce(swept: SweptDevice[]): void;
  /** a sweep that failed (the database is away): the next one tries again */
  failed(err: Error): void;
  debounceMs: number;
  /** 0: devices are never marked offline for silence */
  silentMs: number;
  everyMs: number;
  now?: () => number;
}

/** The default pace: the offline alert comes at most this much after its debounce, the online alert this much after the reconnection. */
export const SWEEP_EVERY_MS = 2000;

/** Starts sweeping now, then every `everyMs` after the previous sweep ended; returns the stop. */
export function startSweeping(o: ConnectionSweeperOptions): () => void {
  const now = o.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = async () => {
    timer = undefined;
    try {
      const swept = await o.sweep({ nowMs: now(), debounceMs: o.debounceMs, silentMs: o.silentMs });
      if (swept.length) o.announce(swept);
    } catch (err) {
      o.failed(err as Error);
    }
    if (!stopped) timer = setTimeout(() => void run(), o.everyMs);
  };
  void run();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
