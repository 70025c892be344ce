/**
 * The dashboard's live feed: one WebSocket server on the runtime's HTTP server
 * (path /api/ws), fed by the dashboard-feed node through Node-RED's settings.
 * Authentication happens before the upgrade (dashboard-server.ts); here each
 * socket remembers its session, so logout and expiry close it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { DashboardHub, FeedMessage } from '../../nodes/lib/contract/feed';
import { feedMessageAllowed } from '../../nodes/lib/access/camera-limit';

/** A browser that cannot keep up (a phone on a bad link) is skipped rather than buffered without end. */
const MAX_BUFFERED_BYTES = 1 << 20;
const PING_MS = 30_000;
/** How often sessions ended through another runtime (a cluster) are looked for among the sockets open here. */
export const ENDED_SESSIONS_CHECK_MS = 5_000;

/** Of the session ids given, those ended elsewhere (the access registry's `endedSessions`). */
export type EndedSessions = (ids: string[]) => Promise<string[]>;

interface Client {
  user: string | null;
  sessionId?: string;
  expiresMs?: number;
  /** the cameras this login may see (issue 23); null: all */
  cameras: string[] | null;
  alive: boolean;
}

export class LiveFeedHub implements DashboardHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly clients = new Map<WebSocket, Client>();
  private readonly timer: NodeJS.Timeout;
  private endedTimer: NodeJS.Timeout | undefined;
  /** messages not sent to a slow browser */
  skipped = 0;

  constructor(private readonly now: () => number = Date.now) {
    this.timer = setInterval(() => this.sweep(), PING_MS);
    this.timer.unref();
  }

  /** Completes an upgrade already authenticated by the caller. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, who: Omit<Client, 'alive'>): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { ...who, alive: true };
      this.clients.set(ws, client);
      ws.on('pong', () => (client.alive = true));
      ws.on('close', () => this.clients.delete(ws));
      ws.on('error', () => ws.terminate());
      // The feed is one-way: whatever a browser sends is ignored.
      this.send(ws, { type: 'hello', user: who.user, timeMs: this.now() });
    });
  }

  broadcast(message: FeedMessage): void {
    if (this.clients.size === 0) return;
    const data = JSON.stringify(message);
    for (const [ws, c] of this.clients) if (feedMessageAllowed(message, c.cameras)) this.sendRaw(ws, data);
  }

  clientCount(): number {
    return this.clients.size;
  }

  /** Logout: that session's sockets close at once (4001: the page shows the login again). */
  endSession(sessionId: string): void {
    for (const [ws, c] of this.clients) if (c.sessionId === sessionId) ws.close(4001, 'logged out');
  }

  /** A user's role, cameras or password changed, or the user is gone: their sockets close (4001) and log in again. */
  endUser(user: string): void {
    for (const [ws, c] of this.clients) if (c.user === user) ws.close(4001, 'login changed');
  }

  /**
   * A cluster: a session logged out through another runtime is refused here at its next request,
   * but its sockets here would stay open; every `everyMs` they are looked up (one query for all),
   * and those ended close (4001). `failed` hears why a look-up failed (the sockets stay meanwhile).
   */
  watchEndedSessions(ended: EndedSessions, failed: (err: Error) => void, everyMs = ENDED_SESSIONS_CHECK_MS): void {
    clearInterval(this.endedTimer);
    this.endedTimer = setInterval(() => {
      const ids = [...new Set([...this.clients.values()].flatMap((c) => (c.sessionId === undefined ? [] : [c.sessionId])))];
      if (ids.length > 0) ended(ids).then((gone) => gone.forEach((id) => this.endSession(id)), failed);
    }, everyMs);
    this.endedTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.endedTimer);
    for (const ws of this.clients.keys()) ws.terminate();
    this.clients.clear();
    await new Promise<void>((ok) => this.wss.close(() => ok()));
  }

  private send(ws: WebSocket, message: FeedMessage): void {
    this.sendRaw(ws, JSON.stringify(message));
  }

  private sendRaw(ws: WebSocket, data: string): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.skipped++;
      return;
    }
    ws.send(data);
  }

  /** Drops sockets that stopped answering pings and sessions that expired. */
  private sweep(): void {
    const now = this.now();
    for (const [ws, c] of this.clients) {
      if (c.expiresMs !== undefined && c.expiresMs <= now) {
        ws.close(4001, 'session expired');
      } else if (!c.alive) {
        ws.terminate();
      } else {
        c.alive = false;
        ws.ping();
      }
    }
  }
}
