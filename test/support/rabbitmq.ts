/**
 * Real RabbitMQ nodes for a test (the cluster role, docs/cluster.md): each node a separate OS
 * process on free loopback ports, with its own data folder in a temp directory, and a 1- or
 * 3-node cluster formed from them. A node can be killed with SIGKILL as a crash.
 *
 * Erlang nodes find each other through epmd, which listens on 4369 for the whole machine and
 * outlives the nodes that started it. A test that used it would share it with every other
 * Erlang program here (another engineer's test, a system RabbitMQ) and leave it behind. So each
 * harness runs its own epmd, as a child process on a free port, and points its nodes and
 * rabbitmqctl at it (ERL_EPMD_PORT); `stop()` ends the nodes, then that epmd.
 *
 * The nodes run `rabbitmq-server` with RUNNING_UNDER_SYSTEMD set: the script then execs the
 * Erlang VM instead of waiting on it in a shell, so the child process IS the node (beam.smp),
 * and SIGKILL to it is a node crash, not the death of a wrapper that leaves the node running.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports';
import { tempDir } from './tmp';

const BIN = '/usr/lib/rabbitmq/bin';
export const RABBITMQ_SERVER = join(BIN, 'rabbitmq-server');
const RABBITMQCTL = join(BIN, 'rabbitmqctl');
const EPMD = ['/usr/bin/epmd', '/usr/lib/erlang/bin/epmd'].find((p) => existsSync(p));

/** CI installs RabbitMQ (scripts/install-test-deps.sh); elsewhere a test says why it skipped. */
export const skipWithoutRabbitMQ =
  !(existsSync(RABBITMQ_SERVER) && EPMD) && !process.env.CI
    ? 'RabbitMQ is not installed (scripts/install-test-deps.sh installs it as root)'
    : false;

/** The shipped configuration (cloud/cluster/rabbitmq/). */
export const SHIPPED_RABBITMQ = join(__dirname, '..', '..', 'cloud', 'cluster', 'rabbitmq');
export const SHIPPED_DEFINITIONS = join(SHIPPED_RABBITMQ, 'definitions.json');

/** A node's first boot on this 2-core machine took 9 s alone; three at once share the cores. */
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 20_000;

export interface RabbitNode {
  /** Erlang node name, `picam-<i>-<random>@localhost` */
  readonly name: string;
  readonly amqpPort: number;
  readonly mqttPort: number;
  readonly distPort: number;
  readonly dir: string;
  child: ChildProcess;
}

/** The shipped TLS listener moved to a test's port and certificate files (`npm run certs`' names). */
export interface ShippedTls {
  port: number;
  caCert: string;
  brokerCert: string;
  brokerKey: string;
}

/**
 * The shipped rabbitmq.conf's own settings (vhost, exchange, anonymous off, limits) without
 * what a test replaces: the listeners, the cluster member list, the management port, and the
 * disk limit (2 GB free is a production margin, not a test machine's). With `tls`, the cameras'
 * TLS listener and its certificate settings stay, on the test's port and files.
 */
