/** A consuming cloud runtime in its own process (amqp-consumer-child.ts), as the cluster tests use it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Received } from './store-stand-in';

export interface ConsumerOptions {
  urls: string;
  username: string;
  password: string;
  /** never complete a message (so never acknowledge one) */
  hold?: boolean;
  prefetch?: number;
}

export class ConsumerRuntime {
  readonly received: Received[] = [];
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  private stderr = '';

  constructor(opts: ConsumerOptions) {
    const { password, ...rest } = opts;
    this.child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'amqp-consumer-child.ts'), JSON.stringify(rest)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdin!.end(password);
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    const lines = createInterface({ input: this.child.stdout! });
    this.ready = new Promise((resolve, reject) => {
      lines.on('line', (line) => {
        if (line === 'ready') resolve();
        else if (line.startsWith('{')) this.received.push(JSON.parse(line) as Received);
      });
      this.child.once('exit', (code, signal) =>
        reject(new Error(`consumer exited (${code ?? signal}) before it was ready:\n${this.stderr}`)),
      );
    });
    // Once ready, a later exit must not reject a promise nobody waits for any more.
    this.ready.catch(() => undefined);
  }

  /** the runtime's recent stderr: its status lines and errors, for a failing test's message */
  get log(): string {
    return this.stderr;
  }

  private exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** SIGKILL: the runtime crashes with whatever it holds. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited();
  }

  /** SIGTERM: the flow stops (its close handlers run), then the process ends; SIGKILL after 10 s. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited();
    clearTimeout(timer);
  }
}
