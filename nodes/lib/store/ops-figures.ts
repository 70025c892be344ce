/**
 * The store's figures for /metrics (cli/runtime/ops.ts): the SQL lives with the store, beside
 * the schema it reads, so a table change is made in one folder. Read-only, and none of it scans
 * a big table (issue 18): the dead-letter count is kept by triggers (table_counts, migration
 * 12), the others are index seeks that grow with the devices, streams or undelivered alerts,
 * never with the history.
 */
import type { Reader } from './read-pool';
import { STREAM_PATHS } from './queries';

export interface StoreFigures {
  deadLetters: number;
  alertsPending: number;
  streamsOnline: number;
  streamsKnown: number;
  camerasConnected: number;
}

export async function storeFigures(db: Reader): Promise<StoreFigures> {
  const n = async (sql: string) => (await db.get<{ n: number }>(sql))?.n ?? 0;
  const streams = await db.get<{ known: number; online: number | null }>(
    `WITH RECURSIVE ${STREAM_PATHS}
     SELECT count(*) AS known,
            sum(CASE WHEN (SELECT online FROM stream_health WHERE path = p.path ORDER BY time_ms DESC LIMIT 1) = 1 THEN 1 ELSE 0 END) AS online
       FROM paths p WHERE p.path IS NOT NULL`,
  );
  return {
    deadLetters: await n(`SELECT n AS n FROM table_counts WHERE name = 'dead_letters'`),
    // alerts_outbox_due (state, next_attempt_ms): three range counts over undelivered rows only.
    alertsPending: await n(`SELECT count(*) AS n FROM alerts_outbox WHERE state IN ('pending', 'waiting', 'sending')`),
    streamsOnline: streams?.online ?? 0,
    streamsKnown: streams?.known ?? 0,
    // camera_registry_connection (migration 12)
    camerasConnected: await n(`SELECT count(*) AS n FROM camera_registry WHERE connection_status = 'connected'`),
  };
}
