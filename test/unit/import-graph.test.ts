/**
 * No import cycles, and nothing in nodes/lib imports a node's folder (issue 14): checked on
 * the repository's own graph, and the checker itself shown to catch what it is for.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findCycles, importGraph, libraryLayerViolations, moduleImports, sourceFiles, type ImportGraph } from '../support/import-graph';
import { tempDir } from '../support/tmp';

const ROOT = join(__dirname, '..', '..');

/**
 * nodes/lib imports that predate the rule: the store and the recent-events window still live
 * in node folders. The layout move (issue 14, item 1) takes them to nodes/lib and empties this
 * list; the test fails on any import not listed here, and on a listed one that is gone.
 */
const KNOWN_LAYER_VIOLATIONS = [
  'nodes/lib/alerts/alert-node.ts → nodes/picam-database/store.ts',
  'nodes/lib/alerts/alert-service.ts → nodes/picam-database/outbox.ts',
  'nodes/lib/alerts/dispatcher.ts → nodes/picam-database/outbox.ts',
  'nodes/lib/alerts/policy.ts → nodes/mqtt-processor/recent.ts',
];

const graphOf = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));

describe('the repository', () => {
  const files = sourceFiles(ROOT);
  const graph = importGraph(ROOT, files);

  it('reads the whole tree: nodes, cli, dashboard, tests, bench and the top-level files', () => {
    for (const file of [
      'settings.ts',
      'tsup.config.ts',
      'cli/picam-guardian.ts',
      'dashboard/src/main.ts',
      'bench/ingest.ts',
      'test/unit/import-graph.test.ts',
    ]) {
      assert.ok(files.includes(file), `${file} is checked`);
    }
    assert.ok(!files.some((f) => f.startsWith('node_modules/') || f.startsWith('dist/')), 'packages and build output are not');
    assert.ok(graph.get('cli/flow-file.ts')?.has('cli/package-root.ts'), 'edges resolve to files');
  });

  it('has no import cycles', () => {
    const cycles = findCycles(graph).map((c) => c.join(' → '));
    assert.deepEqual(cycles, [], `move the shared type or constant to a module both sides can import:\n${cycles.join('\n')}`);
  });

  it('has nothing in nodes/lib importing a node folder (beyond the known imports the layout move removes)', () => {
    assert.deepEqual(libraryLayerViolations(graph), KNOWN_LAYER_VIOLATIONS);
  });
});

describe('the cycle check', () => {
  it('finds a cycle, written as the path that closes it', () => {
    const graph = graphOf({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts', 'd.ts'], 'd.ts': [] });
    assert.deepEqual(findCycles(graph), [['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('finds a module importing itself, and each tangle once', () => {
    const graph = graphOf({ 'a.ts': ['a.ts'], 'b.ts': ['c.ts'], 'c.ts': ['b.ts', 'd.ts'], 'd.ts': ['c.ts'] });
    assert.deepEqual(findCycles(graph), [
      ['a.ts', 'a.ts'],
      ['b.ts', 'c.ts', 'b.ts'],
    ]);
  });

  it('finds none where two modules share a third (a diamond is not a cycle)', () => {
    const graph = graphOf({ 'top.ts': ['left.ts', 'right.ts'], 'left.ts': ['base.ts'], 'right.ts': ['base.ts'], 'base.ts': [] });
    assert.deepEqual(findCycles(graph), []);
  });

  it('fails on real files that import each other, a type-only import included', () => {
    const dir = tempDir('import-graph-');
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'chip.ts'), "import type { Spec } from './backend';\nexport const CHIP: Spec = { name: 'x' };\n");
    writeFileSync(
      join(dir, 'lib', 'backend.ts'),
      "import { CHIP } from './chip';\nexport interface Spec { name: string }\nexport const all = [CHIP];\n",
    );
    writeFileSync(join(dir, 'main.ts'), "import { all } from './lib/backend';\nimport 'node:fs';\nexport default all;\n");
    const graph = importGraph(dir, sourceFiles(dir));
    assert.deepEqual(findCycles(graph), [['lib/backend.ts', 'lib/chip.ts', 'lib/backend.ts']]);
    assert.deepEqual([...graph.get('main.ts')!], ['lib/backend.ts'], 'packages are not part of the graph');
  });
});

describe('the import reader', () => {
  it('sees every way a module is loaded or named', () => {
    const text = [
      "import a from './a';",
      "import type { B } from './b';",
      "import { type C } from './c';",
      "import './d';",
      "export { e } from './e';",
      "export * from './f';",
      "import g = require('./g');",
      "const h = require('./h');",
      "async function later() { return import('./i'); }",
    ].join('\n');
    assert.deepEqual(moduleImports('x.ts', text), ['./a', './b', './c', './d', './e', './f', './g', './h', './i']);
  });
});

describe('the nodes/lib rule', () => {
  it('names each import from nodes/lib into a node folder, and only those', () => {
    const graph = graphOf({
      'nodes/lib/store.ts': ['nodes/lib/status.ts', 'nodes/picam-database/schema.ts'],
      'nodes/lib/status.ts': [],
      'nodes/picam-database/picam-database.ts': ['nodes/lib/store.ts', 'nodes/mqtt-processor/recent.ts'],
      'cli/ops.ts': ['nodes/picam-database/schema.ts'],
    });
    assert.deepEqual(libraryLayerViolations(graph), ['nodes/lib/store.ts → nodes/picam-database/schema.ts']);
  });
});
