/**
 * The one place that maps a node's state to its status badge. Status updates
 * are throttled: at 20,000 messages a second, one update per message would
 * flood the editor's comms socket.
 */
import type { Node, NodeStatus } from 'node-red';

export type StatusLevel = 'ok' | 'busy' | 'warn' | 'error';

const LOOK: Record<StatusLevel, NodeStatus> = {
  ok: { fill: 'green', shape: 'dot' },
  busy: { fill: 'blue', shape: 'ring' },
  warn: { fill: 'yellow', shape: 'dot' },
  error: { fill: 'red', shape: 'ring' },
};

export class StatusReporter {
  private timer?: NodeJS.Timeout;
  private render?: () => [StatusLevel, string];

  constructor(
    private readonly node: Pick<Node, 'status'>,
    private readonly minIntervalMs = 500,
  ) {}

  /** Shown at once: state changes a user must see (connected, failed). */
  now(level: StatusLevel, text: string): void {
    this.render = undefined;
    this.node.status({ ...LOOK[level], text });
  }

  /** Coalesced: counters that change with every message. `render` runs when the update is shown. */
  soon(render: () => [StatusLevel, string]): void {
    this.render = render;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const r = this.render;
      this.render = undefined;
      if (r) {
        const [level, text] = r();
        this.node.status({ ...LOOK[level], text });
      }
    }, this.minIntervalMs);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.render = undefined;
    this.node.status({});
  }
}

/** Logs at most one warning per interval and says how many were folded in. */
export class ThrottledWarn {
  private lastMs = 0;
  private folded = 0;

  constructor(
    private readonly warn: (text: string) => void,
    private readonly intervalMs = 10_000,
  ) {}

  warnNow(text: string, nowMs = Date.now()): void {
    if (nowMs - this.lastMs < this.intervalMs) {
      this.folded++;
      return;
    }
    this.warn(this.folded > 0 ? `${text} (and ${this.folded} more since the last warning)` : text);
    this.lastMs = nowMs;
    this.folded = 0;
  }
}

export const compact = (n: number): string =>
  n < 10_000 ? String(n) : n < 10_000_000 ? `${Math.round(n / 1000)}k` : `${Math.round(n / 1e6)}M`;
