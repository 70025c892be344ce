import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { transform } from 'sucrase';
import { defineConfig, type Options } from 'tsup';
import { buildDashboard } from './dashboard/build';
import { buildEditorResources } from './nodes/lib/editor/build';
import { fillEditorDefaults } from './nodes/lib/settings';

// Node-RED 4.1 loads nodes with require(): CommonJS, one file per node, the
// editor .html, locales/ and icons/ copied beside it (DESIGN.md §3).
const NODES = readdirSync('nodes', { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'lib')
  .map((d) => d.name);

type TsupPlugin = NonNullable<Options['plugins']>[number];

/**
 * CommonJS chunks with the syntax Node 20 runs natively. With splitting on, tsup
 * turns esbuild's ESM chunks into CommonJS with sucrase, and sucrase also
 * rewrites every `a?.b` and `a ?? b` into a helper call that allocates an array
 * and closures on each evaluation: on the ingest path (receipts' hooks run for
 * every delivery of every message) that was a large part of the garbage. Here
 * the same conversion runs again from esbuild's output, with sucrase's syntax
 * transforms off, and replaces what tsup wrote (with cjsInterop's
 * `module.exports = exports.default` for default-only entries, as tsup adds it).
 */
function nativeSyntaxCjs(): TsupPlugin {
  const esm = new Map<string, { code: string; defaultOnlyEntry: boolean }>();
  return {
    name: 'native-syntax-cjs',
    renderChunk(code, info) {
      if (info.type !== 'chunk' || !info.path.endsWith('.js')) return;
      const defaultOnlyEntry = !!info.entryPoint && info.exports?.length === 1 && info.exports[0] === 'default';
      esm.set(info.path, { code, defaultOnlyEntry });
    },
    buildEnd() {
      for (const [path, { code, defaultOnlyEntry }] of esm) {
        const cjs = transform(code, { filePath: path, transforms: ['imports'], disableESTransforms: true }).code;
        writeFileSync(path, defaultOnlyEntry ? `${cjs}\nmodule.exports = exports.default;\n` : cjs);
      }
      esm.clear();
    },
  };
}

export default defineConfig({
  entry: {
    ...Object.fromEntries(NODES.map((n) => [`nodes/${n}/${n}`, `nodes/${n}/${n}.ts`])),
    settings: 'settings.ts',
    'cli/picam-guardian': 'cli/picam-guardian.ts',
    'cli/commands/simulator': 'cli/commands/simulator.ts',
    // the person detector's thread (nodes/lib/detect/worker-detector.ts starts it by this path)
    'nodes/lib/detect/detect-worker': 'nodes/lib/detect/detect-worker.ts',
  },
  format: ['cjs'],
  cjsInterop: true,
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  splitting: true,
  // No source maps in the package (they were 2.3 of dist/'s 4.2 MB); the CommonJS output is readable as it is.
  sourcemap: false,
  clean: true,
  shims: false,
  plugins: [nativeSyntaxCjs()],
  // @node-red/*: the host's own (receipts fall back to @node-red/util's hooks); bundled, it would be a 1.3 MB second copy.
  external: ['node-red', /^@node-red\//, 'sqlite3', 'pg', 'amqplib', 'mqtt', 'node-telegram-bot-api', 'i2c-bus', 'sense-hat-led'],
  onSuccess: async () => {
    // The dashboard is browser code: bundled on its own, after clean has emptied dist/.
    await buildDashboard(process.cwd());
    // The editor script the alert nodes share, served by Node-RED from the package's resources/.
    await buildEditorResources(process.cwd());
    // Node-RED lists a module's examples/ under Import → Examples: the same flows.
    // Only the flows: every .json there is listed as an example, and flows.meta.json is not one.
    cpSync('flows', 'examples', {
      recursive: true,
      filter: (src) => src === 'flows' || (src.endsWith('.json') && !src.endsWith('.meta.json')),
    });
    for (const n of NODES) {
      for (const entry of readdirSync(`nodes/${n}`, { withFileTypes: true })) {
        const [from, to] = [`nodes/${n}/${entry.name}`, `dist/nodes/${n}/${entry.name}`];
        // The editor's defaults come from the one settings table (nodes/lib/settings.ts).
        if (entry.isFile() && entry.name.endsWith('.html')) writeFileSync(to, fillEditorDefaults(readFileSync(from, 'utf8'), from));
        else if (['locales', 'icons', 'scene'].includes(entry.name)) cpSync(from, to, { recursive: true });
      }
    }
  },
});
