/**
 * Config node that owns the event store. Nodes that use it call
 * `acquire()`; the file opens on the first user and closes after the last one
 * (and on redeploy, after the last queued write is committed).
 *
 * With a database URL (its `url` credential, `${PICAM_DB_URL}` in the shipped flow) the store
 * is PostgreSQL's instead of the file (the cluster role, issue 21). The URL holds a password:
 * every message names the database by the store's `file`, the URL without it.
 */
import { isAbsolute, join } from 'node:path';
import type { NodeAPI, NodeDef } from 'node-red';
import { DEFAULTS, parseDbUrl } from '../lib/settings';
import { redactText } from '../lib/redact';
import { exposeHealth, Failure } from '../lib/health';
import { followRetention } from '../lib/admin-settings';
import type { PicamDatabaseNode } from '../lib/store/database-node';
import { EventStore, type RetentionDays } from '../lib/store/store';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { leadershipOf, whileLeader } from '../lib/cluster/leadership';

export interface PicamDatabaseDef extends NodeDef {
  file: string;
  maxBatch: string | number;
  maxDelayMs: string | number;
  synchronous: 'FULL' | 'NORMAL';
  retainActivityDays: string | number;
  retainStatusDays: string | number;
  retainSensorDays: string | number;
  retainSensorMinuteDays?: string | number;
  retainSensorHourDays?: string | number;
  retainDeadLetterDays: string | number;
  holdSeconds?: string | number;
  readConnections?: string | number;
}

export type { PicamDatabaseNode } from '../lib/store/database-node';

export interface PicamDatabaseCredentials {
  /** postgres://user:password@host:5432/database; empty: the SQLite file */
  url?: string;
}

const PRUNE_EVERY_MS = 3600_000;

/** How long the file stays open at close for users still finishing: within Node-RED's own limit on a node's close (15 s). */
const USERS_CLOSE_WAIT_MS = 10_000;

