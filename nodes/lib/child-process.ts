/**
 * The one child-process supervisor helper the nodes share: spawn without a
 * shell, keep the last stderr lines for status and errors, and stop a child
 * for sure (SIGTERM, then SIGKILL after a grace period).
 *
 * Children are spawned as process-group leaders (`detached`) and signalled as a
 * group, so a wrapper script's own children (a shell around ffmpeg, a fake in
 * the tests) die with it instead of being orphaned. They are not `unref`ed: the
 * host still waits for them and reaps them. A host that dies without stopping
 * them (kill -9, the OOM killer) takes them along through the kernel's
 * parent-death signal (see orphanGuard); their own children are swept by the
 * service manager (systemd's control group) as before.
 */
import { spawn, spawnSync, type ChildProcess, type StdioNull, type StdioPipe } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export type StdioEntry = StdioPipe | StdioNull;

export interface SpawnOptions {
  /** fd 0, 1, 2, then any extra descriptors (fd 3, ...); stderr (index 2) is always piped, to feed the ring */
  stdio: readonly StdioEntry[];
  /** how many stderr lines to keep (default 20) */
  stderrLines?: number;
  env?: NodeJS.ProcessEnv;
  /** every complete stderr line, e.g. to redact and log it */
  onStderrLine?: (line: string) => void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** set when the process could not be started at all (ENOENT, EACCES) */
  error?: Error;
}

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number | undefined;
  /** the last stderr lines, oldest first */
  stderrTail(): string[];
  /** resolves once the process has exited (or failed to start) and its stderr has been read */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it has exited */
  stop(graceMs?: number): Promise<void>;
}

/** The last `size` lines of a text stream, fed in arbitrary chunks. */
export class LineRing {
  private readonly lines: string[] = [];
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly size: number,
    private readonly onLine?: (line: string) => void,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    // ffmpeg ends status lines with \r: both end a line here
    const parts = text.split(/\r\n|\r|\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
  }

  /** Flushes an unterminated last line (at exit). */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest) this.add(rest);
  }

  tail(): string[] {
    return [...this.lines];
  }

  private add(line: string): void {
    if (!line.trim()) return;
    this.onLine?.(line);
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }
}

/** ffmpeg's wrap-up lines ("Error initializing output stream 0:0 --") that hide the cause printed above them. */
const WRAP_UP = /^(Error initializing output stream|Conversion failed|Exiting normally)/;

/** "relay exited with code 1: <the last telling stderr line>", for status and logs (redact it if it may hold secrets). */
export function describeExit(name: string, info: ExitInfo, stderrTail: readonly string[]): string {
  const how = info.error
    ? `could not start (${info.error.message})`
    : info.signal
      ? `was killed by ${info.signal}`
      : `exited with code ${info.code}`;
  const last = stderrTail.filter((l) => !WRAP_UP.test(l)).at(-1);
  return `${name} ${how}${last ? `: ${last}` : ''}`;
}

const groupLeaders = new WeakSet<ChildProcess>();

let setprivPath: string | null | undefined;

/**
 * util-linux's `setpriv` when it can set a parent-death signal (Debian and Raspberry Pi OS ship
 * it), looked up once. A child leads its own process group, so a runtime killed with SIGKILL
 * (or the OOM killer) would leave it running: an ffmpeg reading a UDP port never notices its
 * parent is gone. `setpriv --pdeathsig KILL` asks the kernel to kill it when the runtime dies,
 * then becomes the command itself (exec: same pid, same group).
 */
function orphanGuard(): string | null {
  if (setprivPath === undefined) {
    const found = onPath('setpriv');
    const help = found ? spawnSync(found, ['--help'], { encoding: 'utf8' }) : undefined;
    setprivPath = found && help?.stdout?.includes('--pdeathsig') ? found : null;
  }
  return setprivPath;
}

/** The executable `command` runs (searched on PATH unless it names a path), or null. */
function onPath(command: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = command.includes('/')
    ? [command]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, command));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there, or not executable: the next one
    }
  }
  return null;
}

