/**
 * Whether Node-RED's flows run now, from the runtime's own events.
 *
 * Neither `RED.start()` nor a deploy (`setFlows`) waits for the flows to start: a runtime
 * that opened its doors then answered 404 for every route an `http in` node serves, and
 * /healthz said "started" meanwhile. Node-RED says when the flows have started
 * (`flows:started`) and when they stop or will not start (`runtime-event` runtime-state:
 * a deploy's stop, missing node types, a credentials file it cannot decrypt, safe mode).
 */
import type { EventEmitter } from 'node:events';

interface RuntimeStateEvent {
  id?: string;
  payload?: { state?: string; error?: string };
}

export class FlowState {
  private running = false;
  private waiters: Array<() => void> = [];

  constructor(events: EventEmitter) {
    events.on('flows:started', () => {
      this.running = true;
      this.settle();
    });
    events.on('runtime-event', (event: RuntimeStateEvent) => {
      if (event?.id !== 'runtime-state' || !event.payload) return;
      const { state, error } = event.payload;
      if (state === 'start') this.running = true;
      else if (state === 'stop' || state === 'safe') this.running = false;
      // Stopped for a reason (missing types, safe mode): the editor must open so someone can fix it.
      if (error) this.settle();
    });
  }

  /**
   * Resolves at the next start of the flows, or the next word that they will not start.
   * Ask before what starts them (RED.start(), a deploy): the events may come before its promise does.
   */
  next(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** whether the flows run now (false while they start, during a full deploy's stop, when they cannot start) */
  get started(): boolean {
    return this.running;
  }

  private settle(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
