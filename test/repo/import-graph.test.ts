/**
 * No import cycles, nothing in nodes/lib imports a node's folder (issue 14), and no node's folder
 * imports another's: checked on the repository's own graph, and the checkers themselves shown to
 * catch what they are for.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  findCycles,
  importGraph,
  libraryLayerViolations,
  moduleImports,
  nodeLayerViolations,
  sourceFiles,
  type ImportGraph,
} from '../support/import-graph';
import { tempDir } from '../support/tmp';

const ROOT = join(__dirname, '..', '..');

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
      'test/repo/import-graph.test.ts',
    ]) {
      assert.ok(files.includes(file), `${file} is checked`);
    }
    assert.ok(!files.some((f) => f.startsWith('node_modules/') || f.startsWith('dist/')), 'packages and build output are not');
    assert.ok(graph.get('cli/flows/flow-file.ts')?.has('cli/flows/package-root.ts'), 'edges resolve to files');
  });

  it('has no import cycles', () => {
    const cycles = findCycles(graph).map((c) => c.join(' → '));
    assert.deepEqual(cycles, [], `move the shared type or constant to a module both sides can import:\n${cycles.join('\n')}`);
  });

  it('has nothing in nodes/lib importing a node folder', () => {
    assert.deepEqual(libraryLayerViolations(graph), []);
  });

  it("has no node folder importing another node's folder (what two nodes share lives in nodes/lib), nor cli/ or dashboard/", () => {
    assert.deepEqual(nodeLayerViolations(graph), []);
  });

  it('keeps the shared contract browser-safe: nodes/lib/contract imports only its own files, no package, no node:*', () => {
    const contract = files.filter((f) => f.startsWith('nodes/lib/contract/'));
    assert.ok(contract.includes('nodes/lib/contract/dashboard-api.ts'), 'the contract folder is read');
    const outside = contract.flatMap((f) =>
      moduleImports(f, readFileSync(join(ROOT, f), 'utf8'))
        .filter((spec) => !/^\.\/[\w-]+$/.test(spec))
        .map((spec) => `${f} → ${spec}`),
    );
    assert.deepEqual(outside, [], 'the dashboard bundle imports these files: they must build for a browser');
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

describe('the layer rules', () => {
  it('names each import from nodes/lib into a node folder, and only those', () => {
    const graph = graphOf({
      'nodes/lib/store.ts': ['nodes/lib/status.ts', 'nodes/picam-database/schema.ts'],
      'nodes/lib/status.ts': [],
      'nodes/picam-database/picam-database.ts': ['nodes/lib/store.ts', 'nodes/mqtt-processor/recent.ts'],
      'cli/ops.ts': ['nodes/picam-database/schema.ts'],
    });
    assert.deepEqual(libraryLayerViolations(graph), ['nodes/lib/store.ts → nodes/picam-database/schema.ts']);
  });

  it("names each import from one node's folder into another's or from nodes/ into cli/ or dashboard/, and only those", () => {
    const graph = graphOf({
      'nodes/ipcam/ip-camera.ts': ['nodes/ipcam/settings.ts', 'nodes/lib/camera/camera.ts', 'nodes/rpicam-rtsp/commands.ts'],
      'nodes/ipcam/settings.ts': [],
      'nodes/lib/camera/camera.ts': ['dashboard/server/stream-tokens.ts'],
      'nodes/rpicam-rtsp/commands.ts': [],
      'test/nodes/ipcam/ipcam.test.ts': ['nodes/ipcam/ip-camera.ts', 'nodes/rpicam-rtsp/commands.ts'],
      'cli/runtime/runtime.ts': ['nodes/ipcam/ip-camera.ts', 'dashboard/server/stream-tokens.ts'],
    });
    assert.deepEqual(nodeLayerViolations(graph), [
      'nodes/ipcam/ip-camera.ts → nodes/rpicam-rtsp/commands.ts',
      'nodes/lib/camera/camera.ts → dashboard/server/stream-tokens.ts',
    ]);
  });
});