/**
 * The command line that runs `command` under the orphan guard. setpriv looks the command up on
 * PATH as spawn would, so its command line stays `ffmpeg …` for ps and the logs. A command that
 * cannot be found is spawned as it is, so its failure stays the ENOENT error callers report
 * ("ffmpeg is not installed"), not an exit code of setpriv's.
 */
function guarded(command: string, args: readonly string[], env: NodeJS.ProcessEnv): [string, string[]] {
  const setpriv = orphanGuard();
  return setpriv && onPath(command, env) ? [setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
}

/**
 * Spawns `command` (no shell) as a process-group leader with stderr collected in a ring; it is
 * killed by the kernel if this process dies first (see orphanGuard).
 */
export function spawnChild(command: string, args: readonly string[], options: SpawnOptions): Child {
  const stdio = [...options.stdio];
  while (stdio.length < 3) stdio.push('ignore');
  stdio[2] = 'pipe';
  const [file, argv] = guarded(command, args, options.env ?? process.env);
  const child = spawn(file, argv, {
    stdio,
    env: options.env ?? process.env,
    detached: true,
  });
  groupLeaders.add(child);
  const ring = new LineRing(options.stderrLines ?? 20, options.onStderrLine);
  child.stderr?.on('data', (d: Buffer) => ring.push(d));
  // A child that dies makes writes to its pipes fail with EPIPE: expected, and its exit
  // (with its stderr) is what gets reported, so the pipe error itself is dropped here.
  for (const s of child.stdio) s?.on('error', () => undefined);

  const exited = new Promise<ExitInfo>((resolve) => {
    const done = (info: ExitInfo): void => {
      // stderr may still hold the lines that say why it exited: wait for its end, briefly
      // (a grandchild that inherited it could keep it open).
      const finish = (): void => {
        clearTimeout(timer);
        ring.end();
        resolve(info);
      };
      const timer = setTimeout(finish, 200);
      if (!child.stderr || child.stderr.readableEnded || child.stderr.destroyed) finish();
      else child.stderr.once('close', finish);
    };
    child.once('exit', (code, exitSignal) => {
      // Whatever the leader left behind in its group goes with it, now: once the group is
      // empty its number is free, and a later signal to it could hit an unrelated process
      // group that was given the same number (pid_max is often 32768, and wraps).
      if (groupLeaders.has(child)) signalGroup(child, 'SIGKILL');
      done({ code, signal: exitSignal });
    });
    // A spawn failure emits 'error' and never 'exit'. Later errors (a signal that could not be
    // sent) need a listener too, or they would be thrown; the exit still comes and is reported.
    child.on('error', (error) => {
      if (child.pid === undefined) done({ code: null, signal: null, error });
    });
  });

  return {
    process: child,
    pid: child.pid,
    stderrTail: () => ring.tail(),
    exited,
    stop: (graceMs = 3000) => stopChild(child, graceMs),
  };
}

function hasExited(child: ChildProcess): boolean {
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
}

/** Signals a running child (with its group when it leads one); never one that has exited, whose number may be reused. */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (hasExited(child)) return;
  signalGroup(child, sig);
}

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (groupLeaders.has(child)) process.kill(-child.pid, sig);
    else child.kill(sig);
  } catch (err) {
    // ESRCH: the group is already gone, which is what we want. Otherwise signal the leader
    // alone: a failure there comes as the child's 'error' event instead of a throw from a timer.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') child.kill(sig);
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited
 * (at once when it already had: its group was swept when it exited). A group
 * leader is signalled with its group.
 */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    signal(child, 'SIGTERM');
  });
}

/** Whether `ffmpeg -version` runs: checked once at start, before a feature that needs it is offered. */
export function ffmpegInstalled(ffmpeg = 'ffmpeg'): boolean {
  return spawnSync(ffmpeg, ['-version'], { stdio: 'ignore' }).status === 0;
}
