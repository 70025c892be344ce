/**
 * Leadership over PostgreSQL (the cluster role, issue 21; the interface is in leadership.ts).
 * The runtime holding a session-level advisory lock on a dedicated connection of its own is the
 * leader. The others try for the lock every `retryMs`. The lock lives exactly as long as the
 * leader's session: when the session dies (killed, closed, the process gone) PostgreSQL releases
 * it and the next follower to try takes it, so a failover costs at most one retry interval.
 *
 * A leader steps down at once when its session reports an error or ends, and when a check on
 * it does not answer in time (a partition: it cannot know whether the server still holds its
 * lock). The server ends a session idle longer than `idle_session_timeout`, which the leader
 * sets well above its own check interval plus timeout: a leader cut off has stepped down before
 * its lock can be given to another runtime.
 */
import pg from 'pg';
import { scrubbed } from '../store/postgres';
import { redactText } from '../redact';
import type { Leadership, LeadershipStatus } from './leadership';

/**
 * The lock's number: arbitrary but fixed, and unlike schema.ts's migration lock ("picam" in
 * ASCII) so the two never wait on each other. "leader" in ASCII.
 */
export const LEADER_LOCK = 0x6c6561646572;

export interface PostgresLeadershipOptions {
  /** `postgres://user:password@host:port/database`: the store's database */
  url: string;
  /** how often a follower tries for the lock (default 2 s) */
  retryMs?: number;
  /** how often the leader checks that its session still answers (default 2 s) */
  checkMs?: number;
  /** how long a check may take before the leader steps down (default 5 s: a busy event loop must not look like a lost session) */
  checkTimeoutMs?: number;
  /** shown in pg_stat_activity */
  applicationName?: string;
  /** the lock's number (tests run separate elections side by side) */
  lockKey?: number;
  log?: (message: string) => void;
  warn?: (message: string) => void;
}

export class PostgresLeadership implements Leadership {
  private leader = false;
  private sinceMs = Date.now();
  private problem?: string;
  /** a runtime that just lost its session does not try again before this: a follower takes over */
  private holdOffUntilMs = 0;
  private client?: pg.Client;
  private closed = false;
  private wake?: () => void;
  private readonly loop: Promise<void>;
  private readonly listeners = new Set<(leader: boolean) => void>();
  private readonly retryMs: number;
  private readonly checkMs: number;
  private readonly checkTimeoutMs: number;
  private readonly lockKey: number;
  /** the server process of the session that holds (or tries for) the lock, for tests and logs */
  sessionPid?: number;

  /** Starts contending in the background; `onChange` says when this runtime leads. */
  constructor(private readonly opts: PostgresLeadershipOptions) {
    this.retryMs = opts.retryMs ?? 2000;
    this.checkMs = opts.checkMs ?? 2000;
    this.checkTimeoutMs = opts.checkTimeoutMs ?? 5000;
    this.lockKey = opts.lockKey ?? LEADER_LOCK;
    this.loop = this.run();
  }

  get isLeader(): boolean {
    return this.leader;
  }

  status(): LeadershipStatus {
    return {
      role: this.leader ? 'leader' : 'follower',
      mode: 'postgres',
      sinceMs: this.sinceMs,
      ...(this.problem && { problem: this.problem }),
    };
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Steps down (jobs stop first), then ends the session: the lock is free for a follower at once. Safe twice. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.set(false);
      this.wake?.();
      await this.endSession();
    }
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        const client = this.client ?? (await this.connect());
        if (this.closed) break;
        if (this.leader) await client.query('SELECT 1');
        else if (Date.now() < this.holdOffUntilMs) {
          // Not yet: the others have their turn first.
        } else if ((await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS got', [this.lockKey])).rows[0]?.got)
          this.set(true);
        this.problem = undefined;
      } catch (err) {
        if (this.closed) break;
        this.lost(scrubbed(err, this.opts.url).message);
      }
      await this.pause(this.leader ? this.checkMs : this.retryMs);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.opts.url,
      application_name: this.opts.applicationName ?? 'picam-guardian leadership',
      // A check that does not answer is a lost session (pg rejects the query; we drop the connection).
      query_timeout: this.checkTimeoutMs,
      connectionTimeoutMillis: Math.max(this.checkTimeoutMs, 5000),
      keepAlive: true,
    });
    // The server killed or closed the session: the lock is gone with it, so is leadership, at once.
    client.on('error', (err) => this.client === client && this.lost(scrubbed(err, this.opts.url).message));
    client.on('end', () => this.client === client && this.lost('the leadership session ended'));
    try {
      await client.connect();
      this.sessionPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      // The server frees the lock of a leader that stopped checking (frozen, cut off) after this long,
      // by then the leader has stepped down on its own (checkMs + checkTimeoutMs).
      const idleMs = 3 * (this.checkMs + this.checkTimeoutMs);
      await client.query(`SET idle_session_timeout = ${Math.trunc(Math.max(idleMs, this.retryMs * 3))}`).catch((err: Error) => {
        this.opts.warn?.(`leadership: idle_session_timeout not set (PostgreSQL 14 or later has it): ${err.message}`);
      });
    } catch (err) {
      await client.end().catch(() => undefined /* never connected */);
      throw err;
    }
    this.client = client;
    return client;
  }

  /** The session is gone or cannot be trusted: not the leader any more; the loop connects again. */
  private lost(reason: string): void {
    const wasLeader = this.leader;
    this.problem = reason;
    // Its own session just failed: the healthier runtimes (trying every retryMs) come first.
    if (wasLeader) this.holdOffUntilMs = Date.now() + 2 * this.retryMs;
    this.set(false);
    void this.endSession();
    if (wasLeader) this.opts.warn?.(`leadership: lost (${reason}); trying again every ${this.retryMs / 1000} s`);
  }

  private async endSession(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.sessionPid = undefined;
    await client?.end().catch(() => undefined /* lost already: nothing to end */);
  }

  private set(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    this.sinceMs = Date.now();
    if (leader) this.opts.log?.(`leadership: this runtime is the leader (${redactText(this.opts.url)})`);
    for (const listener of [...this.listeners]) {
      try {
        listener(leader);
      } catch (err) {
        // One job that fails to start or stop must not keep the others from following.
        this.opts.warn?.(`leadership: a job failed to ${leader ? 'start' : 'stop'}: ${(err as Error).message}`);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
