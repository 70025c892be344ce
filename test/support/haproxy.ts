/**
 * A real HAProxy running the shipped cloud/cluster/haproxy.cfg, moved onto loopback ports: the
 * frontends on free ports, the brokers and runtimes replaced by the test's, the dashboard's
 * certificate by a throwaway one. A stats socket lets a test read what the health checks think.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports';
import { tempDir } from './tmp';

export const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => existsSync(p));

export const skipWithoutHaproxy =
  !HAPROXY && !process.env.CI ? 'HAProxy is not installed (scripts/install-test-deps.sh installs it as root)' : false;

export const SHIPPED_HAPROXY = join(__dirname, '..', '..', 'cloud', 'cluster', 'haproxy.cfg');

export interface HaproxyTargets {
  /** per broker node: its plain MQTT port (the TLS backend is pointed at it too: the tests speak plain MQTT) */
  brokers: number[];
  /** per runtime: its HTTP port */
  runtimes: number[];
}

export interface HaproxyPorts {
  mqtt: number;
  mqttTls: number;
  http: number;
  https: number;
}

/** A self-signed certificate and key in one PEM file, as HAProxy's `crt` wants them. */
function throwawayPem(dir: string): string {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
  ]);
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr.toString()}`);
  const pem = join(dir, 'dashboard.pem');
  writeFileSync(pem, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
  return pem;
}

/** The shipped configuration on loopback: same frontends, backends, checks and timeouts. */
export function loopbackHaproxyConfig(ports: HaproxyPorts, targets: HaproxyTargets, dir: string, statsSocket: string): string {
  const pem = throwawayPem(dir);
  const cfg = readFileSync(SHIPPED_HAPROXY, 'utf8')
    .replace(/^(\s*)log \/dev\/log local0$/m, `$1stats socket ${statsSocket} level admin`)
    .replace(/^(\s*)bind :8883$/m, `$1bind 127.0.0.1:${ports.mqttTls}`)
    .replace(/^(\s*)bind \S+:1883$/m, `$1bind 127.0.0.1:${ports.mqtt}`)
    .replace(/^(\s*)bind :80$/m, `$1bind 127.0.0.1:${ports.http}`)
    .replace(/^(\s*)bind :443 ssl crt \S+/m, `$1bind 127.0.0.1:${ports.https} ssl crt ${pem}`)
    .replace(/^(\s*)tcp-check connect port 1883$/m, '$1tcp-check connect')
    // Numbered per backend: broker-1..3 in each MQTT backend, runtime-1..n in the dashboard's.
    .replace(/^(\s*)server (broker|runtime)-(\d+) \S+/gm, (_m, indent: string, kind: string, n: string) => {
      const port = kind === 'broker' ? targets.brokers[Number(n) - 1] : targets.runtimes[Number(n) - 1];
      if (port === undefined) throw new Error(`no ${kind} for server ${kind}-${n}`);
      return `${indent}server ${kind}-${n} 127.0.0.1:${port}`;
    });
  return cfg;
}

/** `haproxy -c`: the configuration's own check; returns its output, throws when it fails. */
export function checkHaproxyConfig(file: string): string {
  const r = spawnSync(HAPROXY!, ['-c', '-f', file]);
  const out = `${r.stdout.toString()}${r.stderr.toString()}`;
  if (r.status !== 0) throw new Error(`haproxy -c failed:\n${out}`);
  return out;
}

export class Haproxy {
  readonly dir = tempDir('picam-haproxy-');
  readonly statsSocket = join(this.dir, 'stats.sock');
  readonly ports: HaproxyPorts = { mqtt: 0, mqttTls: 0, http: 0, https: 0 };
  readonly file = join(this.dir, 'haproxy.cfg');
  private child?: ChildProcess;

  static async start(targets: HaproxyTargets): Promise<Haproxy> {
    const h = new Haproxy();
    for (const k of Object.keys(h.ports) as Array<keyof HaproxyPorts>) h.ports[k] = await freePort();
    writeFileSync(h.file, loopbackHaproxyConfig(h.ports, targets, h.dir, h.statsSocket));
    checkHaproxyConfig(h.file);
    // -db: in the foreground, so the child is HAProxy itself and stopping it leaves nothing behind.
    h.child = spawn(HAPROXY!, ['-db', '-f', h.file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    h.child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    process.once('exit', () => h.child?.kill('SIGKILL'));
    const end = Date.now() + 10_000;
    while (!existsSync(h.statsSocket)) {
      if (h.child.exitCode !== null || Date.now() > end) throw new Error(`HAProxy did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return h;
  }

  /** `show stat`: each backend server's state (UP, DOWN...) by "backend/server". */
  async serverStates(): Promise<Record<string, string>> {
    const csv = await new Promise<string>((resolve, reject) => {
      const s = createConnection(this.statsSocket);
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
      s.write('show stat\n');
    });
    const lines = csv.split('\n').filter((l) => l && !l.startsWith('#'));
    const states: Record<string, string> = {};
    for (const l of lines) {
      const f = l.split(',');
      if (f[1] !== 'FRONTEND' && f[1] !== 'BACKEND') states[`${f[0]}/${f[1]}`] = f[17]!;
    }
    return states;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}
