/**
 * Bundles the dashboard for the browser (called by tsup.config.ts after the
 * Node build): dashboard/src/main.ts and everything it imports (uPlot, hls.js)
 * into dist/dashboard/, so the page works offline with no CDN. ES modules with
 * code splitting: hls.js, the largest part, loads only when a recording plays. And first.js,
 * which sends the first view's requests while app.js loads (first-view.ts).
 */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';

export async function buildDashboard(root: string, outDir = join(root, 'dist', 'dashboard')): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const common: BuildOptions = {
    outdir: outDir,
    bundle: true,
    platform: 'browser',
    // What Chromium, Firefox and Safari of the last few years run.
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    // No source maps in the package: a browser has no use for them, and the sources are in the repository.
    sourcemap: false,
    tsconfig: join(root, 'dashboard', 'tsconfig.json'),
    logLevel: 'warning',
    legalComments: 'linked',
  };
  await build({
    ...common,
    entryPoints: { app: join(root, 'dashboard', 'src', 'main.ts') },
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });
  // The first view's early requests (first-view.ts): one small classic script of its own, no chunk to wait for.
  await build({ ...common, entryPoints: { first: join(root, 'dashboard', 'src', 'early-requests.ts') }, format: 'iife' });
  cpSync(join(root, 'dashboard', 'static'), outDir, { recursive: true });
}
