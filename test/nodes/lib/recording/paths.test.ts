/**
 * Files named by the recordings index resolve inside the recordings folder or not at all
 * (issue 19 item 4: "deleting never touches anything outside the recordings folder").
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { indexName, OutsideRecordings, recordingPath } from '../../../../nodes/lib/recording/paths';
import { tempDir } from '../../../support/tmp';

describe('recording paths', () => {
  const dir = tempDir('rec-paths-');
  const root = join(dir, 'recordings');
  mkdirSync(join(root, 'cam'), { recursive: true });
  mkdirSync(join(dir, 'elsewhere'));
  symlinkSync(join(dir, 'elsewhere'), join(root, 'cam', 'link'));

  it('resolves names inside the folder', () => {
    assert.equal(recordingPath(root, 'cam/1-000001.ts'), join(root, 'cam', '1-000001.ts'));
    assert.equal(recordingPath(root, 'cam/clips/../2.ts'), join(root, 'cam', '2.ts'));
    assert.equal(indexName(root, join(root, 'cam', '3.ts')), 'cam/3.ts');
  });

  it('refuses traversal, absolute names, the folder itself, NUL bytes and symlinks that lead out', () => {
    for (const bad of ['../../etc/passwd', '/etc/passwd', 'cam/../../x', '', '.', 'cam/\0x', 'cam/link/secret.txt'])
      assert.throws(() => recordingPath(root, bad), OutsideRecordings, JSON.stringify(bad));
    assert.throws(() => indexName(root, '/etc/passwd'), OutsideRecordings);
    assert.throws(() => indexName(root, join(root, 'cam', 'link', 'x.ts')), OutsideRecordings);
  });
});
