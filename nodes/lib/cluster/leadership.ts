/**
 * Which runtime runs the jobs that must run once (issue 21, item 4): retention, the Telegram
 * command poller, MediaMTX polling. One interface, two answers:
 * - one box (SQLite): the runtime is always the leader, no database work (`SINGLE_BOX`);
 * - the cluster role (PostgreSQL): an advisory lock decides (postgres-leadership.ts).
 * The nodes ask `leadershipOf(RED.settings)` and run their job `whileLeader`; this file loads no
 * database client, so a node on one box pulls in nothing of PostgreSQL.
 */

export type LeadershipRole = 'leader' | 'follower';

export interface LeadershipStatus {
  role: LeadershipRole;
  /** 'single-box': SQLite, always the leader; 'postgres': an advisory lock decides */
  mode: 'single-box' | 'postgres';
  /** when this runtime took its current role (Unix ms) */
  sinceMs: number;
  /** why this runtime cannot contend now (the database cannot be reached); no secret in it */
  problem?: string;
}

export interface Leadership {
  readonly isLeader: boolean;
  status(): LeadershipStatus;
  /** `listener(true)` when this runtime becomes the leader, `(false)` when it stops being it; returns the unsubscribe */
  onChange(listener: (leader: boolean) => void): () => void;
  close(): Promise<void>;
}

/** One box: always the leader. Nothing to close. */
export const SINGLE_BOX: Leadership = Object.freeze({
  isLeader: true,
  status: () => ({ role: 'leader', mode: 'single-box', sinceMs: 0 }) as LeadershipStatus,
  onChange: () => () => undefined,
  close: () => Promise.resolve(),
});

/** What stops a job that `whileLeader` started. */
export type StopJob = () => void | Promise<void>;

/**
 * Runs a job while this runtime leads: `start` now if it leads, its stop when leadership goes,
 * `start` again when it comes back. The returned function stops following (and the job).
 */
export function whileLeader(leadership: Leadership, start: () => StopJob, onStopError?: (err: Error) => void): () => void {
  let stop: StopJob | undefined;
  const follow = (leader: boolean) => {
    if (leader && !stop) stop = start();
    else if (!leader && stop) {
      const s = stop;
      stop = undefined;
      // At once, not later: a node closing stops its job before it clears its status.
      try {
        void Promise.resolve(s()).catch((err: Error) => onStopError?.(err));
      } catch (err) {
        onStopError?.(err as Error);
      }
    }
  };
  const unsubscribe = leadership.onChange(follow);
  follow(leadership.isLeader);
  return () => {
    unsubscribe();
    follow(false);
  };
}

/** The runtime's leadership from Node-RED's settings (`picamLeadership`); without one (a stock Node-RED, one box) always the leader. */
export function leadershipOf(settings: unknown): Leadership {
  const l = (settings as { picamLeadership?: Partial<Leadership> } | undefined)?.picamLeadership;
  return l && typeof l.onChange === 'function' && typeof l.status === 'function' ? (l as Leadership) : SINGLE_BOX;
}
