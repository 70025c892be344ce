// ESLint, type-aware (typescript-eslint reads both tsconfigs). A small set of rules, each for a
// class of bug a reviewer cannot reliably see and a test rarely catches; style is prettier's job.
// Not typescript-eslint's recommendedTypeChecked preset: on this code it reports ~560 findings,
// two thirds of them no-unsafe-* (`any` from JSON.parse and Node-RED's typings, checked at run
// time where it enters) and 98 require-await (async kept for a uniform signature): taste that
// would bury the few that matter. README "Lint and import rules" says the same for contributors.
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'examples/', 'node_modules/', 'coverage/', 'test-results/', 'bench/results/', 'data/', '.node-red/'],
  },
  // Mistakes on purpose: test/repo/lint-rules.test.ts lints them to show each rule fires.
  { ignores: ['test/fixtures/lint/'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      // Each file is checked with its nearest tsconfig: dashboard/src with dashboard/tsconfig.json
      // (browser), everything else with the root one (Node).
      parserOptions: { projectService: true, tsconfigRootDir: fileURLToPath(new URL('.', import.meta.url)) },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A promise nobody awaits loses its rejection (an unhandled rejection ends the process).
      // Intentionally detached work is marked `void` with a comment saying who handles failure.
      // node:test's test()/describe() are awaited by the runner itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      // An async function where a callback's return is ignored (event handlers, forEach,
      // Node-RED's on('input')): its rejection goes nowhere.
      '@typescript-eslint/no-misused-promises': 'error',
      // `await` on something that is not a promise: usually a missing call or a wrong type.
      '@typescript-eslint/await-thenable': 'error',
      // Failures are Errors (stack, .message) all the way to done(err) and the status text.
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      // Dead code hides mistakes. `const { a: _a, ...rest } = x` is how we drop a field.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // An empty block (a swallowed error, above all) must say why it is empty, in a comment.
      'no-empty': 'error',
    },
  },
);
