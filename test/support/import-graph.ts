/**
 * The import graph of our own .ts files, and the two rules it must keep (issue 14):
 * no import cycles, and nothing in nodes/lib imports a node's folder (nodes/lib is the
 * bottom layer the nodes build on). Imports are read with TypeScript's own parser and
 * resolver, so `export … from`, `require()` and `import()` count as well as `import`.
 * `import type` counts too: erased at build time it cannot change what loads first, but
 * a type-only cycle still means two modules each hold part of the other's contract (the
 * fix is the same: move the shared type or constant to a module both can import).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/** Module (repo-relative path, `/` separators) → the modules of ours it imports. */
export type ImportGraph = Map<string, Set<string>>;

const RESOLVE: ts.CompilerOptions = { moduleResolution: ts.ModuleResolutionKind.Node10, resolveJsonModule: true };

/** Folders that hold no source of ours: installed packages, build output, run-time data. */
const NOT_SOURCE = new Set(['node_modules', 'dist', 'examples', 'data', 'coverage', 'test-results']);

/** Every .ts file (not .d.ts) under `root`, relative to it, leaving out NOT_SOURCE and hidden folders. */
export function sourceFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory() && !entry.name.startsWith('.') && !NOT_SOURCE.has(entry.name)) out.push(...sourceFiles(root, path));
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

/** Module specifiers a file imports: `import` (also `import type`), `export … from`, `require()`, `import()`. */
export function moduleImports(fileName: string, text: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const ref = node.moduleReference.expression;
      if (ts.isStringLiteral(ref)) found.push(ref.text);
    } else if (ts.isCallExpression(node) && isRequireOrImport(node) && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function isRequireOrImport(call: ts.CallExpression): boolean {
  return call.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(call.expression) && call.expression.text === 'require');
}

/** The graph of `files` (repo-relative): edges only to other files of ours, never to packages. */
export function importGraph(root: string, files: string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const abs = join(root, file);
    const targets = new Set<string>();
    for (const spec of moduleImports(abs, readFileSync(abs, 'utf8'))) {
      const resolved = ts.resolveModuleName(spec, abs, RESOLVE, ts.sys).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport || resolved.extension !== ts.Extension.Ts) continue;
      targets.add(relative(root, resolved.resolvedFileName).split(sep).join('/'));
    }
    graph.set(file, targets);
  }
  return graph;
}

/**
 * Every cycle, one per strongly connected component (Tarjan), each written as the path
 * that closes it: `['a.ts', 'b.ts', 'a.ts']`. Empty when the graph has none.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strongConnect = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.has(v)) components.push(component);
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strongConnect(v);
  return components.map((c) => cycleThrough(graph, new Set(c)));
}

/** One concrete cycle inside a strongly connected component: the shortest back to its first module (sorted). */
function cycleThrough(graph: ImportGraph, component: Set<string>): string[] {
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (w === start) {
        const path = [start];
        for (let at = v; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (component.has(w) && !previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  throw new Error(`no cycle through ${start}: not a strongly connected component`);
}

/** The edges `breaks` names, as sorted `from → to` lines. */
function edgesWhere(graph: ImportGraph, breaks: (from: string, to: string) => boolean): string[] {
  return [...graph].flatMap(([from, targets]) => [...targets].filter((to) => breaks(from, to)).map((to) => `${from} → ${to}`)).sort();
}

/** Imports from nodes/lib/** into a node's own folder (nodes/<name>/ other than lib), as `from → to`. */
export function libraryLayerViolations(graph: ImportGraph): string[] {
  return edgesWhere(graph, (from, to) => from.startsWith('nodes/lib/') && to.startsWith('nodes/') && !to.startsWith('nodes/lib/'));
}

/** The node folder a file is in (`nodes/ipcam/x.ts` → `ipcam`); undefined outside nodes/ and for nodes/lib. */
function nodeFolder(file: string): string | undefined {
  const [top, folder, rest] = file.split('/', 3);
  return top === 'nodes' && rest !== undefined && folder !== 'lib' ? folder : undefined;
}

/**
 * Every import that breaks the node layers, as `from → to`: one node's folder importing another's
 * (shared code belongs in nodes/lib), and anything in nodes/ importing cli/ or dashboard/.
 */
export function nodeLayerViolations(graph: ImportGraph): string[] {
  return edgesWhere(graph, (from, to) => {
    if (!from.startsWith('nodes/')) return false;
    const [own, other] = [nodeFolder(from), nodeFolder(to)];
    return to.startsWith('cli/') || to.startsWith('dashboard/') || (!!own && !!other && own !== other);
  });
}
