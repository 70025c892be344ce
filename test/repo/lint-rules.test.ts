/**
 * The lint (eslint.config.mjs) reports the mistakes it is there for, and accepts the
 * intended way of doing each: run on two fixture files that `npm run lint` itself skips.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = 'test/fixtures/lint';

async function lint(file: string): Promise<string[]> {
  // ignore: false, or the config's own ignore of the fixtures would skip them here too.
  const [result] = await new ESLint({ cwd: ROOT, ignore: false }).lintFiles([`${FIXTURES}/${file}`]);
  return result!.messages.map((m) => `${m.line} ${m.ruleId ?? m.message}`);
}

describe('the lint', () => {
  it('reports a floating promise, an async event handler, an unused variable, an empty catch, a needless await and a thrown string', async () => {
    assert.deepEqual(await lint('faulty.ts'), [
      '7 @typescript-eslint/no-floating-promises',
      '11 @typescript-eslint/no-misused-promises',
      '17 @typescript-eslint/no-unused-vars',
      '24 no-empty',
      '28 @typescript-eslint/await-thenable',
      '32 @typescript-eslint/only-throw-error',
    ]);
  });

  it('accepts `void` on a detached promise, a commented empty catch, a dropped field and node:test suites', async () => {
    assert.deepEqual(await lint('clean.ts'), []);
  });
});
