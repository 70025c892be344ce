/**
 * The child-process helper every node spawns through: the stderr ring, stop()
 * escalating to SIGKILL, and the process group of a child that has exited: swept
 * when it exits, and never signalled again afterwards (its number may by then
 * belong to an unrelated process group: pid_max is often 32768 and wraps).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import { LineRing, spawnChild } from '../../../nodes/lib/child-process';
import { waitFor } from '../../support/wait';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('child-process helper', () => {
  it('keeps the last lines of stderr, split on \\n or \\r', () => {
    const ring = new LineRing(2);
    ring.push('one\ntw');
    ring.push('o\rthree\n\nfour');
    ring.end();
    assert.deepEqual(ring.tail(), ['three', 'four']);
  });

  it('stop() sends SIGKILL to a child that ignores SIGTERM, and resolves at once for one that has exited', async () => {
    const stubborn = "process.on('SIGTERM', () => console.error('ignoring SIGTERM')); console.error('up'); setInterval(() => {}, 1000)";
    const child = spawnChild(process.execPath, ['-e', stubborn], { stdio: ['ignore', 'ignore'] });
    await new Promise((r) => child.process.stderr!.once('data', r));
    const t0 = Date.now();
    await child.stop(300);
    assert.ok(Date.now() - t0 >= 250, 'waited for the grace period');
    assert.equal((await child.exited).signal, 'SIGKILL');
    assert.throws(() => process.kill(child.pid!, 0), { code: 'ESRCH' });
    await child.stop(300);
    const missing = spawnChild('/nonexistent/rpicam-vid', [], { stdio: ['ignore', 'ignore'] });
    assert.match((await missing.exited).error?.message ?? '', /ENOENT/);
    await missing.stop(100);
  });

  it('never signals the group of a child that has exited: its number may belong to another process by then', async () => {
    const child = spawnChild(process.execPath, ['-e', 'process.exit(3)'], { stdio: ['ignore', 'ignore'] });
    assert.equal((await child.exited).code, 3);
    const kill = mock.method(process, 'kill');
    try {
      await child.stop(100);
      await child.stop(100);
      assert.deepEqual(
        kill.mock.calls.map((c) => c.arguments),
        [],
        'no signal sent to the old pid or its group',
      );
    } finally {
      kill.mock.restore();
    }
  });

  it('takes what a child left in its group along when it exits on its own, without waiting for stop()', async () => {
    // A wrapper that starts a long-lived grandchild in its own group, prints its pid and exits.
    const wrapper =
      "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });" +
      'console.error(c.pid); c.unref(); setTimeout(() => process.exit(0), 100)';
    const child = spawnChild(process.execPath, ['-e', wrapper], { stdio: ['ignore', 'ignore'] });
    await child.exited;
    const grandchild = Number(child.stderrTail()[0]);
    assert.ok(grandchild > 0, `the grandchild's pid: ${child.stderrTail().join(' | ')}`);
    await waitFor('the grandchild gone', async () => (alive(grandchild) ? undefined : true));
  });

  it('a child does not outlive a runtime killed with SIGKILL', async () => {
    // A host process (as a runtime) spawns a long-lived child through the helper, prints its
    // pid, and is then killed with SIGKILL: nothing of it runs on (a zombie waiting for its
    // reaper is not running).
    const helper = join(__dirname, '../../../nodes/lib/child-process.ts');
    const host =
      `const { spawnChild } = require(${JSON.stringify(helper)});` +
      "const c = spawnChild(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: ['ignore', 'ignore'] });" +
      'console.log(c.pid); setInterval(() => {}, 1000)';
    const runtime = spawn(process.execPath, ['--import', 'tsx', '-e', host], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve) => runtime.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    try {
      assert.ok(pid > 0 && running(pid), 'the child runs while its runtime does');
      runtime.kill('SIGKILL');
      await waitFor('the child gone with its runtime', async () => (running(pid) ? undefined : true));
    } finally {
      if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

/** Alive and not a zombie (the sandbox's init may not reap what it inherits). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
