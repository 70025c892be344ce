import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { HASH_COST, hashPasswordCli, passwordProblem } from '../../../cli/commands/hash-password';

/** Runs the command with `text` on stdin; returns its exit code and printed lines. */
async function run(argv: string[], text: string | undefined): Promise<{ code: number; lines: string[] }> {
  const input = new PassThrough();
  if (text !== undefined) input.end(text);
  const lines: string[] = [];
  const code = await hashPasswordCli(argv, (l) => lines.push(l), input);
  return { code, lines };
}

/** A stand-in for a terminal: isTTY, setRawMode, and what was typed, chunk by chunk. */
function terminal(chunks: string[]): PassThrough & { isTTY: boolean; setRawMode(raw: boolean): void; raw: boolean[] } {
  const t = Object.assign(new PassThrough(), {
    isTTY: true,
    raw: [] as boolean[],
    setRawMode(raw: boolean) {
      t.raw.push(raw);
    },
  });
  for (const c of chunks) t.write(c);
  return t;
}

const BCRYPT = /^\$2b\$12\$[./A-Za-z0-9]{53}$/;

describe('hash-password', () => {
  it('prints one bcrypt line (cost 12) for the first line of stdin, which verifies', async () => {
    const { code, lines } = await run([], 'correct horse\n');
    assert.equal(code, 0);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, BCRYPT);
    assert.equal(bcrypt.getRounds(lines[0]!), HASH_COST);
    assert.equal(await bcrypt.compare('correct horse', lines[0]!), true);
    assert.equal(await bcrypt.compare('correct horse\n', lines[0]!), false);
  });

  it('accepts --password-stdin, a CRLF ending and no ending at all', async () => {
    for (const text of ['s3cret-pass\r\n', 's3cret-pass']) {
      const { code, lines } = await run(['--password-stdin'], text);
      assert.equal(code, 0, lines.join('\n'));
      assert.equal(await bcrypt.compare('s3cret-pass', lines[0]!), true);
    }
  });

  it('refuses an empty password, a short one and one bcrypt would truncate', async () => {
    for (const [text, reason] of [
      ['', /empty/],
      ['\n', /empty/],
      ['short7!\n', /shorter than 8/],
      ['x'.repeat(73) + '\n', /longer than 72 bytes/],
    ] as const) {
      const { code, lines } = await run([], text);
      assert.equal(code, 1, JSON.stringify(text));
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, reason);
      assert.doesNotMatch(lines[0]!, /\$2b\$/);
    }
    // Characters, not bytes, count towards the minimum.
    assert.equal(passwordProblem('pässwörd'), undefined);
    assert.match(passwordProblem('ééééééé')!, /shorter/);
  });

  it('never takes the password as an argument', async () => {
    const { code, lines } = await run(['hunter2hunter2'], 'unused\n');
    assert.equal(code, 2);
    assert.match(lines[0]!, /not as an argument/);
  });

  it('prints usage for --help and refuses unknown options', async () => {
    assert.equal((await run(['--help'], undefined)).code, 0);
    const bad = await run(['--cost', '4'], 'whatever-long\n');
    assert.equal(bad.code, 2);
    assert.match(bad.lines[0]!, /Unknown option/);
  });

  it('on a terminal asks twice with echo off, and refuses two different answers', async () => {
    // Typed in pieces, with a typo corrected by Backspace, and the second answer in the same chunk.
    const tty = terminal(['pass', 'wx\u007ford-1\rpassword-1\r']);
    const lines: string[] = [];
    assert.equal(await hashPasswordCli([], (l) => lines.push(l), tty), 0, lines.join('\n'));
    assert.equal(await bcrypt.compare('password-1', lines[0]!), true);
    assert.deepEqual(tty.raw, [true, false, true, false]);

    const differ = terminal(['password-1\r', 'password-2\r']);
    const out: string[] = [];
    assert.equal(await hashPasswordCli([], (l) => out.push(l), differ), 1);
    assert.match(out[0]!, /differ/);

    const cancelled = terminal(['pass\u0003']);
    const out2: string[] = [];
    assert.equal(await hashPasswordCli([], (l) => out2.push(l), cancelled), 1);
    assert.match(out2[0]!, /cancelled/);
  });
});
