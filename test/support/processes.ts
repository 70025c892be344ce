import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Whether a process is still running (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every process's parent and process group, read from /proc (processes gone meanwhile left out). */
export function processTable(): Array<{ pid: number; ppid: number; pgid: number }> {
  const table: Array<{ pid: number; ppid: number; pgid: number }> = [];
  for (const pid of readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)) {
    try {
      // The fields after the command (which may hold spaces) start after its ')': state, ppid, pgrp.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push({ pid, ppid: Number(ppid), pgid: Number(pgid) });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** The parent of `pid` (0 once it is gone). */
export function parentOf(pid: number): number {
  return processTable().find((p) => p.pid === pid)?.ppid ?? 0;
}

/** The processes below `pid` (children, theirs, ...), read from /proc. */
export function descendantsOf(pid: number): number[] {
  const table = processTable();
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const p of table) {
      if (p.ppid !== parent) continue;
      found.push(p.pid);
      walk(p.pid);
    }
  };
  walk(pid);
  return found;
}

/**
 * SIGKILL for a runtime, as a crash: then its children too. The runtime's own children die with
 * it (the child-process helper's parent-death signal), but a test fake's children (a shell's
 * grandchildren) do not, as on a real machine until systemd clears the service's control group;
 * a test that crashes a runtime must not leave them running.
 */
export async function crash(child: ChildProcess): Promise<void> {
  const left = child.pid ? descendantsOf(child.pid) : [];
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
