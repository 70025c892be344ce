/**
 * The /api paths (nodes/lib/contract/api-paths.ts, which the route table api-routes.ts is made
 * of) are the one place an /api path is spelled: the dashboard's server side, the dashboard
 * page, the command and the nodes take theirs from there (API_PATHS, apiUrl), so a path changed
 * there changes everywhere, and the table's own test (test/nodes/lib/contract/api-routes.test.ts)
 * holds it to what is served.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { sourceFiles } from '../support/import-graph';

const ROOT = join(__dirname, '..', '..');
const PATHS = 'nodes/lib/contract/api-paths.ts';

/** The string and template pieces of `text` (comments are not read) that start with an /api path. */
function spelledApiPaths(fileName: string, text: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateLiteralToken(node)) &&
      /^\/api(?![\w-])/.test(node.text)
    ) {
      found.push(`${fileName}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${node.text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe('/api paths', () => {
  it('are spelled only in the route table, not in the server, the dashboard page, the command or the nodes', () => {
    const files = sourceFiles(ROOT).filter((f) => /^(cli|dashboard|nodes)\//.test(f) && f !== PATHS);
    assert.ok(files.includes('dashboard/server/dashboard-server.ts') && files.includes('dashboard/src/cameras.ts'), 'the code is read');
    const spelled = files.flatMap((f) => spelledApiPaths(f, readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(spelled, [], `take these from ${PATHS} (API_PATHS, apiUrl)`);
  });

  it('are found in strings and template pieces, and not in comments or in the middle of a message', () => {
    const text = [
      "app.get('/api/session', h);",
      'fetch(`${base}/api/cameras?x=${y}`);',
      'const root = "/api";',
      '// GET /api/events in a comment',
      "throw new Error('expected /api/control/...');",
      "const other = '/apiary';",
    ].join('\n');
    assert.deepEqual(spelledApiPaths('x.ts', text), ['x.ts:1 /api/session', 'x.ts:2 /api/cameras?x=', 'x.ts:3 /api']);
  });
});