export function shippedRabbitSettings(tls?: ShippedTls): string[] {
  const replaced = /^(listeners\.|mqtt\.listeners\.tcp|cluster_formation\.|management\.|disk_free_limit)/;
  const tlsOnly = /^(mqtt\.listeners\.ssl|ssl_|mqtt\.ssl_)/;
  return readFileSync(join(SHIPPED_RABBITMQ, 'rabbitmq.conf'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !replaced.test(l) && (tls || !tlsOnly.test(l)))
    .map((l) =>
      !tls
        ? l
        : l
            .replace(/^mqtt\.listeners\.ssl\.1 = .*/, `mqtt.listeners.ssl.1 = 127.0.0.1:${tls.port}`)
            .replace('/etc/rabbitmq/picam/certs/ca.crt', tls.caCert)
            .replace('/etc/rabbitmq/picam/certs/broker.crt', tls.brokerCert)
            .replace('/etc/rabbitmq/picam/certs/broker.key', tls.brokerKey),
    );
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`));
        return;
      }
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > end) reject(new Error(`${what}: nothing listening on ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface RabbitClusterOptions {
  /** 1 (default) or 3 */
  nodes?: number;
  /** lines of rabbitmq.conf besides the listeners (default: the shipped settings) */
  settings?: string[];
  /** enabled plugins (default: the MQTT plugin alone; management only adds start time) */
  plugins?: string[];
}

export class RabbitCluster {
  readonly nodes: RabbitNode[] = [];
  private epmd?: ChildProcess;
  private epmdPort = 0;
  private readonly base = tempDir('picam-rabbitmq-');
  private readonly home = join(this.base, 'home');
  private readonly suffix = randomBytes(3).toString('hex');
  private stopped = false;
  /** how long the nodes took from spawn to every listener up and the cluster formed */
  startMs = 0;

  private constructor(private readonly opts: Required<RabbitClusterOptions>) {}

  /** Starts the nodes (the first alone, the others joining it) and waits until all serve MQTT and AMQP. */
  static async start(options: RabbitClusterOptions = {}): Promise<RabbitCluster> {
    assert.ok(!skipWithoutRabbitMQ || process.env.CI, 'RabbitMQ must be installed in CI');
    const cluster = new RabbitCluster({
      nodes: options.nodes ?? 1,
      settings: options.settings ?? shippedRabbitSettings(),
      plugins: options.plugins ?? ['rabbitmq_mqtt'],
    });
    // Whatever happens to the test, no node outlives its process.
    process.once('exit', () => cluster.killAllNow());
    try {
      await cluster.boot();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private async boot(): Promise<void> {
    mkdirSync(this.home, { recursive: true });
    // One cookie for every node and rabbitmqctl: Erlang reads it from $HOME, and only if 0400.
    const cookie = join(this.home, '.erlang.cookie');
    writeFileSync(cookie, randomBytes(20).toString('hex'));
    chmodSync(cookie, 0o400);
    this.epmdPort = await freePort();
    this.epmd = spawn(EPMD!, ['-port', String(this.epmdPort)], { stdio: 'ignore' });
    await waitForPort(this.epmdPort, this.epmd, 10_000, 'epmd');

    for (let i = 0; i < this.opts.nodes; i++) {
      const dir = join(this.base, `node-${i}`);
      mkdirSync(dir, { recursive: true });
      this.nodes.push({
        name: `picam-${i}-${this.suffix}@localhost`,
        amqpPort: await freePort(),
        mqttPort: await freePort(),
        distPort: await freePort(),
        dir,
        child: undefined as unknown as ChildProcess,
      });
    }
    const started = Date.now();
    // The first node alone, then the others: each finds it in the classic_config list and joins.
    await this.startNode(0);
    await Promise.all(this.nodes.slice(1).map((_, i) => this.startNode(i + 1)));
    if (this.nodes.length > 1) await this.awaitMembers();
    this.startMs = Date.now() - started;
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, HOME: this.home, ERL_EPMD_PORT: String(this.epmdPort), LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  }

  private config(n: RabbitNode): string {
    const lines = [
      `listeners.tcp.1 = 127.0.0.1:${n.amqpPort}`,
      `mqtt.listeners.tcp.1 = 127.0.0.1:${n.mqttPort}`,
      'disk_free_limit.absolute = 50MB',
      ...this.opts.settings,
    ];
    if (this.nodes.length > 1) {
      lines.push('cluster_formation.peer_discovery_backend = classic_config');
      this.nodes.forEach((m, i) => lines.push(`cluster_formation.classic_config.nodes.${i + 1} = ${m.name}`));
      // A fresh node waits a random 5-60 s before looking for peers by default; the test starts them in order.
      lines.push('cluster_formation.randomized_startup_delay_range.min = 0');
      lines.push('cluster_formation.randomized_startup_delay_range.max = 1');
    }
    return `${lines.join('\n')}\n`;
  }

  /** Starts (or restarts, with its data) node `i` and waits until its MQTT and AMQP listeners answer. */
  async startNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    const conf = join(n.dir, 'rabbitmq.conf');
    const plugins = join(n.dir, 'enabled_plugins');
    writeFileSync(conf, this.config(n));
    writeFileSync(plugins, `[${this.opts.plugins.join(',')}].\n`);
    const env = {
      ...this.env(),
      RUNNING_UNDER_SYSTEMD: 'true',
      RABBITMQ_NODENAME: n.name,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(n.amqpPort),
      RABBITMQ_DIST_PORT: String(n.distPort),
      RABBITMQ_CONFIG_FILE: conf,
      RABBITMQ_ENABLED_PLUGINS_FILE: plugins,
      RABBITMQ_MNESIA_BASE: join(n.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(n.dir, 'log'),
      RABBITMQ_PLUGINS_EXPAND_DIR: join(n.dir, 'plugins-expand'),
      RABBITMQ_PID_FILE: join(n.dir, 'pid'),
      RABBITMQ_CONF_ENV_FILE: join(n.dir, 'rabbitmq-env.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(n.dir, 'advanced.config'),
    };
    n.child = spawn(RABBITMQ_SERVER, [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    n.child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    try {
      await waitForPort(n.mqttPort, n.child, START_TIMEOUT_MS, n.name);
      await waitForPort(n.amqpPort, n.child, START_TIMEOUT_MS, n.name);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${stderr}\n${this.logTail(n)}`);
    }
  }

  private logTail(n: RabbitNode): string {
    const log = join(n.dir, 'log', `${n.name}.log`);
    return existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : '';
  }

  /** rabbitmqctl against node `i` (default the first live one); `input` goes to its stdin (passwords). */
  ctl(args: string[], input?: string, i = this.firstLive()): Promise<string> {
    const n = this.nodes[i]!;
    return new Promise((resolve, reject) => {
      const p = execFile(RABBITMQCTL, ['-n', n.name, ...args], { env: this.env(), timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`rabbitmqctl ${args[0]}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
      p.stdin?.end(input ?? '');
    });
  }

  private firstLive(): number {
    const i = this.nodes.findIndex((n) => n.child.exitCode === null && n.child.signalCode === null);
    assert.ok(i >= 0, 'no RabbitMQ node is running');
    return i;
  }

  private async awaitMembers(): Promise<void> {
    const end = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const status = JSON.parse(await this.ctl(['cluster_status', '--formatter', 'json'])) as { running_nodes?: string[] };
      if ((status.running_nodes ?? []).length === this.nodes.length) return;
      if (Date.now() > end) throw new Error(`cluster formed with ${JSON.stringify(status.running_nodes)} only`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * Imports a definitions file (default the shipped one) and sets the passwords it leaves empty.
   * Import after the cluster formed: a quorum queue gets its members where it is declared.
   */
  async loadDefinitions(passwords: Record<string, string>, file = SHIPPED_DEFINITIONS): Promise<void> {
    await this.ctl(['import_definitions', file]);
    const defs = JSON.parse(readFileSync(file, 'utf8')) as { queues: Array<{ name: string; vhost: string }> };
    // The import runs on after the command returns: wait until its queues are there.
    const end = Date.now() + 30_000;
    for (;;) {
      const vhost = defs.queues[0]?.vhost ?? '/';
      const listed = await this.ctl(['list_queues', '-p', vhost, 'name', '--formatter', 'json']).catch(() => '[]');
      const names = (JSON.parse(listed) as Array<{ name: string }>).map((q) => q.name);
      if (defs.queues.every((q) => names.includes(q.name))) break;
      if (Date.now() > end) throw new Error(`definitions not imported: queues ${names.join(', ')}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    for (const [user, password] of Object.entries(passwords)) await this.ctl(['change_password', user], password);
  }

  /**
   * An extra login (a Pi, a test device) with `like`'s rights in `vhost`: the same permissions and
   * topic permissions, which `{client_id}` keeps to the device's own topics.
   */
  async addUserLike(user: string, password: string, like: string, vhost = 'picam'): Promise<void> {
    await this.ctl(['add_user', user], password);
    const perms = JSON.parse(await this.ctl(['list_user_permissions', like, '--formatter', 'json'])) as Array<Record<string, string>>;
    for (const p of perms.filter((x) => x.vhost === vhost)) {
      await this.ctl(['set_permissions', '-p', vhost, user, p.configure!, p.write!, p.read!]);
    }
    const topics = JSON.parse(await this.ctl(['list_user_topic_permissions', like, '--formatter', 'json'])) as Array<
      Record<string, string>
    >;
    for (const t of topics.filter((x) => x.vhost === vhost)) {
      await this.ctl(['set_topic_permissions', '-p', vhost, user, t.exchange!, t.write!, t.read!]);
    }
  }

  /** Each queue's messages ready for a consumer and delivered but not yet acknowledged. */
  async queues(vhost = 'picam'): Promise<Record<string, { ready: number; unacked: number }>> {
    const out = await this.ctl(['list_queues', '-p', vhost, 'name', 'messages_ready', 'messages_unacknowledged', '--formatter', 'json']);
    const list = JSON.parse(out) as Array<{ name: string; messages_ready: number; messages_unacknowledged: number }>;
    return Object.fromEntries(list.map((q) => [q.name, { ready: q.messages_ready, unacked: q.messages_unacknowledged }]));
  }

  /** The brokers line of amqp-ingest for these nodes, starting with node `first`. */
  urls(first = 0, vhost = 'picam'): string {
    const order = [...this.nodes.slice(first), ...this.nodes.slice(0, first)];
    return order.map((n) => `amqp://127.0.0.1:${n.amqpPort}/${vhost}`).join(' ');
  }

  amqpUrl(user: string, password: string, vhost = 'picam', i = 0): string {
    return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.nodes[i]!.amqpPort}/${encodeURIComponent(vhost)}`;
  }

  /** SIGKILL to node `i`: a crash, no goodbye to its peers or clients. */
  async kill(i: number): Promise<void> {
    const child = this.nodes[i]!.child;
    child.kill('SIGKILL');
    await exited(child);
  }

  /** Stops every node (SIGTERM, SIGKILL after 20 s), then the harness's epmd. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(
      this.nodes.map(async (n) => {
        if (!n.child) return;
        n.child.kill('SIGTERM');
        const timer = setTimeout(() => n.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited(n.child);
        clearTimeout(timer);
      }),
    );
    if (this.epmd) {
      this.epmd.kill('SIGTERM');
      await exited(this.epmd);
    }
  }

  private killAllNow(): void {
    for (const n of this.nodes) if (n.child && n.child.exitCode === null) n.child.kill('SIGKILL');
    if (this.epmd && this.epmd.exitCode === null) this.epmd.kill('SIGKILL');
  }
}
