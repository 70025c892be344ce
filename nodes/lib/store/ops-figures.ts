/**
 * The store's figures for /metrics (cli/runtime/ops.ts): the SQL lives with the store, beside
 * the schema it reads, so a table change is made in one folder. Counts only, read-only.
 */
import type { Connection } from './sqlite';

export interface StoreFigures {
  deadLetters: number;
  alertsPending: number;
  streamsOnline: number;
  streamsKnown: number;
  camerasConnected: number;
}

export async function storeFigures(db: Connection): Promise<StoreFigures> {
  const n = async (sql: string) => (await db.get<{ n: number }>(sql))?.n ?? 0;
  return {
    deadLetters: await n('SELECT count(*) AS n FROM dead_letters'),
    alertsPending: await n(`SELECT count(*) AS n FROM alerts_outbox WHERE state IN ('pending', 'waiting', 'sending')`),
    streamsOnline: await n(
      `SELECT count(*) AS n FROM stream_health s
        WHERE s.time_ms = (SELECT max(time_ms) FROM stream_health WHERE path = s.path) AND s.online = 1`,
    ),
    streamsKnown: await n('SELECT count(DISTINCT path) AS n FROM stream_health'),
    camerasConnected: await n(`SELECT count(*) AS n FROM camera_registry WHERE connection_status = 'connected'`),
  };
}
