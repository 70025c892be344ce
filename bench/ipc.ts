/** Talking to a benchmark's child process over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const RUNTIME_CHILD = 'runtime-child.ts';
const bundles = new Map<string, string>();

/**
 * A child under measurement (the runtime, the live bridge) as plain JavaScript, so its
 * process is what a deployment runs: without tsx's loader, whose worker thread alone
 * added ~40 MB to the RSS the bench reports, and CPU while code loads. Bundled once per
 * bench process into bench/results/ (packages stay external; the runtime's nodes load
 * from dist/ as in production).
 */
export function childJs(script: string): string {
  let outfile = bundles.get(script);
  if (!outfile) {
    outfile = join(__dirname, 'results', script.replace(/\.ts$/, '.js'));
    buildSync({
      entryPoints: [join(__dirname, script)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    bundles.set(script, outfile);
  }
  return outfile;
}

/**
 * Starts bench/<script> in its own process with an IPC channel. The runtime under
 * test takes BENCH_NODE_FLAGS (e.g. --trace-gc) and, with BENCH_PROFILE=<dir>, a CPU profile.
 */
export function startChild(script: string, args: string[]): ChildProcess {
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  if (script !== RUNTIME_CHILD) return fork(join(__dirname, script), args, { execArgv: ['--import', 'tsx'], stdio });
  const flags = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  if (process.env.BENCH_NODE_FLAGS) flags.push(...process.env.BENCH_NODE_FLAGS.split(' '));
  return fork(childJs(RUNTIME_CHILD), args, { execArgv: flags, stdio });
}
/** Sends `cmd` (unless empty) and resolves with the first message that `match`es; rejects if the child exits first. */
export function ask<T>(proc: ChildProcess, cmd: object, match: (m: any) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: any) => {
      if (match(m)) {
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        resolve(m as T);
      }
    };
    const onExit = (code: number) => reject(new Error(`child exited with ${code}`));
    proc.on('message', onMessage);
    proc.once('exit', onExit);
    if (Object.keys(cmd).length) proc.send(cmd);
  });
}
