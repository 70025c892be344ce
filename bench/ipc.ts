/** Talking to a benchmark's child process over IPC. */
import type { ChildProcess } from 'node:child_process';

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