export default function register(RED: NodeAPI): void {
  function PicamDatabase(this: PicamDatabaseNode & { credentials?: PicamDatabaseCredentials }, def: PicamDatabaseDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const file = def.file || 'picam-guardian.db';
    let url = '';
    let badUrl: string | undefined;
    try {
      url = parseDbUrl(node.credentials?.url);
    } catch (err) {
      badUrl = (err as Error).message;
    }
    // What messages call the database: the file, or the URL without its password.
    const path = url ? redactText(url) : file === ':memory:' || isAbsolute(file) ? file : join(userDir, file);
    const retention: RetentionDays = {
      activity: numberSetting(def.retainActivityDays, DEFAULTS.retainActivityDays),
      status: numberSetting(def.retainStatusDays, DEFAULTS.retainStatusDays),
      sensors: numberSetting(def.retainSensorDays, DEFAULTS.retainSensorDays),
      sensorMinutes: numberSetting(def.retainSensorMinuteDays, DEFAULTS.retainSensorMinuteDays),
      sensorHours: numberSetting(def.retainSensorHourDays, DEFAULTS.retainSensorHourDays),
      deadLetters: numberSetting(def.retainDeadLetterDays, DEFAULTS.retainDeadLetterDays),
    };
    // How long users hold input for a file that failed to open (nodes/lib/database-user.ts retries the open).
    node.holdMs = numberSetting(def.holdSeconds, DEFAULTS.holdSeconds) * 1000;
    const readConnections = numberSetting(def.readConnections, DEFAULTS.readConnections);
    // SQLite runs on libuv's threadpool, which the writer's commits and file access share.
    const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    if (readConnections + 2 > threads) {
      node.warn(
        `${readConnections} read connections on ${threads} threads: queries can delay commits; set UV_THREADPOOL_SIZE to ${readConnections + 2}`,
      );
    }
    const users = new Set<string>();
    let opening: Promise<EventStore> | undefined;
    let stopPruning: (() => void) | undefined;
    let current: EventStore | undefined;
    let stopFollowing: (() => void) | undefined;
    /** why the last open failed (a schema newer than this software, an unreachable server), until one succeeds */
    const openFailed = new Failure();
    // /healthz answers 503 while the store cannot write (a full disk) or could not be opened:
    // the runtime is not fine then, though a read-only look at the file may still work.
    const hideHealth = exposeHealth({
      id: node.id,
      name: 'database',
      read: () => current?.writer.health ?? openFailed.state ?? { ok: true },
    });

    const prune = (store: EventStore) =>
      store.prune().then(
        (n) => n > 0 && node.log(`retention: deleted ${n} old rows`),
        (err: Error) => node.warn(`retention run failed: ${err.message}`),
      );

    node.acquire = (user) => {
      users.add(user.id);
      if (!opening) {
        const thisOpening = badUrl
          ? Promise.reject(new Error(badUrl))
          : EventStore.open({
              ...(url ? { url } : { file: path }),
              maxBatch: numberSetting(def.maxBatch, 2000),
              maxDelayMs: numberSetting(def.maxDelayMs, 20),
              synchronous: def.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL',
              retention,
              readConnections,
            });
        opening = thisOpening;
        thisOpening.then(
          (store) => {
            // Closed while the file was opening: closeStore() closes it, no timer.
            if (opening !== thisOpening) return;
            node.log(`opened ${path}`);
            if (!store.shrinks)
              node.warn(
                `${path} was made before incremental auto-vacuum: retention reuses freed space but the file does not shrink; ` +
                  `to change that once, stop Node-RED and run: sqlite3 ${path} 'PRAGMA auto_vacuum = INCREMENTAL; VACUUM;'`,
              );
            current = store;
            openFailed.clear();
            store.writer.onHealth((h) =>
              h.ok ? node.log(`${path}: writing again`) : node.error(`${path}: ${h.reason}; records are held and retried`),
            );
            // The admin page's retention days (issue 23), over these settings, from the next run on.
            stopFollowing = followRetention(store.retention, (m) => node.warn(m));
            // Retention runs once per database: on the leader runtime (always this one on one box).
            stopPruning = whileLeader(leadershipOf(RED.settings), () => {
              void prune(store);
              const pruneTimer = setInterval(() => void prune(store), PRUNE_EVERY_MS);
              return () => clearInterval(pruneTimer);
            });
          },
          (err: Error) => {
            node.error(`cannot open ${path}: ${err.message}`);
            openFailed.set(`cannot open: ${redactText(err.message)}`);
            if (opening === thisOpening) opening = undefined; // the next user retries
          },
        );
      }
      return opening;
    };

    const closeStore = async () => {
      stopPruning?.();
      stopPruning = undefined;
      stopFollowing?.();
      stopFollowing = undefined;
      current = undefined;
      const pending = opening;
      opening = undefined;
      if (!pending) return;
      const store = await pending.catch(() => undefined);
      await store?.close();
    };

    let lastUserGone: (() => void) | undefined;
    node.release = async (user) => {
      users.delete(user.id);
      if (users.size > 0) return;
      lastUserGone?.();
      await closeStore();
    };
    // Node-RED stops every node at once, this one too: users still finishing their work
    // (a recorder indexing its last segment, a batch being committed) would find the file
    // closed. So the file stays open until they have released it, or for USERS_CLOSE_WAIT_MS.
    const usersGone = () =>
      users.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              node.warn(`closing ${path} with ${users.size} node(s) still using it after ${USERS_CLOSE_WAIT_MS / 1000} s`);
              resolve();
            }, USERS_CLOSE_WAIT_MS);
            lastUserGone = () => {
              clearTimeout(timer);
              resolve();
            };
          });

    node.on('close', (_removed: boolean, done: () => void) => {
      hideHealth();
      const closed = usersGone().then(closeStore);
      closed.then(done, (err: Error) => {
        node.error(`closing ${path}: ${err.message}`);
        done();
      });
    });
  }
  RED.nodes.registerType('picam-database', PicamDatabase as unknown as NodeConstructor, {
    credentials: { url: { type: 'password' } },
  });
}
