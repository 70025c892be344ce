/** Talking to a benchmark's child process over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * Starts bench/<script> in its own process with an IPC channel. The runtime under
 * test takes BENCH_NODE_FLAGS (e.g. --trace-gc) and, with BENCH_PROFILE=<dir>, a CPU profile.
 */
export function startChild(script: string, args: string[]): ChildProcess {
  const flags =
    process.env.BENCH_PROFILE && script === 'runtime-child.ts' ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  if (script === 'runtime-child.ts' && process.env.BENCH_NODE_FLAGS) flags.push(...process.env.BENCH_NODE_FLAGS.split(' '));
  return fork(join(__dirname, script), args, { execArgv: ['--import', 'tsx', ...flags], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
