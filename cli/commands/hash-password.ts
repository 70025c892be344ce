/**
 * picam-guardian hash-password: prints the bcrypt hash of a password, for the
 * env file's PICAM_ADMIN_PASSWORD_HASH, PICAM_API_PASSWORD_HASH and the
 * PICAM_MEDIAMTX_* lists.
 *
 *   picam-guardian hash-password                     asks twice on a terminal (nothing echoed)
 *   printf '%s' "$PW" | picam-guardian hash-password  reads the first line of stdin
 *   picam-guardian hash-password --password-stdin     the same, never asks (also on a terminal)
 *
 * The password is never an argument: arguments end up in shell history and in
 * `ps` output for every user of the machine. Only the hash is printed, on one
 * line, so `HASH=$(... | picam-guardian hash-password)` captures exactly it.
 */
import bcrypt from 'bcryptjs';
import { HASH_COST, passwordProblem } from '../../nodes/lib/logins';
import { parseArgs } from 'node:util';

export { HASH_COST, MIN_PASSWORD_LENGTH, MAX_PASSWORD_BYTES, passwordProblem } from '../../nodes/lib/logins';

export const HASH_PASSWORD_USAGE = `usage: picam-guardian hash-password [--password-stdin]
Reads a password (asks twice on a terminal, else the first line of stdin) and
prints its bcrypt hash (cost ${HASH_COST}). Put it in the env file in single quotes:
  PICAM_ADMIN_PASSWORD_HASH='$2b$12$...'`;

export async function hashPasswordCli(
  argv: string[],
  out: (line: string) => void,
  input: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  let values: { 'password-stdin'?: boolean; help?: boolean };
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'password-stdin': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    });
    if (parsed.positionals.length > 0)
      throw new Error('give the password on stdin, not as an argument (arguments are visible in ps and shell history)');
    values = parsed.values;
  } catch (err) {
    out(`picam-guardian hash-password: ${(err as Error).message}`);
    out(HASH_PASSWORD_USAGE);
    return 2;
  }
  if (values.help) {
    out(HASH_PASSWORD_USAGE);
    return 0;
  }
  try {
    const terminal = isTerminal(input) && !values['password-stdin'];
    let password: string;
    if (terminal) {
      password = await readHidden(input, 'Password: ');
      const problem = passwordProblem(password);
      if (problem) throw new Error(problem);
      if ((await readHidden(input, 'Again: ')) !== password) throw new Error('the two passwords differ');
    } else {
      password = await readFirstLine(input);
    }
    const problem = passwordProblem(password);
    if (problem) throw new Error(problem);
    out(await bcrypt.hash(password, HASH_COST));
    return 0;
  } catch (err) {
    out(`picam-guardian hash-password: ${(err as Error).message}`);
    return 1;
  }
}

interface TerminalStream extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}

function isTerminal(input: NodeJS.ReadableStream): input is TerminalStream & { setRawMode(raw: boolean): unknown } {
  const t = input as TerminalStream;
  return t.isTTY === true && typeof t.setRawMode === 'function';
}

/** The first line of a stream (without its line ending); the rest is not read. */
function readFirstLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (): void => {
      input.off('data', onData);
      input.off('end', finish);
      input.off('error', onError);
      input.pause();
      const line = text.split('\n')[0] ?? '';
      resolve(line.endsWith('\r') ? line.slice(0, -1) : line);
    };
    const onData = (chunk: Buffer | string): void => {
      text += chunk.toString();
      if (text.includes('\n')) finish();
    };
    const onError = (err: Error): void => reject(err);
    input.on('data', onData);
    input.once('end', finish);
    input.once('error', onError);
    input.resume();
  });
}

/**
 * Reads one line from a terminal with echo off (raw mode): Enter ends it,
 * Backspace deletes, Ctrl-C and Ctrl-D give up. The prompt goes to stderr so
 * stdout carries only the hash.
 */
function readHidden(input: TerminalStream & { setRawMode(raw: boolean): unknown }, prompt: string): Promise<string> {
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const stop = (): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: Buffer | string): void => {
      const typed = [...chunk.toString()];
      for (const [i, ch] of typed.entries()) {
        if (ch === '\r' || ch === '\n') {
          stop();
          // A pasted answer to the next prompt arrives in the same chunk: keep it for that prompt.
          const rest = typed.slice(i + 1).join('');
          if (rest !== '') input.unshift(Buffer.from(rest));
          resolve(chars.join(''));
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          stop();
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else chars.push(ch);
      }
    };
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}
