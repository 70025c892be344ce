/**
 * What a runtime shares with the other runtimes of a cluster (issue 21): who leads (the jobs
 * that must run once follow it, nodes/lib/cluster/leadership.ts) and the dashboard's live feed
 * (nodes/lib/cluster/shared-feed.ts). Given no PostgreSQL URL (one box, SQLite) the runtime
 * leads alone and its feed is its own, as before: no database work at all.
 */
import type { DashboardHub, FeedMessage } from '../../nodes/lib/contract/feed';
import { SINGLE_BOX, type Leadership } from '../../nodes/lib/cluster/leadership';
import { PostgresLeadership } from '../../nodes/lib/cluster/postgres-leadership';
import { SharedFeed } from '../../nodes/lib/cluster/shared-feed';

export interface ClusterOptions {
  /** the PostgreSQL store's URL (PICAM_DB_URL); undefined on one box */
  url?: string;
  /** the runtime's own WebSocket hub; undefined where there is no dashboard (the Pi) */
  hub?: DashboardHub;
  log(message: string): void;
  warn(message: string): void;
  /** for tests: a follower's retry interval */
  retryMs?: number;
}

export interface RuntimeCluster {
  leadership: Leadership;
  /** the hub the dashboard-feed node gets (picamDashboard): the runtime's own, and the others' records with PostgreSQL */
  hub?: DashboardHub;
  feed?: SharedFeed;
  close(): Promise<void>;
}

export function startCluster(opts: ClusterOptions): RuntimeCluster {
  if (!opts.url) return { leadership: SINGLE_BOX, hub: opts.hub, close: () => Promise.resolve() };
  const leadership = new PostgresLeadership({ url: opts.url, log: opts.log, warn: opts.warn, retryMs: opts.retryMs });
  const local = opts.hub;
  const feed = local ? new SharedFeed({ url: opts.url, deliver: (m) => local.broadcast(m), log: opts.log, warn: opts.warn }) : undefined;
  return {
    leadership,
    feed,
    hub: local && feed && sharedHub(local, feed),
    async close() {
      // The lock first: a follower takes over while this runtime still ends its feed.
      await leadership.close();
      await feed?.close();
    },
  };
}

/**
 * The hub the dashboard-feed node hands committed records to: shown on this runtime's
 * browsers, and sent to the other runtimes' (which skip nothing but their own).
 */
export function sharedHub(local: DashboardHub, feed: SharedFeed): DashboardHub {
  return {
    broadcast(message: FeedMessage) {
      local.broadcast(message);
      feed.publish(message);
    },
    clientCount: () => local.clientCount(),
  };
}
