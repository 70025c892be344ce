/**
 * Tests mirror the source (README "Layout"): the test of X/y.ts is test/X/y.test.ts, and a
 * second file on one topic of the same module is test/X/y.<topic>.test.ts (a node's tests
 * through Node-RED are named after the node: test/nodes/ipcam/ipcam.cloud.test.ts). Checked for
 * test/nodes, test/cli and test/dashboard, where every test has one module it is about; test/e2e,
 * test/integration and test/cloud test whole paths through several.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..', '..');
const MIRRORED = ['nodes', 'cli', 'dashboard'];

/** Every `*.test.ts` under test/<dir>, as paths relative to the repository. */
function testFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(`${dir}/${e.name}`) : e.name.endsWith('.test.ts') ? [`${dir}/${e.name}`] : [],
  );
}

/** The source module a mirrored test file is about: test/X/y.test.ts and test/X/y.topic.test.ts → X/y.ts. */
function sourceOf(testFile: string): string {
  const [, rel = ''] = /^test\/(.*)\.test\.ts$/.exec(testFile) ?? [];
  const slash = rel.lastIndexOf('/');
  const name = rel.slice(slash + 1).split('.')[0];
  return `${rel.slice(0, slash + 1)}${name}.ts`;
}

describe('test files', () => {
  it('each name a source module that exists, at the mirrored path', () => {
    const files = MIRRORED.flatMap((d) => testFiles(`test/${d}`));
    assert.ok(files.includes('test/nodes/lib/settings.test.ts') && files.includes('test/cli/runtime/roles.test.ts'), 'the tests are read');
    const orphans = files.filter((f) => !existsSync(join(ROOT, sourceOf(f)))).map((f) => `${f} (no ${sourceOf(f)})`);
    assert.deepEqual(orphans, [], 'move the test to test/<path of its module>.test.ts, or .<topic>.test.ts beside it');
  });

  it('are read as the module before the first dot of their name', () => {
    assert.equal(sourceOf('test/nodes/lib/store/store.test.ts'), 'nodes/lib/store/store.ts');
    assert.equal(sourceOf('test/nodes/lib/store/store.events-and-times.test.ts'), 'nodes/lib/store/store.ts');
    assert.equal(sourceOf('test/nodes/ipcam/cloud.test.ts'), 'nodes/ipcam/cloud.ts');
    assert.equal(sourceOf('test/dashboard/server/sessions.test.ts'), 'dashboard/server/sessions.ts');
  });
});
