import { cpSync, readdirSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { buildDashboard } from './dashboard/build';

// Node-RED 4.1 loads nodes with require(): CommonJS, one file per node, the
// editor .html, locales/ and icons/ copied beside it (DESIGN.md §3).
const NODES = readdirSync('nodes', { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'lib')
  .map((d) => d.name);

export default defineConfig({
  entry: {
    ...Object.fromEntries(NODES.map((n) => [`nodes/${n}/${n}`, `nodes/${n}/${n}.ts`])),
    settings: 'settings.ts',
    'cli/picam-guardian': 'cli/picam-guardian.ts',
    'cli/commands/simulator': 'cli/commands/simulator.ts',
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
  // @node-red/*: the host's own (receipts fall back to @node-red/util's hooks); bundled, it would be a 1.3 MB second copy.
  external: ['node-red', /^@node-red\//, 'sqlite3', 'mqtt', 'node-telegram-bot-api', 'i2c-bus', 'sense-hat-led'],
  onSuccess: async () => {
    // The dashboard is browser code: bundled on its own, after clean has emptied dist/.
    await buildDashboard(process.cwd());
    // Node-RED lists a module's examples/ under Import → Examples: the same flows.
    // Only the flows: every .json there is listed as an example, and flows.meta.json is not one.
    cpSync('flows', 'examples', {
      recursive: true,
      filter: (src) => src === 'flows' || (src.endsWith('.json') && !src.endsWith('.meta.json')),
    });
    for (const n of NODES) {
      for (const entry of readdirSync(`nodes/${n}`, { withFileTypes: true })) {
        if (entry.name.endsWith('.html') || entry.name === 'locales' || entry.name === 'icons') {
          cpSync(`nodes/${n}/${entry.name}`, `dist/nodes/${n}/${entry.name}`, { recursive: true });
        }
      }
    }
  },
});
