import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh directory, removed when the test file's process exits: after every
 * `after` hook, so a runtime those hooks stop is no longer writing into it.
 */
export function tempDir(prefix = 'picam-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  return dir;
}
