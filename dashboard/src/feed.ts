/**
 * The live feed (/api/ws): one WebSocket for the whole page, reconnected with
 * backoff. Close code 4001 means the session ended: the page shows the login.
 */
import { LIVE_FEED_PATH } from '../../nodes/lib/contract/api-paths';
import type { FeedMessage } from '../../nodes/lib/contract/feed';

export type FeedState = 'connecting' | 'live' | 'reconnecting';
type Listener = (m: FeedMessage) => void;

export class LiveFeed {
  private ws?: WebSocket;
  private readonly listeners = new Set<Listener>();
  private retryMs = 1000;
  private timer?: number;
  private stopped = false;

  constructor(
    private readonly onState: (s: FeedState, detail?: string) => void,
    private readonly onSessionEnded: () => void,
  ) {}

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000, 'page closed');
    this.ws = undefined;
  }

  private connect(): void {
    this.onState(this.retryMs > 1000 ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${LIVE_FEED_PATH}`);
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 1000;
      this.onState('live');
    };
    ws.onmessage = (e: MessageEvent<string>) => {
      let m: FeedMessage;
      try {
        m = JSON.parse(e.data) as FeedMessage;
      } catch {
        return; // not ours to crash on
      }
      for (const l of this.listeners) l(m);
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.ws !== ws || this.stopped) return;
      if (e.code === 4001) return this.onSessionEnded();
      const wait = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, 30_000);
      this.onState('reconnecting', `live updates lost; retrying in ${Math.round(wait / 1000)} s`);
      this.timer = window.setTimeout(() => this.connect(), wait);
    };
  }
}
