/**
 * The store's sub-stores (outbox, uploads, recordings, access, …) on each engine, so one test
 * runs against SQLite and PostgreSQL alike (issue 21): `eachDialect` declares a suite per
 * dialect, and its `open()` gives a fresh store with the same factories EventStore has.
 *
 * SQLite is EventStore itself on a temp file. PostgreSQL is a fresh database on one real server
 * per test file (test/support/postgres.ts, started at the first open, stopped after the file),
 * wired as EventStore wires its sub-stores: a BatchWriter over one PgConnection for writes, a
 * read pool of PgConnections. Until EventStore.open takes a PostgreSQL URL (store.ts), this is
 * that wiring; then `open` becomes EventStore.open with the URL.
 */
import { join } from 'node:path';
import { after, describe } from 'node:test';
import { appendAudit, listAudit, type AuditQuery, type NewAuditEntry } from '../../nodes/lib/store/audit';
import { AccessStore } from '../../nodes/lib/store/access';
import { BatchWriter } from '../../nodes/lib/store/batch-writer';
import { CommandQueue, type Exclusive } from '../../nodes/lib/store/command-queue';
import type { Dialect, StoreConnection } from '../../nodes/lib/store/connection';
import { IpCameraStore } from '../../nodes/lib/store/ip-cameras';
import { AlertOutbox } from '../../nodes/lib/store/outbox';
import { openPostgresReaders, PgConnection } from '../../nodes/lib/store/postgres';
import { PushSubscriptionStore } from '../../nodes/lib/store/push-subscriptions';
import type { ReadPool } from '../../nodes/lib/store/read-pool';
import { RecordingStore } from '../../nodes/lib/store/recordings';
import { migrate } from '../../nodes/lib/store/schema';
import { SettingsOverrideStore } from '../../nodes/lib/store/settings-overrides';
import { EventStore } from '../../nodes/lib/store/store';
import { UploadStore } from '../../nodes/lib/store/uploads';
import { skipWithoutPostgres, startPostgres, type PostgresServer } from './postgres';
import { tempDir } from './tmp';

/** What the sub-store tests use of a store, on either engine. */
export interface Substores {
  readonly dialect: Dialect;
  /** the writer connection, between batches (a test's own SQL: setting rows up, reading them back) */
  exclusive: Exclusive;
  reads: ReadPool;
  outbox(channel: string, owner: string, snapshotWaitMs?: number): AlertOutbox;
  commandQueue(owner: string): CommandQueue;
  uploads(): UploadStore;
  ipCameras(): IpCameraStore;
  recordings(): RecordingStore;
  pushSubscriptions(): PushSubscriptionStore;
  access(): AccessStore;
  settingsOverrides(): SettingsOverrideStore;
  appendAudit(e: NewAuditEntry): Promise<void>;
  listAudit(q?: AuditQuery): ReturnType<typeof listAudit>;
  /** PostgreSQL: the database's URL (a second "runtime" opens the same one); SQLite: the file */
  readonly location: string;
  close(): Promise<void>;
}

const dir = tempDir('substores-');
let files = 0;

/** SQLite's: EventStore itself (`eventStore`, for what a test needs beyond the sub-stores), on a new temp file or `file`. */
export async function openSqliteSubstores(file = join(dir, `s${files++}.db`)): Promise<Substores & { eventStore: EventStore }> {
  const store = await EventStore.open({ file });
  return { ...fromEventStore(store), eventStore: store };
}

function fromEventStore(store: EventStore): Substores {
  return {
    dialect: 'sqlite',
    location: store.file,
    exclusive: (task) => store.writer.exclusive(task),
    reads: store.reads,
    outbox: (channel, owner, wait) => store.outbox(channel, owner, wait),
    commandQueue: (owner) => store.commandQueue(owner),
    uploads: () => store.uploads(),
    ipCameras: () => store.ipCameras(),
    recordings: () => store.recordings(),
    pushSubscriptions: () => store.pushSubscriptions(),
    access: () => store.access(),
    settingsOverrides: () => store.settingsOverrides(),
    appendAudit: (e) => appendAudit(store.auditLog, e),
    listAudit: (q) => listAudit(store.auditLog, q),
    close: () => store.close(),
  };
}

/** A PostgreSQL "runtime" on the database at `url`: migrated, a writer and readers of its own. */
export async function openPostgresSubstores(url: string): Promise<Substores> {
  const conn: StoreConnection = await PgConnection.open({ url, applicationName: 'picam-test' });
  await migrate(conn);
  const reads = await openPostgresReaders(url, 2, 'picam-test');
  const writer = new BatchWriter(conn, { maxBatch: 2000, maxDelayMs: 5 });
  const exclusive: Exclusive = (task) => writer.exclusive(task);
  let closing: Promise<void> | undefined;
  return {
    dialect: 'postgres',
    location: url,
    exclusive,
    reads,
    outbox: (channel, owner, wait) => new AlertOutbox(exclusive, channel, owner, wait, Date.now, (task) => writer.join(task)),
    commandQueue: (owner) => new CommandQueue(exclusive, owner),
    uploads: () => new UploadStore(exclusive, reads),
    ipCameras: () => new IpCameraStore(exclusive, reads),
    recordings: () => new RecordingStore(exclusive, reads),
    pushSubscriptions: () => new PushSubscriptionStore(exclusive),
    access: () => new AccessStore(exclusive),
    settingsOverrides: () => new SettingsOverrideStore(exclusive),
    appendAudit: (e) => appendAudit(exclusive, e),
    listAudit: (q) => listAudit(exclusive, q),
    close() {
      closing ??= (async () => {
        await writer.close();
        await reads.close();
        await conn.close();
      })();
      return closing;
    },
  };
}

/** A fresh, empty store; with `location` (a store's), that store again (a restart, or a second runtime on PostgreSQL). */
export type OpenSubstores = (location?: string) => Promise<Substores>;

let server: Promise<PostgresServer> | undefined;
let stopRegistered = false;

/** The file's PostgreSQL server, started at the first call (one per test file). */
export function postgresServer(): Promise<PostgresServer> {
  server ??= startPostgres();
  return server;
}

/**
 * Declares `body` once per dialect, as `describe(`${title} (sqlite)`)` and `(postgres)`; the
 * PostgreSQL suite is skipped where PostgreSQL is not installed (never in CI). `open()` gives a
 * fresh, empty store each call, `open(location)` the same store again. Call at the top level of
 * a test file.
 */
export function eachDialect(title: string, body: (open: OpenSubstores, dialect: Dialect) => void): void {
  if (!stopRegistered) {
    stopRegistered = true;
    after(async () => {
      if (server) await (await server).stop();
    });
  }
  describe(`${title} (sqlite)`, () => {
    body((location) => openSqliteSubstores(location), 'sqlite');
  });
  describe(`${title} (postgres)`, { skip: skipWithoutPostgres }, () => {
    body(async (location) => openPostgresSubstores(location ?? (await (await postgresServer()).createDatabase())), 'postgres');
  });
}
