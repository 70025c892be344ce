/**
 * A real PostgreSQL server for a test file (Debian's postgresql package; CI installs it through
 * scripts/install-test-deps.sh): initdb into a temp folder, the server on a free loopback port
 * with its unix socket in that folder, a password login (scram) over TCP, stopped and removed
 * after. One server per test file (`startPostgres` in `before`, `stop` in `after`); each test
 * takes a fresh database of its own (`createDatabase`).
 *
 * PostgreSQL refuses to run as root: as root, initdb and the server run as the `postgres`
 * system user the Debian package creates (spawn's uid/gid), and the folder is made theirs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import pg from 'pg';
import { freePort } from './ports';

/** The newest installed server's programs (/usr/lib/postgresql/<major>/bin). */
export const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((d) => existsSync(join(root, d, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(root, majors[0], 'bin') : undefined;
})();

export const skipWithoutPostgres =
  !PG_BIN && !process.env.CI ? 'PostgreSQL is not installed (scripts/install-test-deps.sh installs it as root)' : false;

export interface PostgresServer {
  port: number;
  user: string;
  password: string;
  /** a new, empty database; its URL (with the password) */
  createDatabase(): Promise<string>;
  /** the URL of `database` (default: the server's own `postgres` database) */
  url(database?: string): string;
  /** the server process (a test may stop or kill it) */
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Who runs the server: the `postgres` user when we are root, else ourselves. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = spawnSync('id', ['-u', 'postgres']);
  const gids = spawnSync('id', ['-g', 'postgres']);
  assert.equal(ids.status, 0, 'running as root, PostgreSQL needs the "postgres" system user (Debian\'s postgresql package makes it)');
  return { uid: Number(ids.stdout.toString().trim()), gid: Number(gids.stdout.toString().trim()) };
}

let databases = 0;

export interface PostgresOptions {
  /**
   * fsync and full-page writes on, as a production server runs (the benchmark's figures); the
   * tests' default leaves them off, since durability across a power cut is not what they check.
   */
  durable?: boolean;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  assert.ok(PG_BIN, 'PostgreSQL must be installed in CI');
  const dir = mkdtempSync(join(tmpdir(), 'picam-pg-'));
  const owner = serverUser();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const user = 'picam';
  // Characters a URL must escape: the store must decode them, and never show them.
  const password = `pw-${Math.random().toString(36).slice(2)}:@/`;
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) chownSync(pwfile, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const init = spawnSync(
    join(PG_BIN, 'initdb'),
    [
      '-D',
      data,
      '-U',
      user,
      `--pwfile=${pwfile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--no-sync',
      '--locale=C',
    ],
    { ...owner, encoding: 'utf8' },
  );
  assert.equal(init.status, 0, `initdb failed: ${init.stderr}`);
  const port = await freePort();
  // Durability is not what the tests check: no fsync keeps them fast.
  const fast = options.durable ? [] : ['-c', 'fsync=off', '-c', 'full_page_writes=off'];
  const server = spawn(
    join(PG_BIN, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', ...fast, '-c', 'max_connections=60'],
    { ...owner, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  // If the test process dies without `stop`, the server must not outlive it.
  const orphan = () => server.kill('SIGQUIT');
  process.once('exit', orphan);
  const url = (database = 'postgres') => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  await waitReady(url(), server, () => log);
  let stopped: Promise<void> | undefined;
  return {
    port,
    user,
    password,
    url,
    process: server,
    async createDatabase() {
      const name = `t${process.pid}_${databases++}`;
      const c = new pg.Client({ connectionString: url() });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    stop() {
      stopped ??= (async () => {
        process.removeListener('exit', orphan);
        const exited =
          server.exitCode !== null || server.signalCode !== null ? Promise.resolve() : new Promise((r) => server.once('exit', r));
        // pg_ctl waits until the server of this data folder is really down (its postmaster.pid
        // gone), whatever Node saw of the process: a fast shutdown ends the clients' sessions.
        const ctl = spawnSync(join(PG_BIN!, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60'], {
          ...owner,
          encoding: 'utf8',
        });
        if (ctl.status !== 0 && existsSync(join(data, 'postmaster.pid'))) server.kill('SIGKILL');
        await exited;
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      })();
      return stopped;
    },
  };
}

async function waitReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`PostgreSQL exited at start: ${log()}`);
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => undefined /* the connect below reports it */);
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => undefined /* never connected */);
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections in 60 s: ${(err as Error).message}\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * A describe block whose tests share one PostgreSQL server (started before them, stopped after),
 * skipped with the reason where PostgreSQL is not installed. `server()` is the running server.
 */
export function describeWithPostgres(title: string, body: (server: () => PostgresServer) => void): void {
  describe(title, { skip: skipWithoutPostgres }, () => {
    let server: PostgresServer | undefined;
    before(async () => {
      server = await startPostgres();
    });
    after(async () => {
      await server?.stop();
    });
    body(() => server!);
  });
}

/**
 * Ends one session of the server from outside, as a restarted server or a cut connection would:
 * the client's next statement on it fails with a lost connection.
 */
export async function terminateSession(url: string, pid: number | undefined): Promise<void> {
  assert.ok(pid, 'a session to terminate');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await c.end();
  }
}
