/**
 * Bundles the dashboard for the browser (called by tsup.config.ts after the
 * Node build): dashboard/src/main.ts and everything it imports (uPlot, hls.js)
 * into dist/dashboard/, so the page works offline with no CDN. ES modules with
 * code splitting: hls.js, the largest part, loads only when a recording plays.
 */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

export async function buildDashboard(root: string, outDir = join(root, 'dist', 'dashboard')): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(root, 'dashboard', 'src', 'main.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'browser',
    // What Chromium, Firefox and Safari of the last few years run.
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    // No source maps in the package: a browser has no use for them, and the sources are in the repository.
    sourcemap: false,
    tsconfig: join(root, 'dashboard', 'tsconfig.json'),
    logLevel: 'warning',
    legalComments: 'linked',
  });
  cpSync(join(root, 'dashboard', 'static'), outDir, { recursive: true });
}
